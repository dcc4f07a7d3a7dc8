"""Filing an application at the kiosk, tapped through offscreen on simulated devices.

The issue's first "Done when": search an item → read the simulated ID card → fill the form →
scan two materials from image files → pre-review lists the one missing material → add it →
file → the simulated printer's receipt carries the right number and item → the platform
(the reference server, in-process) receives the application and its blobs exactly once.
The same tap-through against a real platform process: tests/e2e/test_apply_e2e.py.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from kiosk import catalog
from kiosk.config import Config
from kiosk.store import open_store
from kiosk.ui.device_services import DeviceServices
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from apply_tapthrough import (  # noqa: E402  (shared with tests/e2e/test_apply_e2e.py)
    ITEM,
    file_by_tapping,
    image_file,
    settle,
    shot,
    tap,
)
from sync_support import InProcessPlatform  # noqa: E402  (shared with the sync tests)


@pytest.fixture
def kiosk(qtbot, tmp_path, sample_bundle):
    def open_db():
        return open_store(tmp_path / "kiosk.db")

    db = open_db()
    catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
    db.conn.close()
    config = Config(fullscreen=False)
    services = Services(StoreWorker(open_db))
    services.devices = DeviceServices(config, tmp_path, open_db)
    window = KioskWindow(services, config)
    window.applying.today = date(2026, 12, 7)
    qtbot.addWidget(window)
    window.show()
    yield window, services, open_db
    services.devices.shutdown()
    services.worker.shutdown()


@pytest.mark.pty  # reads the simulated ID card reader over a pseudo-terminal
def test_file_an_application_end_to_end(qtbot, kiosk, tmp_path):
    window, services, open_db = kiosk
    images = {n: image_file(tmp_path / f"page{n}.png", (250 - n * 20, 245, 240), n + 3)
              for n in range(3)}
    number, _printer = file_by_tapping(qtbot, window, services, images)

    # Stored once, with its three scans, and queued for the platform.
    db = open_db()
    apps = db.execute("SELECT number, applicant, materials FROM applications").fetchall()
    assert [a[0] for a in apps] == [number]
    kinds = db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind").fetchall()
    # (events, e.g. the audit trail's application.filed, are not this test's business)
    assert {k: n for k, n in kinds if k != "event"} == {"blob": 3, "application": 1}

    # The platform receives it and its blobs exactly once, even when pushed twice.
    from kiosk.sync import outbox

    platform = InProcessPlatform(tmp_path / "platform")
    try:
        client = platform.client(platform.enroll())
        first = outbox.push(db, client, tmp_path / "blobs", force=True)
        assert first.error is None and first.sent["application"] == 1 and first.sent["blob"] == 3
        second = outbox.push(db, client, tmp_path / "blobs", force=True)
        assert second.total_sent == 0
        assert platform.count("applications") == 1 and platform.count("blobs") == 3
        (stored,) = platform.query("SELECT number FROM applications")
        assert stored == (number,)
    finally:
        platform.close()
        db.conn.close()


@pytest.mark.pty  # reads the simulated ID card reader over a pseudo-terminal
def test_idle_reset_forgets_the_visitor(qtbot, kiosk):
    window, services, _ = kiosk
    flow = window.applying
    window.open_item(ITEM)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    tap(qtbot, window.guide.apply_button)
    tap(qtbot, flow.identity.read_button)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is flow.form, timeout=5000)
    assert flow.card is not None
    window.reset_for_next_visitor()
    assert flow.card is None and flow.answers == {} and flow.form.rows == {}
    assert window.stack.currentWidget() is window.home


def test_typed_hostile_input_is_shown_as_plain_text(qtbot, kiosk):
    window, services, _ = kiosk
    flow = window.applying
    window.open_item("SCDJ-XK-001")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    tap(qtbot, window.guide.apply_button)
    tap(qtbot, flow.identity.type_button)
    rows = flow.form.rows
    assert not rows["name"].edit.isReadOnly()
    rows["name"].edit.setText("<b>张</b>\u202e三" + "王" * 60)
    assert rows["name"].edit.text() == "<b>张</b>三" + "王" * 60  # the RLO never shows
    tap(qtbot, rows["applicant_type"].choice_buttons["company"])
    rows["credit_code"].edit.setText("91350100M000100Y44")
    tap(qtbot, flow.form.next_button)
    assert window.stack.currentWidget() is flow.form
    assert "50" in rows["name"].error.text()
    assert rows["name"].error.textFormat() == Qt.TextFormat.PlainText
    assert "校验位" in rows["credit_code"].error.text()
    shot(window, "08-form-hostile")


def test_progress_by_number_typed_without_hyphens(qtbot, kiosk, tmp_path):
    window, services, open_db = kiosk
    from kiosk.applications import file_application

    db = open_db()
    filed = file_application(db, window.config, ITEM, {"name": "张三"}, {}, [], tmp_path)
    db.conn.close()
    tap(qtbot, window.home.tiles["tile.progress"])
    screen = window.cases.progress
    assert window.stack.currentWidget() is screen
    for ch in filed.number.replace("-", "").lower():
        tap(qtbot, screen.keyboard.keys[ch])
    tap(qtbot, screen.find_button)
    qtbot.waitUntil(lambda: bool(screen.answers))
    texts = [screen.body_layout.itemAt(i).widget().text()
             for i in range(screen.body_layout.count()) if screen.body_layout.itemAt(i).widget()]
    assert filed.number in texts[0] and "个体工商户设立登记" in texts[0]
    assert "张三" not in " ".join(texts)  # nothing personal on a public screen
    assert texts[1] == "离线 — 以下是本终端的记录"  # no platform here: its own record only
    assert "等待受理" in texts[2]
    shot(window, "10-progress")
    screen.field.setText("H0001K0119990101")
    tap(qtbot, screen.find_button)
    qtbot.waitUntil(lambda: screen.state == "progress.not_found")


def test_evaluation_goes_to_the_outbox(qtbot, kiosk):
    window, services, open_db = kiosk
    tap(qtbot, window.home.tiles["tile.evaluate"])
    screen = window.cases.evaluate
    tap(qtbot, screen.send_button)  # no stars yet: asked for them, nothing sent
    assert screen.state == "evaluate.error.stars"
    tap(qtbot, screen.star_buttons[1])
    assert set(screen.reason_buttons) == {"attitude_bad", "long_wait", "many_trips",
                                          "unclear_materials", "system_down"}
    qtbot.wait(10)  # new buttons are shown by the next event-loop turn
    tap(qtbot, screen.reason_buttons["long_wait"])
    screen.number.setFocus()
    assert not screen.keyboard.mode_key.isEnabled()  # an application number takes no pinyin
    screen.text.setFocus()
    keyboard = screen.keyboard
    assert keyboard.chinese  # the Chinese interface types Chinese into the comment
    for ch in "man":
        tap(qtbot, keyboard.keys[ch])
    assert screen.text.text() == ""  # the letters wait in the candidate bar
    tap(qtbot, keyboard.candidate_keys[keyboard.candidates().index("慢")])
    tap(qtbot, keyboard.mode_key)  # 英文: Latin letters go straight into the field
    assert not keyboard.chinese
    for ch in " slow":
        tap(qtbot, keyboard.keys[ch])
    assert screen.text.text() == "慢 slow"
    shot(window, "11-evaluate")
    sent = []
    screen.submitted.connect(lambda *args: sent.append(args))
    tap(qtbot, screen.send_button)
    qtbot.waitUntil(lambda: screen.state == "evaluate.thanks")
    db = open_db()
    try:
        (payload,) = db.execute("SELECT payload FROM events WHERE type = 'evaluation'").fetchone()
        assert '"stars":2' in payload and "long_wait" in payload
        assert sent[0][2] == "慢 slow"  # stored sealed (kiosk.freetext), so checked as sent
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'event'").fetchone()[0] == 1
    finally:
        db.conn.close()


@pytest.mark.pty  # reads the simulated ID card reader over a pseudo-terminal
def test_progress_by_reading_the_id_card_lists_only_the_holders(qtbot, kiosk, tmp_path):
    window, services, open_db = kiosk
    from kiosk.applications import file_application

    db = open_db()
    mine = file_application(db, window.config, ITEM, {"id_number": "11010519491231002X"}, {}, [],
                            tmp_path)
    file_application(db, window.config, ITEM, {"id_number": "440524188001010014"}, {}, [],
                     tmp_path)
    db.conn.close()
    tap(qtbot, window.home.tiles["tile.progress"])
    screen = window.cases.progress
    tap(qtbot, screen.card_button)  # the simulated reader holds 11010519491231002X's card
    qtbot.waitUntil(lambda: screen.state == "progress.found", timeout=5000)
    assert [p.application.number for p, _ in screen.answers] == [mine.number]


@pytest.mark.pty  # reads the simulated ID card reader over a pseudo-terminal
def test_idle_reset_while_filing_still_prints_the_receipt(qtbot, kiosk, tmp_path):
    """GIVEN a complete application WHEN the kiosk resets for the next visitor while the store
    is filing it THEN the application is stored and its receipt still prints (never lost)."""
    window, services, open_db = kiosk
    flow = window.applying
    window.open_item(ITEM)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    tap(qtbot, window.guide.apply_button)
    tap(qtbot, flow.identity.read_button)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is flow.form, timeout=5000)
    tap(qtbot, flow.form.rows["applicant_type"].choice_buttons["person"])
    flow.form.rows["phone"].edit.setText("13800138000")
    tap(qtbot, flow.form.next_button)
    for n in range(3):
        tap(qtbot, flow.materials.rows[n].original)
    tap(qtbot, flow.materials.next_button)
    tap(qtbot, flow.review.file_button)
    window.reset_for_next_visitor()  # before the store thread has answered
    settle(qtbot, services)
    settle(qtbot, services)
    db = open_db()
    try:
        (number,) = db.execute("SELECT number FROM applications").fetchone()
    finally:
        db.conn.close()
    sim = services.devices.devices.printer.transport.sim
    assert number in sim.printed[-1].text()
    assert window.stack.currentWidget() is window.home
