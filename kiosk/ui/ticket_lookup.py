"""Typing or scanning a code: the appointment check-in and "where is my number?".

Both screens have a big field and the touch keypad; the field also takes keyboard input, so a
keyboard-wedge scanner (the usual kiosk scanner) types a scanned QR code straight in and its
Enter submits it. The lookup answer says, in words, where the ticket stands.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QLineEdit, QPushButton, QVBoxLayout

from kiosk import queue as q
from kiosk.i18n import tr
from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.screen import Screen, title_label, wrapped
from kiosk.ui.theme import BLUE_DARK, TOUCH_MIN
from kiosk.ui.ticket_screen import wait_text

MAX_CODE = 32


class CodeEntryScreen(Screen):
    """Title, prompt, a field with the keypad, a submit button and an answer line."""

    submitted = Signal(str)
    title_key = ""
    prompt_key = ""
    submit_key = ""

    def __init__(self) -> None:
        super().__init__()
        # Portrait: the form above the keypad; landscape (set_landscape): side by side, so the
        # screen fits the 1080-pixel height with the bars.
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self.body.setContentsMargins(40, 30, 40, 20)
        self.body.setSpacing(30)
        form = QVBoxLayout()
        form.setSpacing(18)
        layout = form
        self.title = title_label()
        self.prompt = wrapped(object_name="hint")
        self.field = QLineEdit()
        self.field.setObjectName("searchField")
        self.field.setMaxLength(MAX_CODE)
        # Strong focus (not NoFocus as in search): a wedge scanner "types" into the field.
        self.field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.field.returnPressed.connect(self.submit)
        self.field.textEdited.connect(lambda _t: self._set_answer("", False))
        self.submit_button = QPushButton()
        self.submit_button.setMinimumHeight(TOUCH_MIN + 10)
        self.submit_button.clicked.connect(self.submit)
        self.answer = wrapped()
        self.answer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.answer.setStyleSheet(f"font-size: 40px; font-weight: bold; color: {BLUE_DARK};")
        self.keyboard = TouchKeyboard()
        self.keyboard.key_pressed.connect(lambda ch: self.field.insert(ch.upper()))
        self.keyboard.backspace.connect(self.field.backspace)
        self.keyboard.cleared.connect(self.field.clear)
        for widget in (self.title, self.prompt, self.field, self.submit_button, self.answer):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.body.addLayout(form, 1)
        pad = QVBoxLayout()
        pad.addStretch(1)
        pad.addWidget(self.keyboard)
        self.body.addLayout(pad, 1)
        self.problem = False

    def set_landscape(self, landscape: bool) -> None:
        self.body.setDirection(QBoxLayout.Direction.LeftToRight if landscape
                               else QBoxLayout.Direction.TopToBottom)

    def submit(self) -> None:
        text = self.field.text().strip()
        if text:
            self.submitted.emit(text)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.field.setFocus()

    def _set_answer(self, text: str, problem: bool) -> None:
        self.problem = problem
        self.answer.setObjectName("notice" if problem else "")
        self.answer.setStyleSheet("" if problem else
                                  f"font-size: 40px; font-weight: bold; color: {BLUE_DARK};")
        self.answer.setText(text)

    def show_problem(self, exc: Exception) -> None:
        key = exc.key if isinstance(exc, q.QueueError) else "queue.error.generic"
        self._set_answer(tr(key, self.lang), True)

    def clear(self) -> None:
        self.field.clear()
        self._set_answer("", False)

    def retranslate(self) -> None:
        self.title.setText(self.t(self.title_key))
        self.prompt.setText(self.t(self.prompt_key))
        self.submit_button.setText(self.t(self.submit_key))
        self.keyboard.set_language(self.lang)


class AppointmentScreen(CodeEntryScreen):
    """Check in an appointment by its code; the ticket screen shows the number."""

    name_key = "screen.appointment"
    title_key = "screen.appointment"
    prompt_key = "appointment.prompt"
    submit_key = "appointment.submit"


class LookupScreen(CodeEntryScreen):
    """Find a ticket's position again by its number (typed or scanned from the ticket's QR)."""

    name_key = "screen.lookup"
    title_key = "screen.lookup"
    prompt_key = "lookup.prompt"
    submit_key = "lookup.submit"

    def show_answer(self, answer: dict) -> None:
        """A hall-queue lookup answer, or ``{"local": ...}`` for an offline ticket of ours."""
        if "local" in answer:
            local = answer["local"]
            self._set_answer(self.t("lookup.pending", number=local["number"]), False)
            return
        t = answer["ticket"]
        number, window = t["number"], t.get("window")
        if t["state"] == "waiting":
            text = self.t("lookup.waiting", number=number) + "\n" + wait_text(
                answer["ahead"], answer.get("estimated_wait_s"), False, self.lang)
        elif t["state"] == "called":
            text = self.t("lookup.called", number=number, window=window)
        elif t["state"] == "serving":
            text = self.t("lookup.serving", number=number, window=window)
        elif t["state"] == "no_show":
            text = self.t("lookup.no_show", number=number)
        else:
            text = self.t("lookup.done", number=number)
        self._set_answer(text, False)
