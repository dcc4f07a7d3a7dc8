"""Admin page "Sync & catalog": last sync, catalog version, outbox depth, refused records, and
the "sync now", "roll back catalog" and "queue again" actions (all through Services)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import tr
from kiosk.sync.errors import NotConfigured, message_for
from kiosk.sync.outbox import FailedRecord
from kiosk.sync.runner import SyncReport
from kiosk.ui.admin_window import AdminContext
from kiosk.ui.sync_status import SyncScheduler, local_time, mark_text

COLUMNS = ("admin.sync.col.kind", "admin.sync.col.record", "admin.sync.col.attempts",
           "admin.sync.col.error", "admin.sync.col.at")


class SyncPage(QWidget):
    """What an administrator needs to see and do about sync on this terminal."""

    def __init__(self, context: AdminContext) -> None:
        super().__init__()
        self.services = context.services
        self.lang = context.config.language
        self.report: SyncReport | None = None
        self.failed: list[FailedRecord] = []
        lang = self.lang

        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 32)
        layout.setSpacing(20)
        form = QFormLayout()
        form.setHorizontalSpacing(40)
        form.setVerticalSpacing(12)
        self.values: dict[str, QLabel] = {}
        for key in ("admin.sync.state", "admin.sync.last_sync", "admin.sync.last_online",
                    "admin.sync.catalog_version", "admin.sync.previous_version",
                    "admin.sync.outbox", "admin.sync.last_error"):
            value = QLabel("…")
            value.setWordWrap(True)
            self.values[key] = value
            form.addRow(tr(key, lang), value)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.sync_button = QPushButton(tr("admin.sync.sync_now", lang))
        self.rollback_button = QPushButton(tr("admin.sync.rollback", lang))
        self.retry_button = QPushButton(tr("admin.sync.retry", lang))
        for button in (self.sync_button, self.rollback_button, self.retry_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.message = QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        self.failed_title = QLabel()
        layout.addWidget(self.failed_title)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(k, lang) for k in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)

        self.sync_button.clicked.connect(self.sync_now)
        self.rollback_button.clicked.connect(self.roll_back)
        self.retry_button.clicked.connect(self.retry)
        # Records keep flowing while the console is open: rounds run on the usual schedule.
        self.scheduler = SyncScheduler(self.services, context.config.sync.interval_s, self)
        self.scheduler.reported.connect(self._round_done)
        self.scheduler.failed.connect(self._failed)
        if not self.services.sync_enabled:
            self.sync_button.setEnabled(False)
            self.message.setText(message_for(NotConfigured(""), lang))
        self.scheduler.start()
        self.refresh()

    # --- actions ---------------------------------------------------------------------------

    def refresh(self) -> None:
        self.services.sync_state(self.show_state, self._failed)
        self.services.failed_records(self.show_failed, self._failed)

    def sync_now(self) -> None:
        if self.scheduler.run_now(force=True):
            self.sync_button.setEnabled(False)
        self.message.setText(tr("admin.sync.running", self.lang))

    def roll_back(self) -> None:
        self.rollback_button.setEnabled(False)
        self.services.rollback_catalog(self._rolled_back, self._failed)

    def retry(self) -> None:
        self.services.retry_failed(self._requeued, self._failed)

    # --- answers ---------------------------------------------------------------------------

    def _round_done(self, report: SyncReport) -> None:
        self.show_state(report)
        if not report.ran:  # the stored state, shown at start: no round has run
            return
        self.sync_button.setEnabled(self.services.sync_enabled)
        self.services.failed_records(self.show_failed, self._failed)
        if report.problem is not None:
            self.message.setText(message_for(report.problem, self.lang))
        else:
            self.message.setText(tr("admin.sync.done", self.lang, sent=report.pushed_total,
                                    failed=sum(report.failed.values()),
                                    version=report.catalog_version or tr("admin.sync.none",
                                                                          self.lang)))

    def _rolled_back(self, version: int) -> None:
        self.rollback_button.setEnabled(True)
        self.message.setText(tr("admin.sync.rolled_back", self.lang, version=version))
        self.services.sync_state(self.show_state, self._failed)

    def _requeued(self, count: int) -> None:
        self.message.setText(tr("admin.sync.requeued", self.lang, n=count))
        self.refresh()

    def _failed(self, exc: Exception) -> None:
        self.sync_button.setEnabled(self.services.sync_enabled)
        self.rollback_button.setEnabled(True)
        self.message.setText(message_for(exc, self.lang))

    def show_state(self, report: SyncReport | None) -> None:
        if report is None:
            return
        self.report = report
        lang = self.lang
        none = tr("admin.sync.none", lang)
        v = self.values
        v["admin.sync.state"].setText(mark_text(report, lang)[0].replace("\n", " · "))
        colour = "#2b8a3e" if report.online else "#c2410c"  # readable on the light page
        v["admin.sync.state"].setStyleSheet(f"color: {colour}; font-weight: bold;")
        v["admin.sync.last_sync"].setText(local_time(report.at, True) or tr("sync.never", lang))
        v["admin.sync.last_online"].setText(local_time(report.last_online_at, True) or none)
        v["admin.sync.catalog_version"].setText(str(report.catalog_version or none))
        v["admin.sync.previous_version"].setText(str(report.previous_catalog_version or none))
        v["admin.sync.outbox"].setText(str(report.outbox_depth))
        # The sentence for a person first, then the technical detail (shortened) for support.
        detail = "; ".join(report.errors)
        detail = detail if len(detail) <= 300 else detail[:300] + "…"
        sentence = message_for(report.problem, lang)
        v["admin.sync.last_error"].setText("\n".join(x for x in (sentence, detail) if x) or none)
        self.rollback_button.setEnabled(report.previous_catalog_version is not None)

    def show_failed(self, records: list[FailedRecord]) -> None:
        self.failed = records
        self.failed_title.setText(f"{tr('admin.sync.failed', self.lang)}: {len(records)}")
        self.retry_button.setEnabled(bool(records))
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            cells = (tr(f"admin.sync.kind.{record.kind}", self.lang), record.label or record.ref,
                     str(record.attempts), record.error, local_time(record.at, True))
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
