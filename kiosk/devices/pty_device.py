"""A pseudo-terminal with a device thread on its far end, for simulated serial hardware.

The real serial driver opens ``port`` (the pty's slave side) with pyserial exactly as it would
open /dev/ttyUSB0; the simulated device reads and writes the master side in its own thread. So
the code under test is the real driver, byte for byte. POSIX only (os.openpty).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty


class PtyDevice:
    """Subclasses implement ``on_bytes(data)`` and call ``send(data)`` to answer."""

    def __init__(self, name: str = "pty-device") -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes pass as they are
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            if data:
                self.on_bytes(data)

    def on_bytes(self, data: bytes) -> None:
        """Bytes the driver wrote."""

    def send(self, data: bytes) -> None:
        """Bytes towards the driver."""
        with self._write_lock:
            view = memoryview(data)
            while view:
                written = os.write(self._master, view)
                view = view[written:]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
