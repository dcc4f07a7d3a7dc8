"""The top-bar sync mark's wording and colours, and that it stays hidden when sync is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk.config import Config
from kiosk.sync.errors import PlatformUnreachable
from kiosk.sync.runner import SyncReport
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.services import Services
from kiosk.ui.sync_status import AMBER, GREEN, SyncStatusMark, local_time, mark_text
from kiosk.ui.worker import StoreWorker


def test_mark_wording_in_every_language():
    at = datetime.now(UTC).isoformat()
    online = SyncReport(online=True, at=at)
    offline = SyncReport(online=False, at=at, offline_since=at, outbox_depth=7)
    assert mark_text(online, "zh-Hans") == ("● 在线", GREEN)
    hhmm = local_time(at)
    assert mark_text(offline, "zh-Hans") == (f"● 离线 · {hhmm} 起\n7 条待上传", AMBER)
    assert mark_text(offline, "zh-Hant") == (f"● 離線 · {hhmm} 起\n7 筆待上傳", AMBER)
    assert mark_text(offline, "en") == (f"● Offline since {hhmm}\n7 waiting", AMBER)
    assert mark_text(None, "en") == ("● Not synced yet", AMBER)
    assert mark_text(SyncReport(online=False, at=None, outbox_depth=2), "en")[0] == \
        "● Not synced yet\n2 waiting"


def test_offline_since_an_earlier_day_shows_the_date():
    earlier = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    assert len(local_time(earlier)) == len("12-04 09:30")


def test_mark_tooltip_says_why_in_the_visitors_language(qtbot):
    mark = SyncStatusMark()
    qtbot.addWidget(mark)
    assert not mark.isVisible()
    at = datetime.now(UTC).isoformat()
    mark.show_report(SyncReport(online=False, at=at, offline_since=at,
                                problem=PlatformUnreachable("GET /v1/catalog: refused")))
    assert "自动上传" in mark.toolTip()
    mark.set_language("en")
    assert "sent automatically" in mark.toolTip() and mark.text().startswith("● Offline")


def test_without_sync_the_kiosk_shows_no_mark(qtbot, tmp_path):
    from kiosk.store import open_store

    worker = StoreWorker(lambda: open_store(tmp_path / "kiosk.db"))
    window = KioskWindow(Services(worker), Config(fullscreen=False))
    qtbot.addWidget(window)
    window.show()
    assert not window.sync_mark.isVisible() and not window.sync.timer.isActive()
    worker.shutdown()
