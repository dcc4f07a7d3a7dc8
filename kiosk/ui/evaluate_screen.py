"""Evaluation (好差评): 1-5 stars, reasons from a fixed list, a few words, optionally tied to an
application number. The screen collects; kiosk.ui.case_flow records it through the store worker."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.progress import reasons_for
from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.screen import Screen, title_label, touch_scroll_area, wrapped
from kiosk.ui.theme import TOUCH_MIN

# The theme gives plain buttons no "on" look; a chosen option must show it is chosen.
CHECKED_STYLE = "QPushButton:checked { background: #0b4f9c; color: white; }"


class EvaluateScreen(Screen):
    name_key = "screen.evaluate"
    submitted = Signal(int, list, str, str)  # stars, reasons, text, application number

    def __init__(self) -> None:
        super().__init__()
        self.stars = 0
        self.reasons: set[str] = set()
        self.state = "evaluate.hint"
        self.setStyleSheet(CHECKED_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 4, 30, 4)  # tight: with the pinyin keyboard's extra row
        layout.setSpacing(6)  # the screen must still fit a 1080-px landscape panel
        self.title = title_label()
        self.status = wrapped(object_name="hint")
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        # Above the keyboard everything scrolls, so the screen fits a landscape panel too.
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(14)
        row = QHBoxLayout()
        self.star_buttons: list[QPushButton] = []
        for n in range(1, 6):
            button = QPushButton()
            button.setMinimumHeight(TOUCH_MIN + 20)
            button.clicked.connect(lambda _=False, n=n: self.set_stars(n))
            row.addWidget(button)
            self.star_buttons.append(button)
        column.addLayout(row)
        self.reason_grid = QGridLayout()
        self.reason_grid.setSpacing(12)
        column.addLayout(self.reason_grid)
        self.reason_buttons: dict[str, QPushButton] = {}
        self.number = QLineEdit()
        self.number.setObjectName("searchField")
        self.number.setMaxLength(40)
        self.text = QLineEdit()
        self.text.setObjectName("searchField")
        self.text.setMaxLength(600)
        self.number_label = wrapped()
        self.text_label = wrapped()
        for w in (self.number_label, self.number, self.text_label, self.text):
            column.addWidget(w)
        column.addStretch(1)
        self.scroll = touch_scroll_area(content)
        layout.addWidget(self.scroll, 1)
        self.current = self.text
        self.number.installEventFilter(self)
        self.text.installEventFilter(self)
        self.keyboard = TouchKeyboard(pinyin=True)  # a few words in Chinese, typed as pinyin
        self.keyboard.key_pressed.connect(lambda ch: self.current.insert(
            ch.upper() if self.current is self.number else ch))
        self.keyboard.backspace.connect(lambda: self.current.backspace())
        self.keyboard.cleared.connect(lambda: self.current.clear())
        # Shown when the visitor taps a text field: stars and reasons need the room first (a
        # landscape panel in large text left them a strip of 70 px under a standing keyboard).
        self.keyboard.hide()
        layout.addWidget(self.keyboard)
        # A plain touch button like the form's "next": the big tile style, with the pinyin
        # keyboard's candidate row, made the screen taller than a landscape panel.
        self.send_button = QPushButton()
        self.send_button.clicked.connect(self._send)
        layout.addWidget(self.send_button)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802, ANN001 (Qt's name)
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.FocusIn and watched in (self.number, self.text):
            if watched is not self.current:
                self.current = watched
                self.keyboard.allow_chinese(watched is self.text)  # a number takes no Chinese
            self.show_keyboard()
        return False

    def show_keyboard(self) -> None:
        """Show the keyboard under the field being typed in, and keep that field in view."""
        self.keyboard.show()
        self.scroll.ensureWidgetVisible(self.current)

    def set_stars(self, n: int) -> None:
        if (self.stars >= 4) != (n >= 4):
            self.reasons = set()  # the offered reasons change between praise and complaint
        self.stars = n
        self.state = "evaluate.hint"
        self.retranslate()

    def _toggle(self, reason: str) -> None:
        self.reasons ^= {reason}
        self.retranslate()

    def _send(self) -> None:
        if not self.stars:
            self.state = "evaluate.error.stars"
            self.retranslate()
            return
        self.send_button.setEnabled(False)
        self.submitted.emit(self.stars, sorted(self.reasons), self.text.text(),
                            self.number.text())

    def show_result(self, key: str) -> None:
        self.state = key
        self.send_button.setEnabled(key != "evaluate.thanks")
        self.retranslate()

    def clear(self) -> None:
        self.stars, self.reasons, self.state = 0, set(), "evaluate.hint"
        self.number.clear()
        self.text.clear()
        self.keyboard.set_chinese(self.keyboard.chinese)  # pending pinyin is visitor data too
        self.keyboard.hide()
        self.send_button.setEnabled(True)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("evaluate.title"))
        self.status.setText(self.t(self.state))
        for n, button in enumerate(self.star_buttons, 1):
            button.setText("★" * n if n <= self.stars else "☆" * n)
        while self.reason_grid.count():
            w = self.reason_grid.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self.reason_buttons = {}
        if self.stars:
            for i, reason in enumerate(reasons_for(self.stars)):
                button = QPushButton(self.t(f"evaluate.reason.{reason}"))
                button.setCheckable(True)
                button.setChecked(reason in self.reasons)
                button.clicked.connect(lambda _=False, r=reason: self._toggle(r))
                self.reason_grid.addWidget(button, i // 2, i % 2)
                self.reason_buttons[reason] = button
        self.number_label.setText(self.t("evaluate.number"))
        self.text_label.setText(self.t("evaluate.text"))
        self.send_button.setText(self.t("evaluate.send"))
        self.keyboard.set_language(self.lang)
