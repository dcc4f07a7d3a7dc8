"""The progress screen against a real platform process: the local history at once, then the
platform's newest status; offline, a note that this is the terminal's own record. The lookup
is by the receipt's QR text, typed by a keyboard-wedge scanner and ended with Enter.
A number filed at another terminal of the hall is asked of the platform; another hall's is not
found."""

from __future__ import annotations

import os
import uuid

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6.QtWidgets")

import requests  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sync_e2e_tools import make_terminal, small_bundle  # noqa: E402

from kiosk import catalog  # noqa: E402
from kiosk.applications import file_application, progress_url  # noqa: E402
from kiosk.store import open_store  # noqa: E402
from kiosk.sync.lookup import PlatformLookup  # noqa: E402
from kiosk.ui.app import build_services, shutdown_services  # noqa: E402
from kiosk.ui.kiosk_window import KioskWindow  # noqa: E402

SHOTS = "/tmp/kiosk-progress-shots"


@pytest.fixture
def setup(qtbot, platform_server, tmp_path):
    terminal = make_terminal(tmp_path / "k", platform_server, timeout_s=2)
    platform_server.publish(small_bundle(1))
    filed = file_application(terminal.db, terminal.config, "SCJG-XK-001", {"name": "张三"}, {},
                             [], terminal.agent.blobs_dir)
    terminal.drain()  # filed and received by the platform; the terminal knows "received"
    services = build_services(lambda: open_store(terminal.data_dir / "kiosk.db"), terminal.agent)
    window = KioskWindow(services, terminal.config)
    window.sync.stop()  # no round may bring the platform's news in behind the screen's back
    qtbot.addWidget(window)
    window.show()
    yield window, filed, terminal
    shutdown_services(services)


