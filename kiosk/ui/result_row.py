"""One tappable row of a list of items: the name (matched part highlighted) and a second line."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from kiosk.ui.theme import HIGHLIGHT_BG, TOUCH_MIN


def highlighted(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """Rich text of ``text`` with the character ranges in ``spans`` marked; the rest escaped."""
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(escape(text[pos:start]))
        out.append(f'<span style="background:{HIGHLIGHT_BG}">{escape(text[start:end])}</span>')
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


class ResultRow(QFrame):
    chosen = Signal(str)

    def __init__(self, code: str, name: str, name_spans: tuple, meta: str, meta_spans: tuple) -> None:
        super().__init__()
        self.code = code
        self.setObjectName("resultRow")
        self.setMinimumHeight(TOUCH_MIN + 30)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        self.name_label = QLabel(highlighted(name, name_spans))
        self.name_label.setObjectName("resultName")
        self.name_label.setTextFormat(Qt.TextFormat.RichText)
        self.name_label.setWordWrap(True)
        layout.addWidget(self.name_label)
        if meta:
            self.meta_label = QLabel(highlighted(meta, meta_spans))
            self.meta_label.setObjectName("resultMeta")
            self.meta_label.setTextFormat(Qt.TextFormat.RichText)
            self.meta_label.setWordWrap(True)
            layout.addWidget(self.meta_label)
        self._pressed_at = None

    # A tap, not a drag: kinetic scrolling also sends press/release, so compare positions.
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pressed_at = event.position()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        start, self._pressed_at = self._pressed_at, None
        if start is not None and (event.position() - start).manhattanLength() < 30:
            self.chosen.emit(self.code)
