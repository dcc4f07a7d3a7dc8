"""Our own touch keypad: letters for pinyin and English, digits, space, delete, clear.

Search needs no input method: the index understands pinyin and initials, so a visitor types
"yyzz" or "yingye" and sees 营业执照. (Forms with Chinese names will use Qt Virtual Keyboard's
pinyin input, which the PySide6 wheel ships.)
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget

from kiosk.i18n import tr
from kiosk.ui.theme import TOUCH_MIN

ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]


class TouchKeyboard(QWidget):
    key_pressed = Signal(str)      # one character
    backspace = Signal()
    cleared = Signal()

    def __init__(self) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setSpacing(10)
        grid.setContentsMargins(0, 0, 0, 0)
        self.keys: dict[str, QPushButton] = {}
        # 20 half-columns so rows can be offset by half a key like a real keyboard.
        for r, row in enumerate(ROWS):
            offset = {0: 0, 1: 0, 2: 1, 3: 2}[r]
            for c, ch in enumerate(row):
                key = self._key(ch.upper() if ch.isalpha() else ch, "key")
                key.clicked.connect(lambda _=False, ch=ch: self.key_pressed.emit(ch))
                grid.addWidget(key, r, offset + c * 2, 1, 2)
                self.keys[ch] = key
        self.space = self._key("", "keyWide")
        self.space.clicked.connect(lambda: self.key_pressed.emit(" "))
        self.delete = self._key("", "keyWide")
        self.delete.clicked.connect(self.backspace)
        self.clear_key = self._key("", "keyWide")
        self.clear_key.clicked.connect(self.cleared)
        grid.addWidget(self.delete, 3, 16, 1, 4)
        grid.addWidget(self.clear_key, 4, 0, 1, 5)
        grid.addWidget(self.space, 4, 5, 1, 15)
        self.keys[" "] = self.space
        self.set_language("zh-Hans")

    def _key(self, label: str, name: str) -> QPushButton:
        key = QPushButton(label)
        key.setObjectName(name)
        key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        key.setMinimumHeight(TOUCH_MIN)
        return key

    def set_language(self, lang: str) -> None:
        self.space.setText(tr("keyboard.space", lang))
        self.delete.setText(tr("keyboard.delete", lang))
        self.clear_key.setText(tr("keyboard.clear", lang))