def accept_at_the_counter(server, application_id: str) -> None:
    """Another terminal of the hall (the counter) accepts it; this kiosk has not synced since."""
    token = server.enroll("H0001", "C01")
    r = requests.post(f"{server.url}/v1/applications/{application_id}/decision",
                      json={"decision_id": str(uuid.uuid4()), "decision": "accept",
                            "clerk": "王五"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text


def shot(window, name: str) -> None:
    QApplication.processEvents()  # let the layouts settle before grabbing
    os.makedirs(SHOTS, exist_ok=True)
    window.grab().save(f"{SHOTS}/{name}.png")


def scan(qtbot, screen, text: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused field, then Enter."""
    qtbot.keyClicks(screen.field, text)
    qtbot.keyClick(screen.field, Qt.Key.Key_Return)


def texts(screen) -> list[str]:
    layout = screen.body_layout
    return [layout.itemAt(i).widget().text() for i in range(layout.count())
            if layout.itemAt(i).widget()]


def test_online_shows_the_platforms_newest_status(qtbot, platform_server, setup):
    window, filed, terminal = setup
    accept_at_the_counter(platform_server, filed.id)
    qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
    screen = window.cases.progress
    assert screen.field.hasFocus()  # a scan goes straight into the field
    for lang in ("en", "zh-Hant", "zh-Hans"):
        window.set_language(lang)
        shot(window, f"progress-hint-{lang}")
    assert "QR" in screen.status.text() or "二维码" in screen.status.text()
    scan(qtbot, screen, progress_url(terminal.config.guide_url_template, filed.number))
    qtbot.waitUntil(lambda: bool(screen.answers))
    assert screen.field.text() == filed.number  # the URL is shown back as its number
    local = texts(screen)
    assert "已受理" not in " ".join(local[2:])  # the local history has not heard of it
    qtbot.waitUntil(lambda: screen.platform[filed.number][0] == "newest", timeout=10_000)
    lines = texts(screen)
    assert lines[1].startswith("平台最新状态：已受理")
    assert [line.split("  ", 1)[1] for line in lines[2:]] == ["平台已接收",
                                                              "已在自助终端提交，等待受理"]
    assert "张三" not in " ".join(lines)
    for lang in ("zh-Hans", "zh-Hant", "en"):
        window.set_language(lang)
        shot(window, f"progress-online-{lang}")
    assert texts(screen)[1].startswith("Platform, newest: Accepted")


def test_offline_says_it_shows_this_terminals_record(qtbot, platform_server, setup):
    window, filed, terminal = setup
    platform_server.kill()
    window.sync.run_now()  # the top bar's mark learns it too (the screenshots must agree)
    qtbot.waitUntil(lambda: "离线" in window.sync_mark.text(), timeout=10_000)
    qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
    screen = window.cases.progress
    scan(qtbot, screen, filed.number.replace("-", "").lower())
    qtbot.waitUntil(lambda: bool(screen.answers))
    qtbot.waitUntil(lambda: screen.platform[filed.number][0] == "offline", timeout=10_000)
    lines = texts(screen)
    assert lines[1] == "离线 — 以下是本终端的记录"
    assert "平台已接收" in lines[2]  # the terminal's own record is still all there
    for lang in ("zh-Hans", "zh-Hant", "en"):
        window.set_language(lang)
        shot(window, f"progress-offline-{lang}")
    assert texts(screen)[1] == "Offline — showing this terminal's record"


def test_a_number_the_platform_has_not_received_yet(qtbot, platform_server, setup):
    window, _filed, terminal = setup
    db = open_store(terminal.data_dir / "kiosk.db")
    later = file_application(db, terminal.config, "SCJG-XK-001", {}, {}, [],
                             terminal.agent.blobs_dir)
    db.conn.close()
    qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
    screen = window.cases.progress
    scan(qtbot, screen, later.number)
    qtbot.waitUntil(lambda: screen.platform.get(later.number, ("",))[0] == "unknown",
                    timeout=10_000)
    assert texts(screen)[1] == "平台尚未收到此申请，本机会自动上传"


def test_a_number_filed_at_another_terminal_of_the_hall(qtbot, platform_server, setup,
                                                        tmp_path):
    window, _filed, terminal = setup
    other = make_terminal(tmp_path / "k2", platform_server, terminal_id="K02")
    there = file_application(other.db, other.config, "SCJG-XK-001", {"name": "李四"}, {}, [],
                             other.agent.blobs_dir)
    other.drain()
    accept_at_the_counter(platform_server, there.id)
    qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
    screen = window.cases.progress
    scan(qtbot, screen, there.number.replace("-", "").lower())  # typed without hyphens
    qtbot.waitUntil(lambda: screen.platform.get(there.number, ("",))[0] == "remote",
                    timeout=10_000)
    assert screen.field.text() == there.number
    lines = texts(screen)
    item = catalog.get_item(terminal.db, "SCJG-XK-001")
    assert lines[0].split("\n")[:2] == [there.number, item["name"]["zh-Hans"]]
    assert lines[1].startswith("在本大厅其他终端提交 — 平台最新状态：已受理")
    assert [line.split("  ", 1)[1] for line in lines[2:]] == ["已受理", "平台已接收"]
    assert "李四" not in " ".join(lines)  # the platform sends nothing of the applicant
    assert terminal.db.execute("SELECT COUNT(*) FROM applications WHERE number = ?",
                               [there.number]).fetchone()[0] == 0  # nothing copied here
    for lang in ("zh-Hans", "zh-Hant", "en"):
        window.set_language(lang)
        shot(window, f"progress-remote-{lang}")
    assert texts(screen)[1].startswith("Filed at another terminal of this hall — platform, "
                                       "newest: Accepted")


def test_another_halls_number_is_not_found(qtbot, platform_server, setup, tmp_path):
    window, _filed, terminal = setup
    far = make_terminal(tmp_path / "k3", platform_server, hall_id="H0002", terminal_id="K01")
    theirs = file_application(far.db, far.config, "SCJG-XK-001", {}, {}, [],
                              far.agent.blobs_dir)
    far.drain()
    # The platform answers this hall's terminal as if it did not exist ...
    assert PlatformLookup(terminal.agent).application(theirs.number) is None
    # ... and the kiosk does not even ask about another hall's number.
    qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
    screen = window.cases.progress
    asked = []  # the numbers the screen asked the platform about
    show_asking = screen.show_asking
    screen.show_asking = lambda: (asked.append(screen.field.text()), show_asking())
    scan(qtbot, screen, theirs.number)
    qtbot.waitUntil(lambda: screen.state == "progress.not_found")
    assert screen.answers == [] and screen.note == "" and asked == []
    # A well-formed number of this hall the platform does not know: asked, then not found.
    scan_again(qtbot, screen, "H0001-K09-20261207-0001")
    qtbot.waitUntil(lambda: bool(asked) and screen.state == "progress.not_found",
                    timeout=10_000)
    assert asked == ["H0001-K09-20261207-0001"]
    assert screen.note == ""


def test_offline_a_number_not_here_says_the_platform_was_not_asked(qtbot, platform_server,
                                                                   setup):
    window, _filed, _terminal = setup
    platform_server.kill()
    window.sync.run_now()
    qtbot.waitUntil(lambda: "离线" in window.sync_mark.text(), timeout=10_000)
    qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
    screen = window.cases.progress
    scan(qtbot, screen, "H0001-K02-20261207-0003")
    qtbot.waitUntil(lambda: screen.note == "progress.platform.not_asked", timeout=10_000)
    assert screen.state == "progress.not_found" and screen.answers == []
    assert screen.status.text().splitlines() == ["没有找到这个编号的申请，请核对回执",
                                                 "暂时无法连接平台，未能查询在其他终端提交的申请，"
                                                 "请稍后再试或咨询窗口"]
    for lang in ("zh-Hans", "zh-Hant", "en"):
        window.set_language(lang)
        shot(window, f"progress-not-asked-{lang}")


def scan_again(qtbot, screen, text: str) -> None:
    screen.field.clear()
    scan(qtbot, screen, text)
