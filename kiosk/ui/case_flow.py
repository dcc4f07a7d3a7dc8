"""After filing: the progress query and the evaluation, wired to the store worker.

Like kiosk.ui.ticket_screen's TicketFlow: the screens emit what the visitor asked; this asks the
store thread (kiosk.progress) and answers the screens on the UI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from kiosk import catalog, progress
from kiosk.ui.evaluate_screen import EvaluateScreen
from kiosk.ui.progress_screen import ProgressScreen
from kiosk.ui.screen import Screen


class CaseFlow(QObject):
    def __init__(self, window: Any, services: Any) -> None:
        super().__init__(window)
        self.window, self.services = window, services
        self.progress = ProgressScreen()
        self.evaluate = EvaluateScreen()
        self.screens: list[Screen] = [self.progress, self.evaluate]
        self.progress.submitted.connect(self.find)
        self.progress.card_requested.connect(self.find_by_card)
        self.evaluate.submitted.connect(self.send)

    @property
    def devices(self) -> Any:
        return getattr(self.services, "devices", None)

    def start_progress(self) -> None:
        self.progress.clear()
        self.progress.set_reader_available(self.devices is not None)
        self.window.show_screen(self.progress)

    def start_evaluation(self) -> None:
        self.evaluate.clear()
        self.window.show_screen(self.evaluate)

    def find(self, text: str) -> None:
        def job(db: Any) -> list[tuple]:
            found = progress.find_progress(db, text)
            return _with_names(db, [found] if found else [])

        self.services.worker.submit(job, self.progress.show_answers,
                                    lambda exc: self.progress.show_problem())

    def find_by_card(self) -> None:
        """The card holder's own applications (the card is read, its number never shown)."""
        if self.devices is None:
            self.progress.show_problem("apply.identity.no_reader")
            return

        def read(card: Any) -> None:
            number = card.id_number
            self.services.worker.submit(
                lambda db: _with_names(db, progress.progress_of_person(db, number)),
                lambda answers: self.progress.show_answers(answers, by_card=True),
                lambda exc: self.progress.show_problem())

        self.devices.read_card(read, lambda exc: self.progress.show_problem(
            getattr(exc, "visitor_key", "error.try_again")))

    def send(self, stars: int, reasons: list, text: str, number: str) -> None:
        terminal = self.window.config.terminal_id

        def job(db: Any) -> str:
            return progress.record_evaluation(db, stars, reasons, text,
                                              application_number=number.strip(),
                                              terminal_id=terminal)

        def failed(exc: Exception) -> None:
            self.evaluate.show_result(getattr(exc, "key", "error.try_again"))

        self.services.worker.submit(job, lambda _id: self.evaluate.show_result("evaluate.thanks"),
                                    failed)


def _with_names(db: Any, found: list) -> list[tuple]:
    """(Progress, item name dict) for the screen: the name in every language."""
    names: dict[str, dict] = {}
    for p in found:
        code = p.application.item_code
        if code not in names:
            names[code] = (catalog.get_item(db, code) or {}).get("name", {"zh-Hans": code})
    return [(p, names[p.application.item_code]) for p in found]
