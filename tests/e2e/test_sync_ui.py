"""The app's sync against a real platform process: the top-bar mark (offline / online / waiting),
a publish reaching a running kiosk within one sync interval, and the admin page's actions."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402
from sync_e2e_tools import make_terminal, server_rows, small_bundle  # noqa: E402

from kiosk.applications import file_application  # noqa: E402
from kiosk.store import open_store  # noqa: E402
from kiosk.ui.admin_window import AdminContext, AdminWindow  # noqa: E402
from kiosk.ui.app import build_services, shutdown_services  # noqa: E402
from kiosk.ui.kiosk_window import KioskWindow  # noqa: E402

INTERVAL_S = 2


@pytest.fixture
def terminal(platform_server, tmp_path):
    return make_terminal(tmp_path / "k", platform_server, interval_s=INTERVAL_S, timeout_s=2,
                         isolate_catalog=True)  # as `kiosk run` does


@pytest.fixture
def services(terminal):
    made = build_services(lambda: open_store(terminal.data_dir / "kiosk.db"), terminal.agent)
    yield made
    shutdown_services(made)


@pytest.fixture
def kiosk(qtbot, terminal, services):
    window = KioskWindow(services, terminal.config)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.sync.stop()


def test_mark_shows_offline_since_then_online_with_records_waiting(
        qtbot, platform_server, terminal, services):
    platform_server.kill()
    file_application(terminal.db, terminal.config, "SCJG-XK-001", {}, {}, [],
                     terminal.agent.blobs_dir)
    window = KioskWindow(services, terminal.config)
    qtbot.addWidget(window)
    window.show()
    mark = window.sync_mark
    qtbot.waitUntil(lambda: mark.isVisible() and "离线" in mark.text(), timeout=10_000)
    # the application and the audit record of its filing (kiosk.audit)
    assert "2 条待上传" in mark.text() and "起" in mark.text()
    window.set_language("en")
    assert "Offline since" in mark.text() and "2 waiting" in mark.text()
    window.grab().save("/tmp/kiosk-sync-offline.png")
    platform_server.start()
    qtbot.waitUntil(lambda: mark.text() == "● Online", timeout=(INTERVAL_S + 8) * 1000)
    window.set_language("zh-Hant")
    assert mark.text() == "● 在線"
    window.grab().save("/tmp/kiosk-sync-online.png")
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM applications") == [(1,)]
    window.sync.stop()


def test_a_publish_reaches_a_running_kiosk_within_one_interval(qtbot, platform_server, kiosk):
    platform_server.publish(small_bundle(1))
    qtbot.waitUntil(lambda: getattr(kiosk.sync_mark.report, "catalog_version", None) == 1,
                    timeout=(INTERVAL_S + 8) * 1000)
    platform_server.publish(small_bundle(2, extra_item="电梯使用登记"))
    # within one interval (plus the round's own time) the visitor's search finds the new item
    qtbot.waitUntil(lambda: kiosk.sync_mark.report.catalog_version == 2,
                    timeout=(INTERVAL_S + 3) * 1000)
    qtbot.mouseClick(kiosk.home.tiles["tile.search"], Qt.MouseButton.LeftButton)
    for ch in "dianti":
        qtbot.mouseClick(kiosk.search.keyboard.keys[ch], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.search.answered_query == "dianti" and bool(kiosk.search.rows))
    assert kiosk.search.rows[0].code == "SCJG-QT-099"


def test_admin_page_sync_now_and_roll_back(qtbot, platform_server, terminal, services):
    platform_server.publish(small_bundle(1))
    terminal.agent.run_round(terminal.db)
    platform_server.publish(small_bundle(2, extra_item="电梯使用登记"))
    for i in range(3):
        file_application(terminal.db, terminal.config, "SCJG-XK-001", {"n": i}, {}, [],
                         terminal.agent.blobs_dir)
    window = AdminWindow(AdminContext(services, terminal.config, {}))
    qtbot.addWidget(window)
    window.show()
    page = window.pages["admin.sync.tab"]
    page.scheduler.stop()  # only the button syncs in this test
    # 3 applications and the audit records of their filing (kiosk.audit)
    qtbot.waitUntil(lambda: page.values["admin.sync.outbox"].text() == "6")
    assert page.values["admin.sync.catalog_version"].text() == "1"
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.message.text().startswith("同步完成"), timeout=15_000)
    assert page.values["admin.sync.outbox"].text() == "0"
    assert page.values["admin.sync.catalog_version"].text() == "2"
    assert page.values["admin.sync.previous_version"].text() == "1"
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM applications") == [(3,)]
    window.grab().save("/tmp/kiosk-admin-sync.png")
    qtbot.mouseClick(page.rollback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.values["admin.sync.catalog_version"].text() == "1")
    assert "1" in page.message.text() and "回退" in page.message.text()
    # Both buttons are admin actions in the audit trail, by the console's admin.
    from kiosk import audit

    actions = [(r["actor"], r["action"]) for r in audit.records(terminal.db)]
    assert ("admin", "admin.sync_now") in actions and ("admin", "catalog.rollback") in actions
