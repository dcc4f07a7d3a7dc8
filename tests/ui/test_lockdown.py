"""Kiosk lockdown (kiosk.ui.lockdown): the window cannot be closed, system shortcuts do nothing,
and only an administrator's PIN, entered on the touch pad reached by five corner taps, lets it
close. Every refusal and the exit are in the audit trail. Also the admin console's door."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from kiosk import audit, catalog, staff
from kiosk.config import Config
from kiosk.i18n import tr
from kiosk.store import open_store
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.lockdown import KioskLock, PinDialog, swallowed
from kiosk.ui.services import Services
from kiosk.ui.theme import TOUCH_MIN
from kiosk.ui.worker import StoreWorker

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def store(tmp_path, sample_bundle):
    path = tmp_path / "kiosk.db"
    db = open_store(path)
    catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
    staff.add_staff(db, "S001", "王芳", "2468")
    staff.add_staff(db, "A001", "李主任", "1357", "admin")
    db.conn.close()
    return path


def _trail(path) -> list[tuple[str, str]]:
    db = open_store(path)
    try:
        assert audit.verify(db).ok
        return [(r["actor"], r["action"]) for r in audit.records(db)]
    finally:
        db.conn.close()


@pytest.fixture
def locked(qtbot, store):
    worker = StoreWorker(lambda: open_store(store))
    window = KioskWindow(Services(worker), Config(fullscreen=True))
    window.lock = KioskLock(window, window.services, lambda: window.lang)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    if window.lock.dialog is not None:  # a modal dialog left open would block the next test
        window.lock.dialog.close()
    window.lock.release()
    window.lock._exit_allowed = True  # let the test teardown close it
    worker.shutdown()


def _tap_corner(window, times: int = 5) -> None:
    for _ in range(times):
        QTest.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, QPoint(20, 20))


def _enter(qtbot, dialog: PinDialog, staff_id: str, pin: str) -> None:
    qtbot.mouseClick(dialog.staff_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.clear_key, Qt.MouseButton.LeftButton)  # kept after a refusal
    for ch in staff_id:
        if ch.isalpha() and not dialog.letters:
            qtbot.mouseClick(dialog.mode_key, Qt.MouseButton.LeftButton)
        if ch.isdigit() and dialog.letters:
            qtbot.mouseClick(dialog.mode_key, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.keys[ch], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.pin_button, Qt.MouseButton.LeftButton)
    for ch in pin:
        qtbot.mouseClick(dialog.keys[ch], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_the_locked_window_is_frameless_on_top_and_close_leaves_it_open(qtbot, locked):
    flags = locked.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert locked.close() is False
    QApplication.processEvents()
    assert locked.isVisible()


@pytest.mark.parametrize(("key", "mods"), [
    (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Delete, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_F2, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_Meta, Qt.KeyboardModifier.MetaModifier),
    (Qt.Key.Key_Super_L, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier),
])
def test_system_shortcuts_are_swallowed_and_do_nothing(qtbot, locked, key, mods):
    assert swallowed(key, mods)
    seen = []
    locked.search.keyPressEvent = lambda e: seen.append(e.key())  # a widget that would react
    for target in (locked, locked.search, locked.windowHandle()):
        QTest.keyClick(target, key, mods)
        event = QKeyEvent(QKeyEvent.Type.KeyPress, key, mods)
        QApplication.sendEvent(locked.search, event)
    QApplication.processEvents()
    # (QTest also presses the modifier keys themselves, Alt or Ctrl alone: harmless, let through)
    assert key not in seen and locked.isVisible()
    if mods == Qt.KeyboardModifier.NoModifier:
        assert seen == []


def test_ordinary_typing_is_not_swallowed():
    assert not swallowed(Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier)
    assert not swallowed(Qt.Key.Key_1, Qt.KeyboardModifier.NoModifier)
    assert not swallowed(Qt.Key.Key_Backspace, Qt.KeyboardModifier.NoModifier)


def test_five_corner_taps_within_3s_open_the_pin_pad_and_fewer_do_not(qtbot, locked):
    _tap_corner(locked, 4)
    QTest.mouseClick(locked.windowHandle(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, QPoint(500, 500))  # elsewhere: start over
    _tap_corner(locked, 1)
    assert locked.lock.dialog is None
    _tap_corner(locked, 4)
    dialog = locked.lock.dialog
    assert dialog is not None and dialog.isVisible()
    for key in dialog.keys.values():
        assert key.width() >= TOUCH_MIN and key.height() >= TOUCH_MIN


def test_the_pin_pad_closes_with_the_visitors_session(qtbot, locked):
    _tap_corner(locked)
    dialog = locked.lock.dialog
    dialog._type("A")
    locked.idle.timed_out.emit()  # what the idle guard does after idle_timeout_s
    assert not dialog.isVisible() and locked.isVisible()
    _tap_corner(locked)
    assert dialog.isVisible() and dialog.values == {"staff": "", "pin": ""}


def test_a_clerk_pin_does_not_close_it_and_is_audited(qtbot, locked, store):
    _tap_corner(locked)
    dialog = locked.lock.dialog
    _enter(qtbot, dialog, "S001", "2468")
    qtbot.waitUntil(lambda: dialog.message.text() == tr("pin.not_admin", "zh-Hans"))
    assert locked.close() is False and locked.isVisible()
    assert ("S001", "staff.refused_role") in _trail(store)


def test_a_wrong_pin_counts_toward_the_lockout_and_is_audited(qtbot, locked, store):
    _tap_corner(locked)
    dialog = locked.lock.dialog
    for _ in range(staff.MAX_FAILURES):
        _enter(qtbot, dialog, "A001", "0000")
        qtbot.waitUntil(lambda: dialog.ok_button.isEnabled())
    assert dialog.message.text() == tr("counter.signin.locked", "zh-Hans")
    _enter(qtbot, dialog, "A001", "1357")  # the right PIN, but locked out now
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled())
    assert locked.isVisible()
    actions = [a for _, a in _trail(store)]
    assert actions.count("staff.signin_failed") == staff.MAX_FAILURES - 1
    assert "staff.lockout" in actions and "staff.signin_refused_locked" in actions


def test_an_admin_pin_closes_it_and_the_exit_is_audited(qtbot, locked, store):
    _tap_corner(locked)
    dialog = locked.lock.dialog
    _enter(qtbot, dialog, "A001", "1357")
    qtbot.waitUntil(lambda: not locked.isVisible())
    assert locked.lock.may_close()
    assert _trail(store)[-2:] == [("A001", "staff.signin"), ("A001", "kiosk.exit")]


def test_the_admin_consoles_door_refuses_a_clerk(qtbot, store):
    worker = StoreWorker(lambda: open_store(store))
    try:
        door = PinDialog(Services(worker), "admin_console")
        qtbot.addWidget(door)
        passed = []
        door.accepted_admin.connect(passed.append)
        door.start("en")
        _enter(qtbot, door, "S001", "2468")
        qtbot.waitUntil(lambda: door.message.text() == tr("pin.not_admin", "en"))
        assert passed == []
        _enter(qtbot, door, "A001", "1357")
        qtbot.waitUntil(lambda: bool(passed))
        assert passed[0].staff_id == "A001" and passed[0].is_admin
    finally:
        worker.shutdown()
    details = open_store(store)
    try:
        purposes = [(r["action"], r["details"].get("purpose")) for r in audit.records(details)]
    finally:
        details.conn.close()
    assert ("staff.refused_role", "admin_console") in purposes
    assert ("staff.signin", "admin_console") in purposes


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
def test_pin_pad_screenshot(qtbot, store, lang):
    worker = StoreWorker(lambda: open_store(store))
    try:
        dialog = PinDialog(Services(worker), "kiosk_exit")
        qtbot.addWidget(dialog)
        dialog.start(lang)
        for ch in "A001":
            dialog._type(ch)
        dialog._select("pin")
        for ch in "13":
            dialog._type(ch)
        dialog.resize(760, 1100)
        QApplication.processEvents()
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert dialog.grab().save(str(SHOTS / f"pin_pad_{lang}.png"))
        dialog._select("staff")
        dialog._toggle_letters()  # the letters of a staff id
        QApplication.processEvents()
        assert dialog.grab().save(str(SHOTS / f"pin_pad_letters_{lang}.png"))
        for key in dialog.keys.values():
            assert key.width() >= TOUCH_MIN and key.height() >= TOUCH_MIN
        assert tr("pin.title.exit", lang) == dialog.title.text()
    finally:
        worker.shutdown()


def test_run_admins_door_admits_an_admin_and_cancel_admits_nobody(qtbot, store):
    """kiosk.ui.app.admin_sign_in, as run_admin calls it (a modal exec)."""
    from PySide6.QtCore import QTimer

    from kiosk.ui.app import admin_sign_in

    worker = StoreWorker(lambda: open_store(store))
    services = Services(worker)
    try:
        def fill(staff_id: str | None) -> None:
            door = QApplication.activeModalWidget()
            assert isinstance(door, PinDialog)
            assert door.title.text() == tr("pin.title.admin", "zh-Hant")
            if staff_id is None:
                qtbot.mouseClick(door.cancel_button, Qt.MouseButton.LeftButton)
            else:
                _enter(qtbot, door, staff_id, "1357")

        QTimer.singleShot(200, lambda: fill("A001"))
        admin = admin_sign_in(services, "zh-Hant")
        assert admin is not None and admin.staff_id == "A001"
        QTimer.singleShot(200, lambda: fill(None))
        assert admin_sign_in(services, "zh-Hant") is None
    finally:
        worker.shutdown()
