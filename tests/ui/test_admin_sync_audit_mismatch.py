"""The admin sync page shows an audit-chain mismatch found by the sync round (kiosk.sync.anchor)
as its sentence in the three languages, with the technical line (kinds and record numbers)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kiosk.config import Config
from kiosk.i18n import tr
from kiosk.store import open_store
from kiosk.sync.errors import AuditChainMismatch
from kiosk.sync.runner import SyncReport
from kiosk.ui.admin_window import AdminContext, AdminWindow
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker

SHOTS = Path("/tmp/kiosk-admin-sync-shots")


def test_the_mismatch_is_shown_in_three_languages(qtbot, tmp_path):
    def open_db():
        return open_store(tmp_path / "kiosk.db")

    open_db().conn.close()
    worker = StoreWorker(open_db)
    detail = "audit trail does not match the platform's anchor 14: edited at record 14"
    report = SyncReport(online=True, at="2026-12-08T03:00:00.000+00:00",
                        errors=[f"AuditChainMismatch: {detail}"],
                        problem=AuditChainMismatch(detail), ran=True)
    SHOTS.mkdir(exist_ok=True)
    try:
        for lang in ("zh-Hans", "zh-Hant", "en"):
            window = AdminWindow(AdminContext(Services(worker),
                                              replace(Config(fullscreen=False), language=lang),
                                              {"data_dir": str(tmp_path)}))
            qtbot.addWidget(window)
            window.resize(1280, 800)
            window.show()
            page = window.pages["admin.sync.tab"]
            window.tabs.setCurrentWidget(page)
            qtbot.wait(50)  # the page's own first state read lands first, then ours
            page.scheduler.reported.emit(report)  # as when a sync round ends
            shown = page.values["admin.sync.last_error"].text()
            assert tr("sync.error.audit_mismatch", lang) in shown and "record 14" in shown
            assert page.message.text() == tr("sync.error.audit_mismatch", lang)
            qtbot.wait(50)  # let the layout grow around the longer text before the picture
            window.grab().save(str(SHOTS / f"audit-mismatch-{lang}.png"))
    finally:
        worker.shutdown()
