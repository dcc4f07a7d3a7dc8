"""A checklist row whose text wraps (QCheckBox never wraps) and whose whole area is the target."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel

from kiosk.ui.theme import TOUCH_MIN


class CheckRow(QFrame):
    toggled = Signal(bool)

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setObjectName("material")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumHeight(TOUCH_MIN)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 10, 16, 10)
        row.setSpacing(18)
        self.box = QCheckBox()
        self.box.toggled.connect(self.toggled)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        row.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)

    def isChecked(self) -> bool:  # noqa: N802 (mirrors QCheckBox)
        return self.box.isChecked()

    def setChecked(self, on: bool) -> None:  # noqa: N802
        self.box.setChecked(on)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.rect().contains(event.position().toPoint()):
            self.box.toggle()
