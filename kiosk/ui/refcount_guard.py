"""Keep PySide6 6.12 from freeing None and True on Python 3.11.

PySide6 6.12.0's abi3 wheels return ``None`` from every void method and ``True`` from
``Signal.emit()`` without taking a reference — harmless on Python 3.12+, where those singletons
are immortal, but on Python 3.11 (this project's Debian 12) each call takes one reference away
for good. A few thousand calls later the interpreter aborts with "Fatal Python error:
none_dealloc / bool_dealloc" (seen at exit of ``kiosk demo --screenshots``; a display polling
all day would hit it while running). Measured: 1,000 ``QLabel.setText`` calls = -1,000
references to None; 100 ``emit`` calls = -100 to True.

:func:`guard` checks for the leak with a plain QObject and, only when it is there, does what
Python 3.12 does: it makes None, True and False immortal, by adding 2**40 to their reference
counts (they are never freed anyway; nothing else changes). Imported by ``kiosk.ui`` itself, so
every screen, every test and every mode is covered before the first Qt call.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

GUARD = 1 << 40
_applied = False


def leaks_singletons() -> bool:
    """True when PySide6 takes references from None or True that it never gave."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(16):
        probe.setObjectName("probe")
        probe.ping.emit()
    none_lost = none_before - sys.getrefcount(None)
    true_lost = true_before - sys.getrefcount(True)
    return none_lost >= 16 or true_lost >= 16


def guard() -> bool:
    """Make None, True and False immortal if (and only if) PySide6 leaks them; True if done."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if not leaks_singletons():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object; id() is its address.
        ctypes.c_ssize_t.from_address(id(singleton)).value += GUARD
    _applied = True
    log.debug("PySide6 leaks references to None/True on this Python: made them immortal")
    return True
