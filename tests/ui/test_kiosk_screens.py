"""The visitor's screens, driven offscreen with pytest-qt against a real store."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kiosk import catalog
from kiosk.config import Config
from kiosk.store import open_store
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.services import Services
from kiosk.ui.theme import TOUCH_MIN
from kiosk.ui.worker import StoreWorker


@pytest.fixture
def window(qtbot, tmp_path, sample_bundle):
    def open_db():
        db = open_store(tmp_path / "kiosk.db")
        catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
        return db

    worker = StoreWorker(open_db)
    w = KioskWindow(Services(worker), Config(fullscreen=False))
    qtbot.addWidget(w)
    w.show()
    yield w
    worker.shutdown()


def tap(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_tap_keyboard_yyzz_and_open_the_guide(qtbot, window):
    """GIVEN the home screen WHEN a visitor taps Search, types y-y-z-z on the on-screen keyboard
    and taps the first result THEN the guide of a 营业执照 item opens."""
    tap(qtbot, window.home.tiles["tile.search"])
    assert window.stack.currentWidget() is window.search
    for ch in "yyzz":
        tap(qtbot, window.search.keyboard.keys[ch])
    assert window.search.field.text() == "yyzz"
    qtbot.waitUntil(lambda: window.search.answered_query == "yyzz" and bool(window.search.rows))
    first = window.search.rows[0]
    assert "营业执照" in first.name_label.text().replace("</span>", "").split(">")[-1] or \
        "营业执照" in window.search.hits[0].name
    qtbot.mouseClick(first, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    assert "营业执照" in window.guide.item["name"]["zh-Hans"]
    assert window.guide.material_boxes


def test_keyboard_delete_and_clear(qtbot, window):
    tap(qtbot, window.home.tiles["tile.search"])
    for ch in "abc":
        tap(qtbot, window.search.keyboard.keys[ch])
    tap(qtbot, window.search.keyboard.delete)
    assert window.search.field.text() == "ab"
    tap(qtbot, window.search.keyboard.clear_key)
    assert window.search.field.text() == ""


def test_no_result_says_so_in_the_visitors_language(qtbot, window):
    window.set_language("en")
    tap(qtbot, window.home.tiles["tile.search"])
    for ch in "qqqqxz":
        tap(qtbot, window.search.keyboard.keys[ch])
    qtbot.waitUntil(lambda: window.search.answered_query == "qqqqxz")
    assert window.search.rows == []
    assert "Nothing found" in window.search.status.text()


def test_browse_department_to_guide(qtbot, window, sample_bundle):
    tap(qtbot, window.home.tiles["tile.guides"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.departments)
    assert len(window.departments.buttons) == len(sample_bundle["departments"])
    tap(qtbot, window.departments.buttons[0])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.item_list)
    row = window.item_list.rows[0]
    qtbot.mouseClick(row, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    assert window.guide.item["code"] == row.code
    tap(qtbot, window.back_button)
    assert window.stack.currentWidget() is window.item_list
    tap(qtbot, window.home_button)
    assert window.stack.currentWidget() is window.home


def test_language_switch_rerenders_every_screen(qtbot, window, sample_bundle):
    item = sample_bundle["items"][0]
    window.open_item(item["code"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    assert window.guide.title.text() == item["name"]["zh-Hans"]
    tap(qtbot, window.language_buttons["zh-Hant"])
    assert window.guide.title.text() == item["name"]["zh-Hant"]
    tap(qtbot, window.language_buttons["en"])
    assert window.guide.title.text() == item["name"]["en"]
    assert window.back_button.text().endswith("Back")
    assert window.home.welcome.text().startswith("Welcome")


def quick_idle(window):
    """Idle after 300 ms and count down in 10 x 20 ms, so the idle tests take a second."""
    window.idle.idle_timer.setInterval(300)
    window.idle.tick_timer.setInterval(20)


def test_idle_reset_wipes_the_visitor(qtbot, window):
    """GIVEN a visitor who typed a query, switched to English and large text WHEN nobody touches
    the screen for the idle time plus the countdown THEN home, default language, nothing kept."""
    quick_idle(window)
    tap(qtbot, window.home.tiles["tile.search"])
    for ch in "yyzz":
        tap(qtbot, window.search.keyboard.keys[ch])
    qtbot.waitUntil(lambda: bool(window.search.rows))
    window.set_language("en")
    window.set_large_text(True)
    with qtbot.waitSignal(window.idle.countdown_started, timeout=3000):
        pass
    assert window.countdown.isVisible()
    with qtbot.waitSignal(window.idle.timed_out, timeout=3000):
        pass
    assert window.stack.currentWidget() is window.home
    assert window.search.field.text() == ""
    assert window.search.hits == [] and window.search.rows == []
    assert window.guide.item is None
    assert window.lang == "zh-Hans" and not window.large_text
    assert not window.countdown.isVisible()


def test_a_touch_during_the_countdown_keeps_the_visitor(qtbot, window):
    quick_idle(window)
    tap(qtbot, window.home.tiles["tile.search"])
    tap(qtbot, window.search.keyboard.keys["a"])
    with qtbot.waitSignal(window.idle.countdown_started, timeout=3000):
        pass
    tap(qtbot, window.countdown.stay)
    assert not window.countdown.isVisible()
    assert window.stack.currentWidget() is window.search
    assert window.search.field.text() == "a"


def test_home_is_not_guarded(qtbot, window):
    assert not window.idle.active


def test_touch_targets_are_big_enough(qtbot, window):
    tap(qtbot, window.home.tiles["tile.search"])
    buttons = [*window.search.keyboard.keys.values(), window.back_button, window.home_button,
               *window.language_buttons.values(), window.large_button, *window.home.tiles.values()]
    for button in buttons:
        size = button.sizeHint().expandedTo(button.minimumSize())
        assert size.height() >= TOUCH_MIN, button.text()


def test_coming_soon_tile_tells_the_visitor_where_to_go(qtbot, window):
    tap(qtbot, window.home.tiles["tile.ticket"])
    assert "窗口" in window.home.hint.text()


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
def test_every_screen_fits_a_portrait_kiosk(qtbot, window, sample_bundle, lang):
    """No text in any language, large or not, may push the window past 1080 pixels wide."""
    window.set_language(lang)
    longest = max(sample_bundle["items"], key=lambda i: len(str(i["guide"])))
    window.open_item(longest["code"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    for large in (False, True):
        window.set_large_text(large)
        for screen in window.screens:
            window.stack.setCurrentWidget(screen)
            window.resize(1080, 1920)
            qtbot.wait(1)
            assert window.width() <= 1080, (screen.name_key, large)
