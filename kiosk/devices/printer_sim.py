"""The simulated receipt printer: an ESC/POS interpreter with a paper roll, a cover and a cutter.

It reads the same bytes a real printer reads, command by command (so a DLE EOT inside image data
is not mistaken for a status request), answers DLE EOT with the status bytes of its state, keeps
every byte received, prints only while it can (paper in, cover shut, online) and draws what it
printed as a PNG: Chinese text decoded from GB18030 in Chinese mode, raster images, native QR
codes. A receipt counts as printed when it was cut with nothing lost since it started. Reached
in-process through ``SimulatedTransport``, over TCP through ``TcpPrinterServer`` (the network
printer's twin) or over a pseudo-terminal through ``SerialPrinterDevice`` (the serial one's).
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from kiosk import receipts
from kiosk.devices.printer import PrinterNotFound, Transport
from kiosk.devices.pty_device import PtyDevice

log = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10

# Fixed-length commands: prefix byte, command byte -> total length in bytes.
_FIXED = {
    (ESC, 0x40): 2, (ESC, 0x21): 3, (ESC, 0x61): 3, (ESC, 0x45): 3, (ESC, 0x2D): 3,
    (ESC, 0x4D): 3, (ESC, 0x64): 3, (ESC, 0x4A): 3, (ESC, 0x32): 2, (ESC, 0x33): 3,
    (ESC, 0x74): 3, (ESC, 0x47): 3, (ESC, 0x7B): 3, (ESC, 0x56): 3, (ESC, 0x20): 3,
    (ESC, 0x52): 3, (ESC, 0x70): 5, (ESC, 0x3D): 3, (ESC, 0x63): 4, (ESC, 0x69): 2,
    (ESC, 0x6D): 2, (GS, 0x21): 3, (GS, 0x42): 3, (GS, 0x62): 3, (GS, 0x48): 3, (GS, 0x68): 3,
    (GS, 0x77): 3, (GS, 0x66): 3, (GS, 0x4C): 4, (GS, 0x57): 4, (GS, 0x72): 3, (GS, 0x61): 3,
    (FS, 0x26): 2, (FS, 0x2E): 2, (FS, 0x21): 3, (FS, 0x2D): 3, (FS, 0x43): 3, (FS, 0x53): 4,
    (FS, 0x57): 3, (DLE, 0x04): 3, (DLE, 0x05): 3, (DLE, 0x14): 5,
}


@dataclass
class _TextRun:
    text: str
    size: int
    bold: bool


@dataclass
class Page:
    """What came out between two cuts: text rows and images, and whether anything was lost."""

    rows: list[tuple[str, object, str]] = field(default_factory=list)  # (kind, payload, align)
    complete: bool = True
    cut: bool = False

    def text(self) -> str:
        """The printed text, one row per line (images as [image WxH], QR as [qr DATA])."""
        out = []
        for kind, payload, _ in self.rows:
            if kind == "text":
                out.append("".join(r.text for r in payload))  # type: ignore[attr-defined]
            elif kind == "qr":
                out.append(f"[qr {payload[0]}]")  # type: ignore[index]
            else:
                img = payload
                out.append(f"[image {img.width}x{img.height}]")  # type: ignore[attr-defined]
        return "\n".join(out)


class PrinterSimulator:
    """A thermal receipt printer in software. Set ``paper``, ``cover_open``, ``online`` or
    ``silent`` to make it fail the ways real ones do; ``run_out_after`` = bytes of print data
    after which the paper runs out in the middle of a receipt."""

    def __init__(self, dots: int = 576, columns: int = 48, *, answers_status: bool = True,
                 png_dir: Path | None = None) -> None:
        self.dots, self.columns = dots, columns
        self.answers_status = answers_status
        self.png_dir = png_dir
        self.online = True
        self.cover_open = False
        self.paper = "ok"  # ok | near_end | out
        self.silent = False  # answers nothing (a hung printer)
        self.connected = True  # False: unplugged, nothing can open it
        self.run_out_after: int | None = None
        self.received = bytearray()
        self.discarded = 0
        self.unknown: list[bytes] = []
        self.pages: list[Page] = []
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._reset_modes()
        self._page = Page()
        self._line: list[_TextRun] = []
        self._text = bytearray()
        self._qr_data = b""
        self._qr_module = 3

    # ---- state -------------------------------------------------------------------------

    def _reset_modes(self) -> None:
        self.align, self.bold, self.size, self.chinese = "left", False, 1, False

    @property
    def can_print(self) -> bool:
        return self.online and not self.cover_open and self.paper != "out"

    def status_byte(self, n: int) -> int:
        """The answer to DLE EOT ``n`` for the current state."""
        b = 0x12
        if n == 1 and not self.can_print:
            b |= 0x08
        elif n == 2:
            b |= (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
            b |= 0x40 if not self.online else 0
        elif n == 4:
            b |= 0x60 if self.paper == "out" else 0x0C if self.paper == "near_end" else 0
        return b

    @property
    def printed(self) -> list[Page]:
        """Receipts that came out whole and were cut."""
        return [p for p in self.pages if p.complete and p.cut]

    # ---- input -------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the host; return what the printer sends back (status answers)."""
        with self._lock:
            self.received += data
            self._buf += data
            answers = bytearray()
            while self._buf:
                used = self._step(answers)
                if used == 0:
                    break  # an incomplete command: wait for more bytes
                del self._buf[:used]
            self._flush_text()
            return bytes(answers)

    def _consume_print(self, n: int) -> bool:
        """Account for ``n`` bytes of print data; False when they fall on the floor."""
        if self.can_print and self.run_out_after is not None:
            self.run_out_after -= n
            if self.run_out_after < 0:
                self.paper = "out"
                self.run_out_after = None
        if not self.can_print:
            self.discarded += n
            self._page.complete = False
            return False
        return True

    def _step(self, answers: bytearray) -> int:
        buf = self._buf
        b0 = buf[0]
        if b0 in (ESC, GS, FS, DLE):
            if len(buf) < 2:
                return 0
            key = (b0, buf[1])
            if key == (GS, 0x76):  # GS v 0 m xL xH yL yH data
                if len(buf) < 8:
                    return 0
                w, h = buf[4] + 256 * buf[5], buf[6] + 256 * buf[7]
                total = 8 + w * h
                if len(buf) < total:
                    return 0
                self._flush_text()
                if self._consume_print(total):
                    self._image(bytes(buf[8:total]), w, h)
                return total
            if key in ((GS, 0x28),):  # GS ( k / GS ( L ... pL pH
                if len(buf) < 5:
                    return 0
                total = 5 + buf[3] + 256 * buf[4]
                if len(buf) < total:
                    return 0
                if buf[2] == 0x6B:
                    self._qr_command(bytes(buf[5:total]))
                return total
            if key == (GS, 0x56):  # GS V m [n]
                if len(buf) < 3:
                    return 0
                total = 4 if buf[2] in (65, 66) else 3
                if len(buf) < total:
                    return 0
                self._flush_line(force=False)
                if self._consume_print(1):
                    self._cut()
                return total
            if key == (ESC, 0x2A):  # ESC * m nL nH data
                if len(buf) < 5:
                    return 0
                n = buf[3] + 256 * buf[4]
                total = 5 + n * (3 if buf[2] in (32, 33) else 1)
                return total if len(buf) >= total else 0
            length = _FIXED.get(key)
            if length is None:
                self.unknown.append(bytes(buf[:2]))
                return 2
            if len(buf) < length:
                return 0
            self._command(key, bytes(buf[:length]), answers)
            return length
        if b0 == 0x0A:
            self._flush_text()
            if self._consume_print(1):
                self._flush_line(force=True)
            return 1
        if b0 < 0x20:
            return 1  # CR and other controls: nothing to print
        # Printable text up to the next control byte (GB18030 bytes are all >= 0x30).
        end = 1
        while end < len(buf) and buf[end] >= 0x20:
            end += 1
        if self._consume_print(end):
            self._text += buf[:end]
        return end

    def _command(self, key: tuple[int, int], cmd: bytes, answers: bytearray) -> None:
        if key == (DLE, 0x04):
            if self.answers_status and not self.silent:
                answers.append(self.status_byte(cmd[2]))
            return
        self._flush_text()
        if key == (ESC, 0x40):
            self._start_job()
        elif key == (ESC, 0x61):
            self.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                          50: "right"}.get(cmd[2], "left")
        elif key == (ESC, 0x45):
            self.bold = bool(cmd[2] & 1)
        elif key == (GS, 0x21):
            self.size = max(1, min(8, (cmd[2] & 0x0F) + 1))
        elif key == (FS, 0x26):
            self.chinese = True
        elif key == (FS, 0x2E):
            self.chinese = False
        elif key == (ESC, 0x64) and self._consume_print(1):
            self._flush_line(force=False)
            for _ in range(cmd[2]):
                self._page.rows.append(("text", [], self.align))

    def _start_job(self) -> None:
        # ESC @: modes back to default. Whatever was on paper without a cut is a lost receipt.
        self._flush_line(force=False)
        if self._page.rows:
            self._page.complete = False
            self._finish_page(cut=False)
        self._page = Page()
        self._reset_modes()

    def _flush_text(self) -> None:
        if not self._text:
            return
        raw = bytes(self._text)
        self._text.clear()
        text = raw.decode("gb18030", errors="replace") if self.chinese else raw.decode(
            "ascii", errors="replace")
        self._line.append(_TextRun(text, self.size, self.bold))

    def _flush_line(self, *, force: bool) -> None:
        self._flush_text()
        if self._line or force:
            self._page.rows.append(("text", self._line, self.align))
            self._line = []

    def _image(self, data: bytes, w_bytes: int, h: int) -> None:
        self._flush_line(force=False)
        img = Image.frombytes("1", (w_bytes * 8, h), data)
        self._page.rows.append(("image", ImageOps.invert(img.convert("L")).convert("1"),
                                self.align))

    def _qr_command(self, body: bytes) -> None:
        # body = cn fn [m] data; cn 0x31 = QR code
        if len(body) < 2 or body[0] != 0x31:
            return
        fn = body[1]
        if fn == 0x43 and len(body) >= 3:
            self._qr_module = body[2]
        elif fn == 0x50:
            self._qr_data = body[3:]
        elif fn == 0x51 and self._consume_print(1):
            self._flush_line(force=False)
            data = self._qr_data.decode("utf-8", errors="replace")
            self._page.rows.append(("qr", (data, self._qr_module), self.align))

    def _cut(self) -> None:
        self._finish_page(cut=True)
        self._page = Page()

    def _finish_page(self, *, cut: bool) -> None:
        self._page.cut = cut
        self.pages.append(self._page)
        if self.png_dir is not None:
            try:
                self.png_dir.mkdir(parents=True, exist_ok=True)
                name = f"receipt-{len(self.pages):04d}.png"
                self.render_page(self._page).save(self.png_dir / name)
            except OSError as exc:  # a full disk must not stop the simulated printer
                log.warning("simulated printer cannot save its PNG: %s", exc)

    def finish(self) -> None:
        """Count what is on paper as a page (a printer without a cutter never cuts)."""
        with self._lock:
            self._flush_line(force=False)
            if self._page.rows:
                self._finish_page(cut=True)
                self._page = Page()

    # ---- output ------------------------------------------------------------------------

    def render_page(self, page: Page) -> Image.Image:
        """The page as it would look on paper (white background, black print)."""
        heights = []
        for kind, payload, _ in page.rows:
            if kind == "text":
                size = max((r.size for r in payload), default=1)  # type: ignore[attr-defined]
                heights.append(receipts.ROW_HEIGHT * size)
            elif kind == "qr":
                data, module = payload  # type: ignore[misc]
                heights.append(receipts.qr_image(data, module).height + 8)
            else:
                heights.append(payload.height)  # type: ignore[attr-defined]
        img = Image.new("1", (self.dots, max(1, sum(heights) + 12)), 1)
        draw = ImageDraw.Draw(img)
        y = 6
        for (kind, payload, align), h in zip(page.rows, heights, strict=True):
            if kind == "text":
                runs = payload
                width = sum(receipts.text_columns(r.text) * receipts.DOT_COLUMN * r.size
                            for r in runs)  # type: ignore[attr-defined]
                x = {"left": 0, "center": (self.dots - width) // 2,
                     "right": self.dots - width}[align]
                size = max((r.size for r in runs), default=1)  # type: ignore[attr-defined]
                for r in runs:  # type: ignore[attr-defined]
                    receipts.draw_text_row(draw, max(0, x), y + 21 * size, r.text, r.size,
                                           r.bold)
                    x += receipts.text_columns(r.text) * receipts.DOT_COLUMN * r.size
            else:
                pic = receipts.qr_image(*payload) if kind == "qr" else payload  # type: ignore[misc]
                x = {"left": 0, "center": (self.dots - pic.width) // 2,  # type: ignore[attr-defined]
                     "right": self.dots - pic.width}[align]  # type: ignore[attr-defined]
                img.paste(pic, (max(0, x), y + (4 if kind == "qr" else 0)))  # type: ignore[arg-type]
            y += h
        return img


