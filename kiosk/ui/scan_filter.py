"""Keyboard-wedge scans from any screen: an application-wide key filter around WedgeDetector.

Printable keys and Enter are held back briefly and fed to the detector with their time. A fast
burst ending in Enter becomes ``scanned(code)`` and its keys never reach the focused widget;
keys a person typed are delivered to where they were going, late by at most the detector's
``max_gap`` (50 ms by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from kiosk.devices.scanner import Scanned, Typed, WedgeDetector


class ScanFilter(QObject):
    """Install with ``QApplication.instance().installEventFilter(filter)``."""

    scanned = Signal(str)

    def __init__(self, detector: WedgeDetector, clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.detector, self.clock = detector, clock
        self._held: list[tuple[QObject, int, Qt.KeyboardModifier, str]] = []
        self._replaying = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if self._replaying or event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            char = "\r"
        elif event.text() and event.text().isprintable() and not (
                event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                     | Qt.KeyboardModifier.AltModifier)):
            char = event.text()
        else:
            return False  # arrows, shortcuts: never a scanner's
        self._held.append((obj, event.key(), event.modifiers(), event.text()))
        self._handle(self.detector.feed(char, self.clock()))
        self._timer.start(int(self.detector.max_gap * 1000) + 5)
        return True

    def _flush(self) -> None:
        self._handle(self.detector.flush(self.clock()))
        if self.detector.holding:
            self._timer.start(int(self.detector.max_gap * 1000) + 5)

    def _handle(self, results: list[Scanned | Typed]) -> None:
        for result in results:
            if isinstance(result, Scanned):
                del self._held[:len(result.code) + 1]  # the code and its Enter
                self.scanned.emit(result.code)
            else:
                count = len(result.text) + (1 if result.enter else 0)
                events, self._held = self._held[:count], self._held[count:]
                self._replay(events)

    def _replay(self, events: list[tuple[QObject, int, Qt.KeyboardModifier, str]]) -> None:
        self._replaying = True
        try:
            for target, key, modifiers, text in events:
                for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    QApplication.sendEvent(target, QKeyEvent(kind, key, modifiers, text))
        finally:
            self._replaying = False
