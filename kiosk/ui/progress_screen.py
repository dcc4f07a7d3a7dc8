"""Progress of applications: by number (hyphens not needed), by the receipt's QR code, or by
reading one's own ID card.

Shows the item, the filing time and the status history from the local store at once, never the
applicant's name or ID number: anyone holding a receipt may look, so nothing personal is shown.
Then a line per application with the platform's newest status, or, when the platform cannot be
reached, a note that this is the terminal's own record. A keyboard-wedge scanner types the
receipt QR's URL into the field and ends it with Enter, which looks it up.
Reading the ID card lists that person's own applications only. A number filed at another
terminal of the hall is not in this store: the platform is asked and its history shown.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.retention import purged_at
from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area, wrapped
from kiosk.ui.theme import BLUE_DARK, HIGHLIGHT_BG, INK


def local_time(iso_time: str) -> str:
    return datetime.fromisoformat(iso_time).astimezone().strftime("%Y-%m-%d %H:%M")


class ProgressScreen(Screen):
    name_key = "screen.progress"
    submitted = Signal(str)
    card_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[tuple] = []  # (kiosk.progress.Progress, item name dict)
        # application number -> ("checking" | "newest" | "unknown" | "offline", newest status)
        self.platform: dict[str, tuple[str, dict | None]] = {}
        self.state = "progress.hint"
        self.note = ""  # a second line under the state, e.g. that the platform was not asked
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 16, 30, 10)
        layout.setSpacing(10)
        self.title = title_label()
        self.field = QLineEdit()
        self.field.setObjectName("searchField")
        self.field.setMaxLength(300)  # a scanned receipt QR is the whole progress URL
        self.field.returnPressed.connect(lambda: self.submitted.emit(self.field.text()))
        self.status = wrapped(object_name="hint")
        layout.addWidget(self.title)
        field_row = QHBoxLayout()  # buttons beside the field: the screen fits a landscape panel
        field_row.addWidget(self.field, 1)
        layout.addLayout(field_row)
        layout.addWidget(self.status)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setSpacing(10)
        layout.addWidget(touch_scroll_area(self.body), 1)
        self.keyboard = TouchKeyboard()
        self.keyboard.key_pressed.connect(lambda ch: self.field.insert(ch.upper()))
        self.keyboard.backspace.connect(self.field.backspace)
        self.keyboard.cleared.connect(self.field.clear)
        layout.addWidget(self.keyboard)
        self.find_button = QPushButton()
        self.find_button.clicked.connect(lambda: self.submitted.emit(self.field.text()))
        field_row.addWidget(self.find_button)
        self.card_button = QPushButton()
        self.card_button.clicked.connect(self._card)
        field_row.addWidget(self.card_button)
        self.card_button.setEnabled(False)

    def set_reader_available(self, available: bool) -> None:
        self.card_button.setEnabled(available)

    def _card(self) -> None:
        self.state = "apply.identity.reading"
        self.retranslate()
        self.card_requested.emit()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.field.setFocus()  # where a keyboard-wedge scanner types the receipt's QR

    def show_answers(self, answers: list[tuple], *, by_card: bool = False,
                     platform: str = "offline", note: str = "") -> None:
        """``answers``: (Progress, item name) pairs; empty when nothing was found.
        ``platform``: "checking" while the platform is asked, "offline" when it will not be.
        ``note``: a ui.json key shown under the state (e.g. progress.platform.not_asked)."""
        self.answers, self.note = answers, note
        self.platform = {found.application.number: (platform, None) for found, _ in answers}
        if answers:
            self.state = "progress.found"
        else:
            self.state = "progress.none_for_card" if by_card else "progress.not_found"
        self.retranslate()

    def show_asking(self) -> None:
        """Nothing here by that number: the platform is being asked."""
        self.answers, self.platform, self.note = [], {}, ""
        self.state = "progress.platform.asking"
        self.retranslate()

    def show_platform(self, number: str, kind: str, newest: dict | None = None) -> None:
        """The platform's answer for one shown application: "newest" (with its newest status),
        "unknown" (the platform has no such application yet) or "offline"."""
        if number in self.platform:  # an answer for a search the visitor has left is dropped
            self.platform[number] = (kind, newest)
            self.retranslate()

    def show_problem(self, key: str = "error.try_again") -> None:
        self.answers, self.platform, self.state, self.note = [], {}, key, ""
        self.retranslate()

    def clear(self) -> None:
        self.field.clear()
        self.answers, self.platform, self.state, self.note = [], {}, "progress.hint", ""
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("progress.title"))
        self.find_button.setText(self.t("progress.find"))
        self.card_button.setText(self.t("progress.by_card"))
        self.keyboard.set_language(self.lang)
        self.status.setText(self.t(self.state) + (f"\n{self.t(self.note)}" if self.note else ""))
        clear_layout(self.body_layout)
        for found, item_name in self.answers:
            app = found.application
            name = item_name.get(self.lang) or item_name.get("zh-Hans", "")
            head = wrapped(f"{app.number}\n{name}\n"
                           + self.t("progress.filed_at", at=local_time(app.filed_at)), "guideText")
            head.setTextFormat(Qt.TextFormat.PlainText)
            self.body_layout.addWidget(head)
            if purged := purged_at(app):  # kiosk.retention: only the number and history remain
                self.body_layout.addWidget(wrapped(self.t("retention.purged",
                                                          at=local_time(purged)), "hint"))
            remote = wrapped(self._platform_line(app.number), "hint")
            remote.setTextFormat(Qt.TextFormat.PlainText)
            if self.platform.get(app.number, ("offline",))[0] == "offline":  # must be noticed
                remote.setStyleSheet(f"background: {HIGHLIGHT_BG}; color: {INK}; "
                                     "padding: 6px 12px; border-radius: 6px;")
            elif self.platform[app.number][0] in ("newest", "remote"):
                remote.setStyleSheet(f"color: {BLUE_DARK}; font-weight: bold;")
            self.body_layout.addWidget(remote)
            for entry in reversed(found.history):  # newest first
                line = wrapped(f"{local_time(entry['at'])}  {self._status(entry['status'])}",
                               "material")
                line.setTextFormat(Qt.TextFormat.PlainText)
                self.body_layout.addWidget(line)
        self.body_layout.addStretch(1)

    def _status(self, status: str) -> str:
        try:
            return self.t(f"progress.status.{status}")
        except KeyError:  # a status the platform added after this kiosk was built
            return status

    def _platform_line(self, number: str) -> str:
        kind, newest = self.platform.get(number, ("offline", None))
        if kind in ("newest", "remote") and newest:
            at = local_time(newest["at"]) if newest.get("at") else ""
            return self.t(f"progress.platform.{kind}", status=self._status(newest["status"]),
                          at=at)
        return self.t(f"progress.platform.{kind if kind not in ('newest', 'remote') else 'offline'}")