class SimulatedTransport(Transport):
    """The in-process way to the simulated printer."""

    kind = "simulated"

    def __init__(self, sim: PrinterSimulator) -> None:
        self.sim = sim
        self._inbox = bytearray()
        self._open = False

    def open(self) -> None:
        if not self.sim.connected:
            raise PrinterNotFound("the simulated printer is unplugged")
        self._open = True

    def write(self, data: bytes) -> None:
        if not self._open:
            raise BrokenPipeError("simulated printer connection is closed")
        self._inbox += self.sim.feed(data)

    def read(self, n: int, timeout: float) -> bytes:
        got = bytes(self._inbox[:n])
        del self._inbox[:n]
        return got

    def close(self) -> None:
        self._open = False
        self._inbox.clear()

    def describe(self) -> str:
        return "simulated printer"


class TcpPrinterServer:
    """The simulated printer listening on raw TCP like a network printer (port 9100 style).

    ``stop()`` closes the listener (the printer is switched off: connections are refused);
    ``start()`` opens it again on the same port.
    """

    def __init__(self, sim: PrinterSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulated network printer only listens on loopback")
        self.sim, self.host, self.port = sim, host, port
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.connections = 0

    def start(self) -> int:
        """Start listening; returns the port."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(4)
        s.settimeout(0.05)
        self.port = s.getsockname()[1]
        self._listener = s
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="sim-printer-tcp", daemon=True)
        self._thread.start()
        return self.port

    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(0.05)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    answer = self.sim.feed(data)
                    if answer:
                        try:
                            conn.sendall(answer)
                        except OSError:
                            break

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    close = stop


class SerialPrinterDevice(PtyDevice):
    """The simulated printer at the far end of a pseudo-terminal (the serial printer's twin)."""

    def __init__(self, sim: PrinterSimulator) -> None:
        self.sim = sim
        super().__init__("sim-printer-serial")

    def on_bytes(self, data: bytes) -> None:
        answer = self.sim.feed(data)
        if answer:
            self.send(answer)
