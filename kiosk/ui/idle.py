"""The idle-reset guard: after the idle time, a 10-second countdown, then back home, wiped.

A visitor who walks away must not leave what they looked at or typed for the next person.
Any touch, click or key anywhere restarts the idle clock; a touch during the countdown cancels it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import tr

COUNTDOWN_S = 10
_ACTIVITY = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.TouchBegin,
    QEvent.Type.KeyPress,
    QEvent.Type.Wheel,
}


class IdleGuard(QObject):
    countdown_started = Signal()
    tick = Signal(int)          # seconds left
    timed_out = Signal()

    def __init__(self, idle_ms: int, tick_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.idle_timer = QTimer(self, singleShot=True, interval=idle_ms)
        self.idle_timer.timeout.connect(self._start_countdown)
        self.tick_timer = QTimer(self, interval=tick_ms)
        self.tick_timer.timeout.connect(self._tick)
        self.left = 0
        self.active = False
        QApplication.instance().installEventFilter(self)

    def set_active(self, active: bool) -> None:
        """Only screens away from home need guarding; home has nothing to wipe."""
        self.active = active
        self.cancel()
        if active:
            self.idle_timer.start()

    @property
    def counting(self) -> bool:
        return self.tick_timer.isActive()

    def cancel(self) -> None:
        self.tick_timer.stop()
        self.idle_timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.active and event.type() in _ACTIVITY:
            counting = self.counting
            self.cancel()
            self.idle_timer.start()
            if counting:
                self.tick.emit(-1)  # countdown cancelled
        return False

    def _start_countdown(self) -> None:
        self.left = COUNTDOWN_S
        self.countdown_started.emit()
        self.tick.emit(self.left)
        self.tick_timer.start()

    def _tick(self) -> None:
        self.left -= 1
        if self.left > 0:
            self.tick.emit(self.left)
            return
        self.tick_timer.stop()
        self.tick.emit(-1)
        self.timed_out.emit()


class CountdownOverlay(QWidget):
    """Dims the screen and shows the seconds left, with a big button to stay."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("countdown")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        outer = QVBoxLayout(self)
        box = QWidget()
        box.setObjectName("countdownBox")
        box.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        box.setMaximumWidth(900)
        inner = QVBoxLayout(box)
        inner.setContentsMargins(40, 40, 40, 40)
        inner.setSpacing(24)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number = QLabel()
        self.number.setObjectName("countdownNumber")
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stay = QPushButton()
        inner.addWidget(self.message)
        inner.addWidget(self.number)
        inner.addWidget(self.stay)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.hide()

    def show_seconds(self, seconds: int, lang: str) -> None:
        if seconds < 0:
            self.hide()
            return
        self.message.setText(tr("idle.message", lang))
        self.stay.setText(tr("idle.stay", lang))
        self.number.setText(str(seconds))
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()
