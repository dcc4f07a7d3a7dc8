"""What every screen shares: language switching, wiping visitor data, touch scrolling."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QScroller, QWidget

from kiosk.i18n import tr


class Screen(QWidget):
    """A full-screen page. Subclasses re-render their text in set_language()."""

    #: key of the screen's name in ui.json (for the window title and screenshots)
    name_key = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = "zh-Hans"

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.retranslate()

    def retranslate(self) -> None:
        """Re-render every text in self.lang."""

    def clear(self) -> None:
        """Forget whatever the visitor entered or looked at (idle reset)."""

    def t(self, key: str, **values: object) -> str:
        return tr(key, self.lang, **values)


def clear_layout(layout) -> None:
    """Remove and delete every widget in ``layout`` now, not at the next event-loop turn.

    deleteLater() alone leaves the old widgets painted until the loop runs deferred deletes,
    which a grab() or a quick test never does; hiding them first makes the change immediate.
    """
    while layout.count():
        entry = layout.takeAt(0)
        widget = entry.widget()
        if widget is not None:
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        elif entry.layout() is not None:
            clear_layout(entry.layout())


def touch_scroll_area(content: QWidget) -> QScrollArea:
    """A scroll area that scrolls by dragging a finger, with kinetic flick."""
    area = QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    QScroller.grabGesture(area.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture)
    return area


def title_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("screenTitle")
    label.setWordWrap(True)
    return label


def wrapped(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    if object_name:
        label.setObjectName(object_name)
    return label


def list_button(text: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("listButton")
    return button
