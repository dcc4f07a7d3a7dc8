"""PySide6 6.12 on Python 3.11 takes a reference from None on every void call and from True on
every Signal.emit(); kiosk.ui makes them immortal first (kiosk.ui.refcount_guard)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from kiosk.ui import refcount_guard


class _Pinger(QObject):
    ping = Signal(object)


def test_none_and_true_survive_many_qt_calls():
    """GIVEN the kiosk.ui package imported WHEN Qt is called 50,000 times THEN None and True
    still have references to spare (without the guard this aborted the interpreter)."""
    pinger = _Pinger()
    for _ in range(50_000):
        pinger.setObjectName("x")
        pinger.ping.emit(1)
    if refcount_guard.leaks_singletons():
        assert refcount_guard._applied
        assert sys.getrefcount(None) > refcount_guard.GUARD // 2
        assert sys.getrefcount(True) > refcount_guard.GUARD // 2
    assert sys.getrefcount(None) > 1000 and sys.getrefcount(True) > 1000
