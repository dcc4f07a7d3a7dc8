"""The items of one department, each a large row with its name and a one-line summary."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.catalog import ItemSummary
from kiosk.i18n import pick
from kiosk.ui.result_row import ResultRow
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area


class ItemListScreen(Screen):
    name_key = "screen.items"
    item_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.items: list[ItemSummary] = []
        self.department_name: dict = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 20)
        self.title = title_label()
        layout.addWidget(self.title)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setSpacing(16)
        layout.addWidget(touch_scroll_area(self.list_widget), 1)

    def show_items(self, department_name: dict, items: list[ItemSummary]) -> None:
        self.department_name = department_name
        self.items = items
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(pick(self.department_name, self.lang))
        clear_layout(self.list_layout)
        self.rows = []
        for item in self.items:
            row = ResultRow(item.code, item.title(self.lang), (), pick(item.summary, self.lang), ())
            row.chosen.connect(self.item_chosen)
            self.list_layout.addWidget(row)
            self.rows.append(row)
        self.list_layout.addStretch(1)
