"""Barcode / QR scanners: keyboard-wedge burst detection, a serial scanner driver, a simulator.

A keyboard-wedge scanner types what it reads, far faster than a person, and ends with Enter.
``WedgeDetector`` is pure logic fed (character, timestamp) events: a run of keys each within
``max_gap`` seconds of the last, at least ``min_length`` long and ended by Enter, is a scan;
anything else is typing and is handed back as typed text (a person's keys are held back at most
``max_gap``). The Qt event filter that feeds it lives in kiosk.ui.scan_filter.

A serial scanner sends each code as a line (CR, LF or CR LF). ``SerialScanner`` reads lines
with pyserial; ``SimulatedScannerDevice`` is a scanner at the far end of a pseudo-terminal, so
the real driver is what the tests run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from kiosk.devices import DeviceError, DeviceState
from kiosk.devices.pty_device import PtyDevice

ENTER = ("\r", "\n")


class ScannerError(DeviceError):
    """The scanner cannot be read."""


@dataclass(frozen=True)
class Scanned:
    """A code read by a scanner."""

    code: str


@dataclass(frozen=True)
class Typed:
    """Keys a person typed, passed on unchanged (``enter`` = they pressed Enter after them)."""

    text: str
    enter: bool = False


class WedgeDetector:
    """Tells a scanner's burst of keys from a person typing. Feed every key with its time."""

    def __init__(self, max_gap: float = 0.05, min_length: int = 4) -> None:
        self.max_gap, self.min_length = max_gap, min_length
        self._chars: list[str] = []
        self._last: float | None = None

    def feed(self, char: str, t: float) -> list[Scanned | Typed]:
        """One key at time ``t`` (seconds). Returns what is decided by it, oldest first."""
        out: list[Scanned | Typed] = []
        fast = self._last is not None and t - self._last <= self.max_gap
        if self._chars and not fast:
            out.append(Typed("".join(self._chars)))  # the run broke: it was a person
            self._chars.clear()
        self._last = t
        if char in ENTER:
            if len(self._chars) >= self.min_length:
                out.append(Scanned("".join(self._chars)))
            else:
                out.append(Typed("".join(self._chars), enter=True))
            self._chars.clear()
            return out
        self._chars.append(char)
        return out

    def flush(self, now: float) -> list[Scanned | Typed]:
        """Release held keys once no key followed within ``max_gap`` (call from a timer)."""
        if self._chars and self._last is not None and now - self._last > self.max_gap:
            text = "".join(self._chars)
            self._chars.clear()
            return [Typed(text)]
        return []

    @property
    def holding(self) -> bool:
        return bool(self._chars)


class WedgeScanner:
    """The configured keyboard-wedge scanner: no port and no status of its own; the screens'
    key filter does the work with ``detector()``."""

    name = "scanner"
    kind = "wedge"

    def __init__(self, max_gap: float = 0.05, min_length: int = 4) -> None:
        self.max_gap, self.min_length = max_gap, min_length

    def detector(self) -> WedgeDetector:
        return WedgeDetector(self.max_gap, self.min_length)

    def state(self) -> DeviceState:
        return DeviceState(self.name, self.kind, True,
                           f"keyboard wedge: scans are bursts within {self.max_gap * 1000:.0f} ms"
                           " per key (no status can be read from such a scanner)")

    def close(self) -> None:
        pass


class SerialScanner:
    """A scanner on a serial port that sends one code per line."""

    name = "scanner"

    def __init__(self, port: str, baudrate: int = 9600, *, kind: str = "serial") -> None:
        self.port, self.baudrate, self.kind = port, baudrate, kind
        self._ser: Any = None
        self._buf = bytearray()
        self._lock = threading.Lock()
        self.simulator: Any = None

    def _open(self) -> Any:
        if self._ser is None:
            import serial

            try:
                self._ser = serial.Serial(self.port, self.baudrate, timeout=0.05)
            except (serial.SerialException, ValueError, OSError) as exc:
                raise ScannerError(f"cannot open the scanner on {self.port}: {exc}") from exc
        return self._ser

    def read_code(self, timeout: float) -> str | None:
        """The next code scanned within ``timeout`` seconds, or None."""
        import serial

        deadline = time.monotonic() + timeout
        with self._lock:
            ser = self._open()
            while True:
                for sep in (b"\r\n", b"\r", b"\n"):
                    i = self._buf.find(sep)
                    if i >= 0:
                        line = bytes(self._buf[:i])
                        del self._buf[:i + len(sep)]
                        if line.strip():
                            return line.decode("utf-8", errors="replace").strip()
                        break
                else:
                    if time.monotonic() > deadline:
                        return None
                    try:
                        self._buf += ser.read(256)
                    except (serial.SerialException, OSError) as exc:
                        self.close()
                        raise ScannerError(f"the scanner on {self.port} went away: "
                                           f"{exc}") from exc
                    continue

    def state(self) -> DeviceState:
        try:
            with self._lock:
                self._open()
        except ScannerError as exc:
            return DeviceState(self.name, self.kind, False, str(exc))
        return DeviceState(self.name, self.kind, True, f"{self.port}: port open")

    def close(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(Exception):
                self._ser.close()
            self._ser = None


class SimulatedScannerDevice(PtyDevice):
    """A serial scanner at the far end of a pty: ``scan(code)`` sends it as a line."""

    def __init__(self, terminator: bytes = b"\r\n") -> None:
        self.terminator = terminator
        super().__init__("sim-scanner")

    def scan(self, code: str) -> None:
        self.send(code.encode("utf-8") + self.terminator)
