"""The admin console's 好差评 page: the distribution of this terminal's evaluations over a
chosen period, drawn offscreen in the three languages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kiosk.applications import utc_now
from kiosk.config import Config
from kiosk.i18n import tr
from kiosk.progress import period_start, record_evaluation
from kiosk.store import open_store
from kiosk.ui.admin_window import ADMIN_PAGES, AdminContext, AdminWindow
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker

SHOTS = Path("/tmp/kiosk-admin-evaluation-shots")


def fill(db) -> None:
    now = utc_now()
    today = period_start("today", now)
    for stars, reasons, text in [(5, ["fast", "done_once"], "很好"), (5, ["fast"], ""),
                                 (4, ["clear_guide"], ""), (2, ["long_wait"], "排队太久")]:
        record_evaluation(db, stars, reasons, text, now=min(now, today + timedelta(minutes=5)))
    for _ in range(3):  # earlier this week
        record_evaluation(db, 1, ["many_trips", "unclear_materials"], "",
                          now=today - timedelta(days=3))
    record_evaluation(db, 3, ["system_down"], "屏幕卡住", now=today - timedelta(days=20))


def test_distribution_page_by_period_in_three_languages(qtbot, tmp_path):
    def open_db():
        return open_store(tmp_path / "kiosk.db")

    db = open_db()
    fill(db)
    db.conn.close()
    worker = StoreWorker(open_db)
    assert "admin.evaluation.tab" in [key for key, _ in ADMIN_PAGES]
    SHOTS.mkdir(exist_ok=True)
    try:
        for lang in ("zh-Hans", "zh-Hant", "en"):
            window = AdminWindow(AdminContext(Services(worker),
                                              replace(Config(fullscreen=False), language=lang),
                                              {"data_dir": str(tmp_path)}))
            qtbot.addWidget(window)
            window.show()
            page = window.pages["admin.evaluation.tab"]
            window.tabs.setCurrentWidget(page)
            qtbot.waitUntil(lambda page=page: page.summary is not None)
            assert page.summary.total == 7  # the default period: the last 7 days
            assert [v for _l, _len, v, _c in page.stars.rows] == ["2", "1", "0", "1", "3"]

            qtbot.mouseClick(page.period_buttons["today"], Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda page=page: page.summary.total == 4)
            reasons = {label: value for label, _len, value, _c in page.reasons.rows}
            assert reasons[tr("evaluate.reason.fast", lang)] == "50% (2)"
            assert reasons[tr("evaluate.reason.many_trips", lang)] == "0% (0)"
            if lang == "en":
                assert page.message.text() == ("4 ratings, average 4.0 stars　·　"
                                               "With a written comment: 2")
            assert all(b.height() >= 80 for b in page.period_buttons.values())

            qtbot.mouseClick(page.period_buttons["30d"], Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda page=page: page.summary.total == 8)
            assert page.summary.with_text == 3
            QApplication.processEvents()
            window.grab().save(str(SHOTS / f"admin-evaluation-{lang}.png"))
            window.close()
    finally:
        worker.shutdown()


def test_an_empty_period_says_so(qtbot, tmp_path):
    worker = StoreWorker(lambda: open_store(tmp_path / "kiosk.db"))
    try:
        from kiosk.ui.admin_evaluations import EvaluationsPage

        page = EvaluationsPage(AdminContext(Services(worker), Config(fullscreen=False), {}))
        qtbot.addWidget(page)
        qtbot.waitUntil(lambda: page.summary is not None)
        assert page.message.text() == "这段时间没有评价"
        assert all(length == 0 for _l, length, _v, _c in page.stars.rows)
    finally:
        worker.shutdown()
