"""Typing a Chinese name through the touch keyboard's pinyin mode into a form field."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kiosk.forms import form_for_item
from kiosk.ui import theme
from kiosk.ui.apply_form import FormScreen
from kiosk.ui.keyboard import PAGE

SHOTS = Path("/tmp/kiosk-pinyin-shots")


def tap(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def make_form(qtbot, lang="zh-Hans"):
    app = QApplication.instance()
    theme.setup_fonts(app)
    screen = FormScreen()
    screen.setStyleSheet(theme.style_sheet(False) + screen.styleSheet())
    qtbot.addWidget(screen)
    screen.set_language(lang)
    screen.show_form(form_for_item({"code": "X1", "kind": "licence"}), {}, set())
    screen.resize(1080, 1700)
    screen.show()
    return screen


def bar(screen):
    return [k.text() for k in screen.keyboard.candidate_keys if k.isEnabled()]


def test_a_name_typed_in_pinyin_lands_in_the_name_field(qtbot):
    screen = make_form(qtbot)
    kb = screen.keyboard
    name = screen.rows["name"].edit
    assert screen.current is name and kb.chinese  # Chinese interface, text field: pinyin
    for ch in "zhangsan":
        tap(qtbot, kb.keys[ch])
    assert name.text() == ""  # letters wait in the bar
    assert kb.composing.text() == "zhang'san"
    assert "张" in bar(screen)[:3] and len(bar(screen)) == PAGE
    SHOTS.mkdir(exist_ok=True)
    screen.grab().save(str(SHOTS / "pinyin-zh-Hans.png"))
    tap(qtbot, kb.candidate_keys[bar(screen).index("张")])
    assert name.text() == "张" and kb.composing.text() == "san"
    tap(qtbot, kb.candidate_keys[bar(screen).index("三")])
    assert name.text() == "张三" and kb.letters == ""

    # Paging: the second page holds the next candidates; delete works on the letters first.
    for ch in "li":
        tap(qtbot, kb.keys[ch])
    first = bar(screen)
    tap(qtbot, kb.next_page)
    assert bar(screen) and set(bar(screen)).isdisjoint(first)
    tap(qtbot, kb.prev_page)
    assert bar(screen) == first
    tap(qtbot, kb.delete)
    assert kb.letters == "l" and name.text() == "张三"
    shown = bar(screen)
    tap(qtbot, kb.space)  # space takes the first candidate
    assert name.text() == "张三" + shown[0] and kb.letters == ""
    tap(qtbot, kb.delete)
    assert name.text() == "张三"
    tap(qtbot, kb.keys["w"])
    screen.clear()  # the idle reset: letters typed and not yet picked go too
    assert kb.letters == "" and kb.composing.text() == "请输入拼音"


def test_number_fields_get_letters_and_the_mode_key_switches(qtbot):
    screen = make_form(qtbot)
    kb = screen.keyboard
    id_field = screen.rows["id_number"].edit
    id_field.setFocus()
    qtbot.waitUntil(lambda: screen.current is id_field)
    assert not kb.chinese and not kb.mode_key.isEnabled()
    for ch in "11010x":
        tap(qtbot, kb.keys[ch])
    assert id_field.text() == "11010X"

    name = screen.rows["name"].edit
    name.setFocus()
    qtbot.waitUntil(lambda: screen.current is name)
    assert kb.chinese
    tap(qtbot, kb.mode_key)  # ABC: letters go straight in (a foreign name)
    assert not kb.chinese and kb.mode_key.text() == "英文 ⇄"
    for ch in "ann":
        tap(qtbot, kb.keys[ch])
    assert name.text() == "ANN"
    tap(qtbot, kb.mode_key)
    assert kb.chinese and kb.mode_key.text() == "拼音 ⇄"


def test_english_interface_starts_in_abc_and_shots_in_each_language(qtbot):
    for lang in ("zh-Hans", "zh-Hant", "en"):
        screen = make_form(qtbot, lang)
        kb = screen.keyboard
        assert kb.chinese == (lang != "en")
        if lang == "en":
            tap(qtbot, kb.mode_key)
        for ch in "wangli":
            tap(qtbot, kb.keys[ch])
        assert bar(screen)[0] == "王"
        SHOTS.mkdir(exist_ok=True)
        screen.grab().save(str(SHOTS / f"form-pinyin-{lang}.png"))
