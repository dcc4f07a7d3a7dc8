"""Our own touch keypad: letters for pinyin and English, digits, space, delete, clear.

Search needs no input method: the index understands pinyin and initials, so a visitor types
"yyzz" or "yingye" and sees 营业执照. Forms need Chinese characters (a name typed by a visitor
without an ID card), so a keypad made with ``pinyin=True`` has a 拼音/英文 key and a candidate
bar: letters gather there, kiosk.pinyin_input offers characters page by page, a tap types one.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QSizePolicy, QWidget

from kiosk import pinyin_input
from kiosk.i18n import tr
from kiosk.ui.theme import TOUCH_MIN

ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]
PAGE = 7  # candidates a page: with the letters and ◀ ▶ they fit a 1080-wide portrait panel



_table_started = threading.Event()


def _build_pinyin_table_aside() -> None:
    """Build the pinyin table (pypinyin's import and ~0.2 s of work) in a thread, once, when a
    keyboard that needs it is first shown: not at the visitor's first letter, and not while
    the kiosk starts (it held the GIL for ~0.4 s of the start-up)."""
    if not _table_started.is_set():
        _table_started.set()
        threading.Thread(target=pinyin_input.table, name="pinyin-table", daemon=True).start()

class TouchKeyboard(QWidget):
    key_pressed = Signal(str)      # one character
    backspace = Signal()
    cleared = Signal()

    def __init__(self, *, pinyin: bool = False) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setSpacing(8 if pinyin else 10)  # one row more must still fit 1080 px
        grid.setContentsMargins(0, 0, 0, 0)
        self.keys: dict[str, QPushButton] = {}
        self.lang = ""
        self.letters = ""  # pinyin typed and not yet turned into characters
        self.page = 0
        self.chinese = False  # letters go to the candidate bar, not the field
        self.chinese_allowed = pinyin
        self.mode_key: QPushButton | None = None
        self.composing: QPushButton | None = None
        self.candidate_keys: list[QPushButton] = []
        first_row = 1 if pinyin else 0
        if pinyin:
            grid.addLayout(self._candidate_bar(), 0, 0, 1, 20)
        # 20 half-columns so rows can be offset by half a key like a real keyboard.
        for r, row in enumerate(ROWS):
            offset = {0: 0, 1: 0, 2: 1, 3: 2}[r]
            for c, ch in enumerate(row):
                key = self._key(ch.upper() if ch.isalpha() else ch, "key")
                key.clicked.connect(lambda _=False, ch=ch: self._press(ch))
                grid.addWidget(key, first_row + r, offset + c * 2, 1, 2)
                self.keys[ch] = key
        self.space = self._key("", "keyWide")
        self.space.clicked.connect(lambda: self._press(" "))
        self.delete = self._key("", "keyWide")
        self.delete.clicked.connect(self._backspace)
        self.clear_key = self._key("", "keyWide")
        self.clear_key.clicked.connect(self._clear)
        last = first_row + 4
        grid.addWidget(self.delete, last - 1, 16, 1, 4)
        if pinyin:
            self.mode_key = self._key("", "keyWide")
            self.mode_key.setCheckable(True)
            self.mode_key.clicked.connect(lambda: self.set_chinese(not self.chinese))
            grid.addWidget(self.clear_key, last, 0, 1, 4)
            grid.addWidget(self.mode_key, last, 4, 1, 4)
            grid.addWidget(self.space, last, 8, 1, 12)
        else:
            grid.addWidget(self.clear_key, last, 0, 1, 5)
            grid.addWidget(self.space, last, 5, 1, 15)
        self.keys[" "] = self.space
        self.setStyleSheet("#candidate { font-size: 44px; font-weight: normal; padding: 0; }"
                           " #composing { font-size: 26px; padding: 0 8px; }"
                           " #keyWide:checked { background: #0b4f9c; color: white; }")
        self.set_language("zh-Hans")

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.chinese_allowed:
            _build_pinyin_table_aside()

    def _candidate_bar(self) -> QHBoxLayout:
        """Letters typed so far (a tap types them as they are), a page of characters, ◀ ▶."""
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.composing = self._key("", "composing")
        self.composing.setMinimumWidth(220)
        self.composing.clicked.connect(self._commit_letters)
        bar.addWidget(self.composing, 3)
        for n in range(PAGE):
            key = self._key("", "candidate")
            key.clicked.connect(lambda _=False, n=n: self.pick(self.page * PAGE + n))
            bar.addWidget(key, 1)
            self.candidate_keys.append(key)
        self.prev_page = self._key("◀", "keyWide")
        self.prev_page.clicked.connect(lambda: self._turn(-1))
        self.next_page = self._key("▶", "keyWide")
        self.next_page.clicked.connect(lambda: self._turn(1))
        for key in (self.prev_page, self.next_page):
            key.setMinimumWidth(TOUCH_MIN)
            bar.addWidget(key, 1)
        return bar

    # --- pinyin -------------------------------------------------------------------------------

    def set_chinese(self, on: bool) -> None:
        """Pinyin mode on or off (off while the field takes no Chinese, e.g. an ID number)."""
        self.chinese = on and self.chinese_allowed
        self.letters = ""
        self._show_candidates()

    def allow_chinese(self, allowed: bool) -> None:
        """Whether the field being typed into takes Chinese; pending letters are dropped."""
        if self.mode_key is None:
            return
        self.chinese_allowed = allowed
        self.mode_key.setEnabled(allowed)
        self.set_chinese(allowed and self.lang != "en")

    def candidates(self) -> tuple[str, ...]:
        return pinyin_input.suggest(self.letters).characters if self.letters else ()

    def pick(self, index: int) -> None:
        """Type candidate ``index`` of the current letters; the letters after its syllable stay."""
        chars = self.candidates()
        if not 0 <= index < len(chars):
            return
        rest = pinyin_input.suggest(self.letters).rest
        self.key_pressed.emit(chars[index])
        self.letters, self.page = rest, 0
        self._show_candidates()

    def _press(self, ch: str) -> None:
        if self.chinese and ch.isalpha():
            self.letters = (self.letters + ch)[:30]
            self.page = 0
            self._show_candidates()
        elif self.chinese and ch == " " and self.letters:
            self.pick(self.page * PAGE)  # space takes the first candidate shown, as in any IME
        else:
            self.key_pressed.emit(ch)

    def _backspace(self) -> None:
        if self.letters:
            self.letters, self.page = self.letters[:-1], 0
            self._show_candidates()
        else:
            self.backspace.emit()

    def _clear(self) -> None:
        self.letters, self.page = "", 0
        self._show_candidates()
        self.cleared.emit()

    def _commit_letters(self) -> None:
        for ch in self.letters:
            self.key_pressed.emit(ch)
        self.letters = ""
        self._show_candidates()

    def _turn(self, step: int) -> None:
        pages = max(1, -(-len(self.candidates()) // PAGE))
        self.page = min(max(0, self.page + step), pages - 1)
        self._show_candidates()

    def _show_candidates(self) -> None:
        if self.composing is None:
            return
        if self.mode_key is not None:
            self.mode_key.setChecked(self.chinese)
            self.mode_key.setText(tr("keyboard.pinyin" if self.chinese else "keyboard.latin",
                                     self.lang or "zh-Hans"))
        chars = self.candidates()
        shown = chars[self.page * PAGE:(self.page + 1) * PAGE]
        for n, key in enumerate(self.candidate_keys):
            key.setText(shown[n] if n < len(shown) else "")
            key.setEnabled(n < len(shown))
        hint = tr("keyboard.pinyin_hint", self.lang or "zh-Hans") if self.chinese else ""
        split = pinyin_input.suggest(self.letters) if self.letters else None
        # "zhang'san": the visitor sees which syllable the characters are for.
        self.composing.setText(f"{split.syllable}'{split.rest}" if split and split.rest
                               else self.letters or hint)
        self.composing.setEnabled(bool(self.letters))
        self.prev_page.setEnabled(self.page > 0)
        self.next_page.setEnabled((self.page + 1) * PAGE < len(chars))

    def _key(self, label: str, name: str) -> QPushButton:
        key = QPushButton(label)
        key.setObjectName(name)
        key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        key.setMinimumHeight(TOUCH_MIN)
        return key

    def set_language(self, lang: str) -> None:
        if lang != self.lang:  # a Chinese interface starts in pinyin, an English one in ABC
            self.lang = lang
            self.set_chinese(lang != "en")
        self.space.setText(tr("keyboard.space", lang))
        self.delete.setText(tr("keyboard.delete", lang))
        self.clear_key.setText(tr("keyboard.clear", lang))
