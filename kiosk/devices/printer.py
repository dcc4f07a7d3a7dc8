"""The receipt printer: ESC/POS bytes from a receipt, one transport primitive, honest status.

Bytes are built with python-escpos (a ``Dummy`` printer collects them: styles, images, QR, cut)
except Chinese text, which goes as GB18030/GBK inside Chinese mode (FS & ... FS .), because
python-escpos sends CJK without entering that mode (see PLATFORM-NOTES). Models that have no
Chinese font get the receipt as a raster image instead; which model does what lives in
resources/printers.json. A ``Transport`` only opens, writes, reads and closes: network (raw TCP,
port 9100), serial (pyserial), USB (pyusb, loaded lazily) and CUPS ``lp``; the simulated twin is
in printer_sim.py.

Printing asks the real-time status (DLE EOT: online, cover, paper) before and after sending and
trusts only answers it received: no answer is "unknown", never "fine".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from kiosk import receipts
from kiosk.devices import DeviceConfigError, DeviceError, DeviceState
from kiosk.resources import RESOURCES


def _escpos_cache_dir() -> str:
    # python-escpos parses its 1 MB capabilities file on every import (~140 ms) unless told
    # where to keep the parsed copy; by default it picks a new temporary directory each time.
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kiosk" / "escpos"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        base = Path(tempfile.gettempdir())
    return str(base)


os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", _escpos_cache_dir())

from escpos.constants import QR_ECLEVEL_M  # noqa: E402  (after the cache directory is set)
from escpos.printer import Dummy  # noqa: E402

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
ESC_INIT = b"\x1b\x40"
FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"
ESC_ALIGN = {"left": b"\x1b\x61\x00", "center": b"\x1b\x61\x01", "right": b"\x1b\x61\x02"}
ESC_BOLD = {False: b"\x1b\x45\x00", True: b"\x1b\x45\x01"}


# --------------------------------------------------------------------------------------------
# Errors

class PrinterError(DeviceError):
    """The printer could not print; the job stays queued and the visitor is sent to a window."""

    visitor_key = "print.failed"


class PrinterNotFound(PrinterError):
    """The printer cannot be reached (no answer at its address, port missing, cable out)."""


class PrinterNotReady(PrinterError):
    """The printer answered that it cannot print (paper out, cover open, offline) or did not
    answer the status request at all. Nothing was sent."""

    def __init__(self, message: str, status: PrinterStatus) -> None:
        super().__init__(message)
        self.status = status


class PrintIncomplete(PrinterError):
    """The job was sent but the printer then reported a fault (e.g. paper ran out during the
    receipt) or stopped answering: it cannot be counted as printed."""

    def __init__(self, message: str, status: PrinterStatus) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------------
# Models (quirks as data)

@dataclass(frozen=True)
class PrinterModel:
    """How a model prints: Chinese as GB18030 text or raster, QR native or image, status."""

    name: str
    description: str
    text_mode: str  # gb18030 | raster
    encoding: str  # gb18030 | gbk (for text mode)
    native_qr: bool
    escpos_profile: str
    widths: dict[int, tuple[int, int]]  # paper mm -> (dots, columns)
    status: bool  # answers DLE EOT

    def width(self, paper_mm: int) -> tuple[int, int]:
        """(dots, columns) for ``paper_mm``; refuses a width this model does not take."""
        if paper_mm not in self.widths:
            raise DeviceConfigError(
                f"printer model {self.name} takes {', '.join(map(str, self.widths))} mm paper, "
                f"not {paper_mm} mm (printer.paper_mm)")
        return self.widths[paper_mm]


@cache
def load_models() -> dict[str, PrinterModel]:
    """Every model in resources/printers.json."""
    data = json.loads((RESOURCES / "printers.json").read_text(encoding="utf-8"))
    models = {}
    for name, m in data["models"].items():
        models[name] = PrinterModel(
            name, m["description"], m["text_mode"], m["encoding"], bool(m["native_qr"]),
            m["escpos_profile"],
            {int(mm): (int(w["dots"]), int(w["columns"])) for mm, w in m["widths"].items()},
            bool(m["status"]))
    return models


def load_model(name: str) -> PrinterModel:
    models = load_models()
    if name not in models:
        raise DeviceConfigError(f"printer.model {name!r} is not in resources/printers.json; "
                                f"known: {', '.join(models)}")
    return models[name]


# --------------------------------------------------------------------------------------------
# Rendering: receipt -> ESC/POS bytes

def _size_byte(size: int) -> bytes:
    return b"\x1d\x21" + bytes([((size - 1) << 4) | (size - 1)])


def encode_text(text: str, encoding: str) -> bytes:
    """A text run as the printer receives it: ASCII as is, anything else inside Chinese mode."""
    text = receipts.normalise_text(text)
    if text.isascii():
        return text.encode("ascii")
    return FS_CHINESE_ON + text.encode(encoding, errors="replace") + FS_CHINESE_OFF


def _centered(img: Image.Image, dots: int) -> Image.Image:
    page = Image.new("1", (dots, img.height), 1)
    page.paste(img, ((dots - img.width) // 2, 0))
    return page


def render(doc: receipts.Document, model: PrinterModel, paper_mm: int) -> bytes:
    """The exact bytes for ``doc`` on ``model`` with ``paper_mm`` paper, cut included."""
    dots, columns = model.width(paper_mm)
    out = Dummy(profile=model.escpos_profile)
    out._raw(ESC_INIT)
    rows = receipts.layout(doc, columns)
    module = receipts.qr_module_dots(dots)
    if model.text_mode == "raster":
        # The receipt as images; a native QR, where the model has one, between image blocks.
        block: list[receipts.Row] = []
        for row in rows + [receipts.Row("end")]:
            if row.kind in ("qr", "end") and (model.native_qr or row.kind == "end"):
                if block:
                    out.image(receipts.render_rows(block, dots), impl="bitImageRaster")
                    block = []
                if row.kind == "qr":
                    out._raw(ESC_ALIGN["center"])
                    out.qr(row.text, ec=QR_ECLEVEL_M, size=module, native=True)
                    out._raw(b"\n" + ESC_ALIGN["left"])
            else:
                block.append(row)
    else:
        align, bold, size = "left", False, 1
        for row in rows:
            if row.kind == "text":
                if row.align != align:
                    out._raw(ESC_ALIGN[row.align])
                    align = row.align
                if row.bold != bold:
                    out._raw(ESC_BOLD[row.bold])
                    bold = row.bold
                if row.size != size:
                    out._raw(_size_byte(row.size))
                    size = row.size
                out._raw(encode_text(row.text, model.encoding) + b"\n")
            elif row.kind == "rule":
                if size != 1:
                    out._raw(_size_byte(1))
                    size = 1
                out._raw(b"-" * columns + b"\n")
            elif row.kind == "qr":
                if align != "center":
                    out._raw(ESC_ALIGN["center"])
                    align = "center"
                if model.native_qr:
                    out.qr(row.text, ec=QR_ECLEVEL_M, size=module, native=True)
                    out._raw(b"\n")
                else:
                    out.image(_centered(receipts.qr_image(row.text, module), dots),
                              impl="bitImageRaster")
            elif row.kind == "feed":
                out._raw(b"\n" * row.size)
        # Leave the printer in its default style for whatever prints next.
        if (align, bold, size) != ("left", False, 1):
            out._raw(ESC_ALIGN["left"] + ESC_BOLD[False] + _size_byte(1))
    out.cut()
    return out.output


# --------------------------------------------------------------------------------------------
# Status (DLE EOT n): each answer is one byte with bits 1 and 4 set and bits 0 and 7 clear.

@dataclass(frozen=True)
class PrinterStatus:
    """Real-time status. ``answered`` False means the printer did not answer (or cannot):
    nothing else in it may be believed."""

    answered: bool
    online: bool = False
    cover_open: bool = False
    paper: str = "unknown"  # ok | near_end | out | unknown
    error: bool = False
    detail: str = ""

    @property
    def ready(self) -> bool:
        return (self.answered and self.online and not self.cover_open and not self.error
                and self.paper in ("ok", "near_end"))

    def describe(self) -> str:
        """One line for the admin screen and the log."""
        if not self.answered:
            return self.detail or "no status answer"
        problems = []
        if self.paper == "out":
            problems.append("paper out")
        if self.cover_open:
            problems.append("cover open")
        if self.error:
            problems.append("printer error")
        if not self.online and not problems:
            problems.append("offline")
        if problems:
            return ", ".join(problems)
        return "ready, paper near end" if self.paper == "near_end" else "ready"


def _valid_status_byte(b: int) -> bool:
    return b & 0x93 == 0x12


def parse_status(online: int, cause: int, paper: int) -> PrinterStatus:
    """Decode DLE EOT 1 (printer), 2 (offline cause) and 4 (paper sensor) answers."""
    if not all(_valid_status_byte(b) for b in (online, cause, paper)):
        return PrinterStatus(False, detail=f"garbled status bytes {online:02x} {cause:02x} "
                                           f"{paper:02x}")
    paper_state = "out" if paper & 0x60 else "near_end" if paper & 0x0C else "ok"
    if cause & 0x20:
        paper_state = "out"  # "printing stopped by paper end" beats the roll sensor
    return PrinterStatus(True, online=not online & 0x08, cover_open=bool(cause & 0x04),
                         paper=paper_state, error=bool(cause & 0x40))


# --------------------------------------------------------------------------------------------
# Transports: open, write, read, close. Nothing else.

class Transport(ABC):
    """One way to reach a printer. ``readable`` False: the printer can never answer (lp)."""

    kind = "?"
    readable = True

    @staticmethod
    def unusable_reason() -> str | None:
        """Why this transport cannot work on this machine (missing library/command), or None."""
        return None

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    def read(self, n: int, timeout: float) -> bytes:
        """Up to ``n`` bytes, waiting at most ``timeout`` seconds; b"" when nothing came."""

    @abstractmethod
    def close(self) -> None: ...

    def describe(self) -> str:
        return self.kind


class NetworkTransport(Transport):
    """Raw TCP (JetDirect, port 9100)."""

    kind = "network"

    def __init__(self, host: str, port: int = 9100, timeout: float = 3.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None

    def open(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise PrinterNotFound(f"no printer answers at {self.host}:{self.port}: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        assert self._sock is not None, "open() first"
        self._sock.settimeout(self.timeout)
        self._sock.sendall(data)

    def read(self, n: int, timeout: float) -> bytes:
        assert self._sock is not None, "open() first"
        self._sock.settimeout(max(timeout, 0.001))
        try:
            return self._sock.recv(n)
        except (TimeoutError, BlockingIOError):
            return b""

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None

    def describe(self) -> str:
        return f"network {self.host}:{self.port}"


class SerialTransport(Transport):
    """A printer on a serial port (pyserial)."""

    kind = "serial"

    def __init__(self, port: str, baudrate: int = 9600, timeout: float = 3.0) -> None:
        self.port, self.baudrate, self.timeout = port, baudrate, timeout
        self._ser: Any = None

    def open(self) -> None:
        import serial

        try:
            self._ser = serial.Serial(self.port, self.baudrate, timeout=self.timeout,
                                      write_timeout=self.timeout * 10)
        except (serial.SerialException, ValueError) as exc:
            raise PrinterNotFound(f"cannot open the printer port {self.port}: {exc}") from exc

    def write(self, data: bytes) -> None:
        self._ser.write(data)
        self._ser.flush()

    def read(self, n: int, timeout: float) -> bytes:
        self._ser.timeout = timeout
        return bytes(self._ser.read(n))

    def close(self) -> None:
        if self._ser is not None:
            self._ser.close()
            self._ser = None

    def describe(self) -> str:
        return f"serial {self.port} @{self.baudrate}"


class UsbTransport(Transport):
    """A USB printer class device through libusb (pyusb), found by vendor and product id."""

    kind = "usb"

    def __init__(self, vendor_id: int, product_id: int, timeout: float = 3.0) -> None:
        self.vendor_id, self.product_id, self.timeout = vendor_id, product_id, timeout
        self._dev: Any = None
        self._out: Any = None
        self._in: Any = None

    @staticmethod
    def unusable_reason() -> str | None:
        try:
            import usb.backend.libusb1
        except ImportError:
            return "pyusb is not installed"
        if usb.backend.libusb1.get_backend() is None:
            return "libusb-1.0 is not installed (apt libusb-1.0-0)"
        return None

    def open(self) -> None:
        if reason := self.unusable_reason():
            raise PrinterNotFound(f"USB printing unavailable: {reason}")
        import usb.core
        import usb.util

        dev = usb.core.find(idVendor=self.vendor_id, idProduct=self.product_id)
        if dev is None:
            raise PrinterNotFound(f"no USB printer {self.vendor_id:04x}:{self.product_id:04x} "
                                  "is plugged in")
        try:
            if dev.is_kernel_driver_active(0):
                dev.detach_kernel_driver(0)  # usblp holds it otherwise
            dev.set_configuration()
            intf = dev.get_active_configuration()[(0, 0)]
            self._out = usb.util.find_descriptor(intf, custom_match=lambda e: (
                usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT))
            self._in = usb.util.find_descriptor(intf, custom_match=lambda e: (
                usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN))
        except usb.core.USBError as exc:
            raise PrinterNotFound(f"USB printer cannot be claimed: {exc}") from exc
        if self._out is None:
            raise PrinterNotFound("USB printer has no output endpoint")
        self._dev = dev

    def write(self, data: bytes) -> None:
        self._out.write(data, int(self.timeout * 10_000))

    def read(self, n: int, timeout: float) -> bytes:
        import usb.core

        if self._in is None:
            return b""
        try:
            return bytes(self._in.read(max(n, self._in.wMaxPacketSize),
                                       max(1, int(timeout * 1000))))[:n]
        except usb.core.USBTimeoutError:
            return b""

    def close(self) -> None:
        if self._dev is not None:
            import usb.util

            usb.util.dispose_resources(self._dev)
            self._dev = None

    def describe(self) -> str:
        return f"usb {self.vendor_id:04x}:{self.product_id:04x}"


class LpTransport(Transport):
    """A CUPS queue through the ``lp`` command, raw. CUPS keeps the job; no status comes back."""

    kind = "lp"
    readable = False

    def __init__(self, queue: str = "", timeout: float = 10.0) -> None:
        self.queue, self.timeout = queue, timeout

    @staticmethod
    def unusable_reason() -> str | None:
        return None if shutil.which("lp") else "the lp command is missing (apt cups-client)"

    def open(self) -> None:
        if reason := self.unusable_reason():
            raise PrinterNotFound(reason)

    def write(self, data: bytes) -> None:
        cmd = ["lp", "-o", "raw"] + (["-d", self.queue] if self.queue else [])
        try:
            done = subprocess.run(cmd, input=data, capture_output=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrinterNotFound(f"lp failed: {exc}") from exc
        if done.returncode != 0:
            raise PrinterNotFound(f"lp refused the job: {done.stderr.decode(errors='replace')}")

    def read(self, n: int, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return f"lp {self.queue or '(default destination)'}"


# --------------------------------------------------------------------------------------------
# The printer

class Printer:
    """A receipt printer: one transport, one model, one paper width; one job at a time."""

    name = "printer"

    def __init__(self, transport: Transport, model: PrinterModel, paper_mm: int, *,
                 status_timeout: float = 1.0) -> None:
        model.width(paper_mm)  # refuse an impossible width now, not at the first receipt
        self.transport, self.model, self.paper_mm = transport, model, paper_mm
        self.status_timeout = status_timeout
        self._lock = threading.Lock()
        self.last_status: PrinterStatus | None = None

    @property
    def kind(self) -> str:
        return self.transport.kind

    @property
    def can_report_status(self) -> bool:
        return self.transport.readable and self.model.status

    def render(self, doc: receipts.Document) -> bytes:
        """The bytes that would be sent for ``doc``."""
        return render(doc, self.model, self.paper_mm)

    def _drain(self) -> None:
        # A late answer to an earlier request must not be taken for the next one.
        while self.transport.read(64, 0.01):
            pass

    def _query(self, n: int) -> int | None:
        self.transport.write(DLE_EOT + bytes([n]))
        deadline = time.monotonic() + self.status_timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self.transport.read(1, left)
            if got:
                return got[0]
        return None

    def _status_open(self) -> PrinterStatus:
        if not self.can_report_status:
            why = ("the lp transport cannot read the printer" if not self.transport.readable
                   else f"model {self.model.name} does not report status")
            return PrinterStatus(False, detail=why)
        self._drain()
        answers = []
        for n in (1, 2, 4):
            b = self._query(n)
            if b is None:
                return PrinterStatus(False, detail=f"no answer to DLE EOT {n} from "
                                                   f"{self.transport.describe()}")
            answers.append(b)
        return parse_status(*answers)

    def status(self) -> PrinterStatus:
        """Ask the printer now. Unreachable or silent printers give ``answered`` False."""
        with self._lock:
            try:
                self.transport.open()
            except PrinterNotFound as exc:
                self.last_status = PrinterStatus(False, detail=str(exc))
                return self.last_status
            try:
                self.last_status = self._status_open()
            except OSError as exc:
                self.last_status = PrinterStatus(False, detail=f"connection broke: {exc}")
            finally:
                self.transport.close()
            return self.last_status

    def send(self, data: bytes) -> PrinterStatus:
        """Send one job's bytes: status before (refuse if not ready), the bytes, status after.

        Raises PrinterNotFound, PrinterNotReady (nothing sent) or PrintIncomplete (sent, but
        the printer then reported a fault or went silent). Returns the status after.
        """
        with self._lock:
            self.transport.open()
            try:
                before = self._status_open()
                self.last_status = before
                if self.can_report_status and not before.ready:
                    raise PrinterNotReady(f"printer not ready: {before.describe()}", before)
                try:
                    self.transport.write(data)
                except OSError as exc:
                    raise PrintIncomplete(f"connection broke while sending: {exc}",
                                          PrinterStatus(False, detail=str(exc))) from exc
                after = self._status_open()
                self.last_status = after
                if self.can_report_status and not after.ready:
                    raise PrintIncomplete(f"printer reported after the job: {after.describe()}",
                                          after)
                return after
            except OSError as exc:
                raise PrinterNotFound(f"connection to the printer broke: {exc}") from exc
            finally:
                self.transport.close()

    def print_document(self, doc: receipts.Document) -> PrinterStatus:
        """Render and send ``doc`` (see ``send`` for what can go wrong)."""
        return self.send(self.render(doc))

    def test_page(self, lang: str = "zh-Hans") -> receipts.Document:
        return receipts.build("test", "TEST", {"model": self.model.name,
                                               "paper_mm": self.paper_mm,
                                               "qr": "https://zwfw.example.gov.cn/test"}, lang)

    def state(self) -> DeviceState:
        """Asks the printer (DLE EOT) and says what it answered."""
        status = self.status()
        where = self.transport.describe()
        if not self.can_report_status:
            reason = self.transport.unusable_reason()
            return DeviceState(self.name, self.kind, reason is None,
                               f"{where}: {reason or status.detail}")
        return DeviceState(self.name, self.kind, status.ready, f"{where}: {status.describe()}")

    def close(self) -> None:
        with self._lock:
            self.transport.close()
