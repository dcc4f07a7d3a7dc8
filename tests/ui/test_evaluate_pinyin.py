"""The evaluation's comment field takes Chinese through the keyboard's pinyin, like the form:
a Chinese interface starts in pinyin, an English one in Latin letters, and the application
number field never takes Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kiosk.config import Config
from kiosk.store import open_store
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker

SHOTS = Path("/tmp/kiosk-evaluate-shots")


@pytest.fixture
def window(qtbot, tmp_path):
    services = Services(StoreWorker(lambda: open_store(tmp_path / "kiosk.db")))
    window = KioskWindow(services, Config(fullscreen=False))
    qtbot.addWidget(window)
    window.show()
    yield window
    services.worker.shutdown()


def tap(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_comment_typed_in_pinyin_in_every_language(qtbot, window):
    tap(qtbot, window.home.tiles["tile.evaluate"])
    screen = window.cases.evaluate
    keyboard = screen.keyboard
    tap(qtbot, screen.star_buttons[4])
    screen.text.setFocus()
    for lang, chinese in (("zh-Hans", True), ("zh-Hant", True), ("en", False)):
        window.set_language(lang)
        assert keyboard.chinese is chinese, lang
        assert keyboard.mode_key.isEnabled()
        assert keyboard.mode_key.height() >= 80 and keyboard.candidate_keys[0].height() >= 80
        screen.text.clear()
        if not chinese:
            tap(qtbot, keyboard.mode_key)  # 拼音 in the English interface too, by choice
        for ch in "hen":
            tap(qtbot, keyboard.keys[ch])
        assert screen.text.text() == "" and "很" in keyboard.candidates()
        QApplication.processEvents()
        SHOTS.mkdir(exist_ok=True)
        window.grab().save(str(SHOTS / f"evaluate-pinyin-{lang}.png"))
        tap(qtbot, keyboard.candidate_keys[keyboard.candidates().index("很")])
        for ch in "hao":
            tap(qtbot, keyboard.keys[ch])
        tap(qtbot, keyboard.space)  # space takes the first candidate, as in any IME
        assert screen.text.text() == "很好"


def test_the_number_field_takes_no_chinese(qtbot, window):
    tap(qtbot, window.home.tiles["tile.evaluate"])
    screen = window.cases.evaluate
    keyboard = screen.keyboard
    screen.text.setFocus()
    tap(qtbot, keyboard.keys["h"])  # pending pinyin ...
    screen.number.setFocus()
    assert not keyboard.chinese and not keyboard.mode_key.isEnabled()
    assert keyboard.letters == ""  # ... is dropped, never typed into the number
    for ch in "h0001":
        tap(qtbot, keyboard.keys[ch])
    assert screen.number.text() == "H0001" and screen.text.text() == ""
    screen.text.setFocus()
    assert keyboard.chinese and keyboard.mode_key.isEnabled()


def test_the_keyboard_shows_for_typing_and_leaves_room_for_the_stars(qtbot, window):
    """GIVEN the evaluation screen THEN no keyboard stands under the stars and reasons until the
    visitor taps a text field; the reset for the next visitor hides it again."""
    tap(qtbot, window.home.tiles["tile.evaluate"])
    screen = window.cases.evaluate
    assert not screen.keyboard.isVisible()
    screen.number.setFocus()
    qtbot.waitUntil(screen.keyboard.isVisible)
    assert screen.current is screen.number and not screen.keyboard.mode_key.isEnabled()
    screen.clear()
    assert not screen.keyboard.isVisible()
