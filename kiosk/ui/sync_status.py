"""The small sync mark in the top bar (online / offline since HH:MM / N waiting) and the timer
that runs a sync round every ``[sync] interval_s`` through Services (on the sync worker)."""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from kiosk.i18n import tr
from kiosk.sync.errors import message_for
from kiosk.sync.runner import SyncReport
from kiosk.ui.services import Services

log = logging.getLogger(__name__)

GREEN = "#7ee2a8"
AMBER = "#ffd43b"


class SyncScheduler(QObject):
    """Starts a round every interval (skipped while one still runs) and reports the outcome."""

    reported = Signal(object)  # SyncReport
    failed = Signal(object)  # Exception: the round itself crashed (a bug; logged by the worker)

    def __init__(self, services: Services, interval_s: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, interval_s) * 1000)
        self.timer.timeout.connect(self.run_now)
        self.first = QTimer(self)  # the first round, soon after start; stop() cancels it too
        self.first.setSingleShot(True)
        self.first.setInterval(2000)
        self.first.timeout.connect(self.run_now)

    def start(self) -> None:
        """Show the stored state at once, run a first round soon, then one every interval."""
        if not self.services.sync_enabled:
            return
        self.services.sync_state(self._stored_state)
        self.first.start()
        self.timer.start()

    def _stored_state(self, report: object) -> None:
        if report is not None:
            self.reported.emit(report)

    def run_now(self, force: bool = False) -> bool:
        """Start a round now; False when one is already running (or sync is off)."""
        return self.services.sync_round(self.reported.emit, self.failed.emit, force=force)

    def stop(self) -> None:
        self.timer.stop()
        self.first.stop()


def local_time(stamp: str | None, with_date: bool = False) -> str:
    """'14:05' (or '12-05 14:05' when not today) in the terminal's local time."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return stamp
    if with_date or moment.date() != datetime.now().astimezone().date():
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M")


def mark_text(report: SyncReport | None, lang: str) -> tuple[str, str]:
    """(text, colour) of the mark for a SyncReport (None or no round yet: never synced)."""
    if report is None or report.at is None:
        text, colour = tr("sync.never", lang), AMBER
    elif report.online:
        text, colour = tr("sync.online", lang), GREEN
    elif report.offline_since:
        text, colour = tr("sync.offline_since", lang, time=local_time(report.offline_since)), AMBER
    else:
        text, colour = tr("sync.offline", lang), AMBER
    text = "● " + text
    if report is not None and report.outbox_depth:
        text += "\n" + tr("sync.waiting", lang, n=report.outbox_depth)
    return text, colour


class SyncStatusMark(QLabel):
    """The top bar's sync mark. Hidden until there is a state to show (sync off: stays hidden)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("syncMark")
        # A small two-line block beside the language buttons (state, then records waiting).
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setContentsMargins(0, 0, 12, 0)
        self.report: SyncReport | None = None
        self.lang = "zh-Hans"
        self.setVisible(False)

    def show_report(self, report: SyncReport) -> None:
        self.report = report
        self.setVisible(True)
        self._render()

    def set_language(self, lang: str) -> None:
        self.lang = lang
        if self.report is not None:
            self._render()

    def _render(self) -> None:
        text, colour = mark_text(self.report, self.lang)
        self.setText(text)
        self.setStyleSheet(f"#syncMark {{ color: {colour}; font-size: 22px; }}")
        problem = self.report.problem if self.report is not None else None
        self.setToolTip(message_for(problem, self.lang))
