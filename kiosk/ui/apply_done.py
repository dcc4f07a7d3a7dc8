"""Applying, step 5: filed. The application number, large, and whether the receipt printed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout

from kiosk.i18n import pick
from kiosk.ui.screen import Screen, title_label, wrapped
from kiosk.ui.theme import TOUCH_MIN


class DoneScreen(Screen):
    name_key = "screen.apply_done"
    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.number = ""
        self.item_name: dict = {}
        self.printed: bool | None = None  # None: still printing
        self.days = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 40, 40, 40)
        layout.setSpacing(28)
        self.title = title_label()
        self.number_label = QLabel()
        self.number_label.setObjectName("countdownNumber")
        self.number_label.setStyleSheet("font-size: 54px;")
        self.number_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.item_label = wrapped()
        self.print_label = wrapped(object_name="hint")
        self.next_label = wrapped(object_name="guideText")
        for w in (self.title, self.number_label, self.item_label, self.print_label,
                  self.next_label):
            layout.addWidget(w)
        layout.addStretch(1)
        self.done_button = QPushButton()
        self.done_button.setMinimumHeight(TOUCH_MIN + 20)
        self.done_button.clicked.connect(self.finished)
        layout.addWidget(self.done_button)

    def show_filed(self, number: str, item_name: dict, days: int) -> None:
        self.number, self.item_name, self.days, self.printed = number, item_name, days, None
        self.retranslate()

    def show_printed(self, printed: bool) -> None:
        self.printed = printed
        self.retranslate()

    def clear(self) -> None:
        self.number, self.item_name, self.printed = "", {}, None
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("apply.done.title"))
        self.number_label.setText(self.number)
        self.item_label.setText(pick(self.item_name, self.lang))
        key = {None: "apply.done.printing", True: "apply.done.printed",
               False: "apply.done.not_printed"}[self.printed]
        self.print_label.setText(self.t(key))
        self.next_label.setText(self.t("apply.done.next", days=self.days))
        self.done_button.setText(self.t("apply.done.finish"))
