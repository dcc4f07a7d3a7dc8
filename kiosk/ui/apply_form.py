"""Applying, step 2: the item's form (kiosk.forms), checked as the visitor types.

One row per field that applies: its name, a help line, the input (a line for text, big buttons
for a choice) and a line saying what is wrong. Letters and digits come from the on-screen
keyboard (kiosk.ui.keyboard) into the field last touched, with pinyin for Chinese in text fields
(names, addresses, notes); fields filled from the ID card are read-only. Every input is shown as plain text, never as rich text, so hostile input stays inert.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.forms import Field, FormSchema, strip_invisible, validate_field, validate_form
from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area
from kiosk.ui.theme import TOUCH_MIN

# The theme gives plain buttons no "on" look; a chosen option must show it is chosen.
CHECKED_STYLE = "QPushButton:checked { background: #0b4f9c; color: white; }"


class _Row(QWidget):
    """One field: title, help, input, error."""

    def __init__(self, f: Field) -> None:
        super().__init__()
        self.field = f
        # Never squeezed below its natural height: the scroll area scrolls instead.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 4)
        column.setSpacing(6)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        # One line each (not word-wrapped): a wrapping label under-reports its height inside a
        # scroll area and the next row would overlap it.
        self.help = QLabel()
        self.help.setObjectName("hint")
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color: #c92a2a;")
        column.addWidget(self.title)
        column.addWidget(self.help)
        self.edit: QLineEdit | None = None
        self.choice_buttons: dict[str, QPushButton] = {}
        if f.type == "choice":
            row = QHBoxLayout()
            self.group = QButtonGroup(self)
            for c in f.choices:
                button = QPushButton()
                button.setCheckable(True)
                button.setMinimumHeight(TOUCH_MIN)
                self.group.addButton(button)
                row.addWidget(button)
                self.choice_buttons[c.value] = button
            column.addLayout(row)
        else:
            self.edit = QLineEdit()
            self.edit.setObjectName("searchField")
            # Room past the limit, so "too long" is said rather than the text silently cut;
            # still a cap, so a pasted megabyte never reaches the checks.
            self.edit.setMaxLength(f.max_length * 4 + 16)
            column.addWidget(self.edit)
        column.addWidget(self.error)

    def value(self) -> str:
        if self.edit is not None:
            return self.edit.text()
        return next((v for v, b in self.choice_buttons.items() if b.isChecked()), "")

    def set_value(self, value: str, *, locked: bool = False) -> None:
        if self.edit is not None:
            self.edit.setText(value)
            self.edit.setReadOnly(locked)
        elif value in self.choice_buttons:
            self.choice_buttons[value].setChecked(True)


class FormScreen(Screen):
    name_key = "screen.apply_form"
    submitted = Signal(dict)  # the raw answers (the flow re-checks them in pre-review)

    def __init__(self) -> None:
        super().__init__()
        self.schema: FormSchema | None = None
        self.rows: dict[str, _Row] = {}
        self.errors: dict[str, str] = {}  # field name -> ui.json key of its error
        self._error_values: dict[str, dict] = {}
        self.current: QLineEdit | None = None
        self.today: date | None = None  # tests fix the day
        self.setStyleSheet(CHECKED_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 20, 30, 10)
        layout.setSpacing(8)  # the pinyin keyboard is tall: the form fits a landscape panel
        self.title = title_label()
        layout.addWidget(self.title)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setSpacing(12)
        self.scroll = touch_scroll_area(self.body)
        layout.addWidget(self.scroll, 1)
        self.keyboard = TouchKeyboard(pinyin=True)
        self.keyboard.key_pressed.connect(self._type)
        self.keyboard.backspace.connect(lambda: self.current and self.current.backspace())
        self.keyboard.cleared.connect(lambda: self.current and self.current.clear())
        layout.addWidget(self.keyboard)
        self.next_button = QPushButton()
        self.next_button.clicked.connect(self.submit)
        layout.addWidget(self.next_button)

    def show_form(self, schema: FormSchema, answers: dict[str, str], locked: set[str]) -> None:
        """Render ``schema`` with ``answers`` filled in; ``locked`` fields came from the card."""
        self.schema = schema
        self.errors = {}
        self.current = None
        clear_layout(self.body_layout)
        self.rows = {}
        for f in schema.fields:
            row = _Row(f)
            self.rows[f.name] = row
            self.body_layout.addWidget(row)
            row.set_value(answers.get(f.name, ""), locked=f.name in locked)
            if row.edit is not None:
                row.edit.installEventFilter(self)
                row.edit.textChanged.connect(lambda _t, name=f.name: self._check(name, live=True))
            for button in row.choice_buttons.values():
                button.toggled.connect(lambda _on: self._update_visible())
        self.body_layout.addStretch(1)
        self._update_visible()
        self._set_current(next((r.edit for r in self.rows.values() if r.edit is not None
                                and not r.edit.isReadOnly() and r.edit.text() == ""), None))
        self.retranslate()

    def _set_current(self, edit: QLineEdit | None) -> None:
        """Type into ``edit`` from now on; pinyin only where Chinese belongs (names, addresses)."""
        self.current = edit
        kind = next((r.field.type for r in self.rows.values() if r.edit is edit), None)
        self.keyboard.allow_chinese(kind == "text")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (event.type() == QEvent.Type.FocusIn and isinstance(watched, QLineEdit)
                and not watched.isReadOnly() and watched is not self.current):
            self._set_current(watched)
        return False

    def answers(self) -> dict[str, str]:
        return {name: row.value() for name, row in self.rows.items()}

    def _type(self, ch: str) -> None:
        if self.current is not None and not self.current.isReadOnly():
            self.current.insert(ch.upper() if ch.isalpha() else ch)

    def _update_visible(self) -> None:
        answers = self.answers()
        for row in self.rows.values():
            row.setVisible(row.field.shown(answers))

    def _check(self, name: str, *, live: bool) -> None:
        row = self.rows[name]
        if row.edit is not None:
            # A pasted right-to-left override would garble what the box shows: drop it now.
            shown = strip_invisible(row.edit.text())
            if shown != row.edit.text():
                row.edit.setText(shown)  # re-enters _check once, with clean text
                return
        _, error = validate_field(row.field, row.value(), today=self.today)
        # While typing, an empty field is not yet an error: say it only on "next".
        if error is None or (live and error.key == "form.error.required"):
            self.errors.pop(name, None)
        else:
            self.errors[name] = error.key
            self._error_values[name] = error.values
        self._render_error(name)

    def _render_error(self, name: str) -> None:
        row = self.rows[name]
        key = self.errors.get(name)
        values = self._error_values.get(name, {}) if key else {}
        row.error.setText(self.t(key, label="", **values) if key else "")
        row.error.setVisible(bool(key))

    def submit(self) -> None:
        """Check every field that applies; go on only when all are right."""
        if self.schema is None:
            return
        result = validate_form(self.schema, self.answers(), today=self.today)
        self.errors = {e.field: e.key for e in result.errors}
        self._error_values = {e.field: e.values for e in result.errors}
        for name in self.rows:
            self._render_error(name)
        if result.ok:
            self.submitted.emit(self.answers())
        else:
            first = self.rows[result.errors[0].field]
            self.scroll.ensureWidgetVisible(first)

    def clear(self) -> None:
        self.schema = None
        self.rows = {}
        self.errors = {}
        self.current = None
        clear_layout(self.body_layout)
        self.keyboard.set_chinese(self.keyboard.chinese)  # pending pinyin is visitor data too

    def retranslate(self) -> None:
        self.title.setText(self.t("apply.form.title"))
        self.next_button.setText(self.t("apply.next"))
        self.keyboard.set_language(self.lang)
        for name, row in self.rows.items():
            f = row.field
            mark = " *" if f.required else ""
            row.title.setText(f.title(self.lang) + mark)
            row.help.setText(f.help and f.help.get(self.lang, f.help.get("zh-Hans", "")) or "")
            row.help.setVisible(bool(f.help))
            for c in f.choices:
                row.choice_buttons[c.value].setText(c.label.get(self.lang) or c.label["zh-Hans"])
            self._render_error(name)
