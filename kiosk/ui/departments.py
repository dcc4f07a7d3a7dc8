"""Browse by department: one large button per department, with its number of items."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.catalog import Department
from kiosk.ui.screen import Screen, clear_layout, list_button, title_label, touch_scroll_area


class DepartmentsScreen(Screen):
    name_key = "screen.departments"
    department_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.departments: list[Department] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 20)
        self.title = title_label()
        layout.addWidget(self.title)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setSpacing(18)
        layout.addWidget(touch_scroll_area(self.list_widget), 1)

    def show_departments(self, departments: list[Department]) -> None:
        self.departments = departments
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("departments.title"))
        clear_layout(self.list_layout)
        self.buttons = []
        for dept in self.departments:
            button = list_button(f"{dept.title(self.lang)}  ·  {self.t('departments.count', n=dept.item_count)}")
            button.clicked.connect(lambda _=False, code=dept.code: self.department_chosen.emit(code))
            self.list_layout.addWidget(button)
            self.buttons.append(button)
        self.list_layout.addStretch(1)
