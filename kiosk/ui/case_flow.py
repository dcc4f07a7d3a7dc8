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

SCAN_POLL_S = 0.5  # one wait for a serial scanner's code; the poll repeats while on screen


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
        self.listen_for_scans()

    _listening = False

    def listen_for_scans(self) -> None:
        """With a serial scanner, a receipt QR read while the progress screen shows looks it up
        (a keyboard-wedge scanner types into the field instead). Polls in short waits, so the
        device thread is free for a card read within SCAN_POLL_S."""
        devices = self.devices
        scanner = getattr(getattr(devices, "devices", None), "scanner", None)
        if not hasattr(scanner, "read_code") or self._listening:
            return  # no serial scanner (none, or a wedge typing into the field), or polling
        self._listening = True

        def heard(code: str | None) -> None:
            self._listening = False
            if not self.progress.isVisible():
                return  # the visitor left the screen: stop listening
            if code:
                self.find(code)
            self.listen_for_scans()

        def no_scanner(exc: Exception) -> None:
            self._listening = False  # none configured (or a wedge), or it went away

        devices.wait_scan(SCAN_POLL_S, heard, no_scanner)

    def start_evaluation(self) -> None:
        self.evaluate.clear()
        self.window.show_screen(self.evaluate)

    _search = 0  # counts searches, so a late platform answer to an earlier one is dropped

    def find(self, text: str) -> None:
        """By a typed number or the receipt QR's text (shown back as the number it holds)."""
        self.progress.field.setText(progress.number_in(text))
        self._search += 1
        search = self._search

        def job(db: Any) -> list[tuple]:
            found = progress.find_progress(db, text)
            return _with_names(db, [found] if found else [])

        def done(answers: list[tuple]) -> None:
            if search != self._search:
                return
            if not answers:
                self.ask_platform(text, search)
                return
            self.progress.field.setText(answers[0][0].application.number)  # as printed
            self.show_with_platform(answers)

        self.services.worker.submit(job, done, lambda exc: self.progress.show_problem())

    @property
    def online(self) -> bool:
        return (getattr(self.services, "platform_application", None) is not None
                and getattr(self.services, "sync_enabled", False))

    def ask_platform(self, text: str, search: int) -> None:
        """Not in this store: a well-formed number of this hall may have been filed at another
        terminal, so the platform is asked; offline, "not found" says it could not be."""
        number = progress.platform_number(text, self.window.config.hall_id)
        if number is None:
            self.progress.show_answers([])
            return
        if not self.online:
            self.progress.show_answers([], note="progress.platform.not_asked")
            return
        self.progress.show_asking()

        def answered(answer: Any) -> None:
            found = progress.platform_progress(answer)
            if search != self._search:
                return
            if found is None:  # unknown to the platform too (or another hall's)
                self.progress.show_answers([])
                return
            newest = progress.platform_newest(answer)

            def shown(answers: list[tuple]) -> None:
                if search == self._search:
                    self.progress.field.setText(number)
                    self.progress.show_answers(answers, platform="remote")
                    self.progress.show_platform(number, "remote", newest)

            self.services.worker.submit(lambda db: _with_names(db, [found]), shown,
                                        lambda exc: self.progress.show_problem())

        def failed(exc: Exception) -> None:
            if search == self._search:
                self.progress.show_answers([], note="progress.platform.not_asked")

        self.services.platform_application(number, answered, failed)

    def show_with_platform(self, answers: list[tuple], by_card: bool = False) -> None:
        """The local history at once; then, per application, the platform's newest status."""
        ask = getattr(self.services, "platform_application", None)
        online = ask is not None and getattr(self.services, "sync_enabled", False)
        self.progress.show_answers(answers, by_card=by_card,
                                   platform="checking" if online else "offline")
        if not online:
            return
        for found, _name in answers:
            number = found.application.number

            def answered(answer: Any, number: str = number) -> None:
                newest = progress.platform_newest(answer)
                self.progress.show_platform(number, "newest" if newest else "unknown", newest)

            ask(number, answered,
                lambda exc, number=number: self.progress.show_platform(number, "offline"))

    def find_by_card(self) -> None:
        """The card holder's own applications (the card is read, its number never shown)."""
        if self.devices is None:
            self.progress.show_problem("apply.identity.no_reader")
            return

        def read(card: Any) -> None:
            number = card.id_number
            self.services.worker.submit(
                lambda db: _with_names(db, progress.progress_of_person(db, number)),
                lambda answers: self.show_with_platform(answers, by_card=True),
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
