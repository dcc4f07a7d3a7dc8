"""The counter's A4 printer: a finished PDF notice goes to paper.

Two drivers with one contract (``print_pdf`` answers a job reference or raises A4PrintError):
``LpA4Printer`` hands the PDF to CUPS with ``lp`` (CUPS renders PDF for any printer it drives);
``SimulatedA4Printer`` keeps a copy in a folder, for a counter without a printer and for tests.
``open_a4_printer`` makes the configured one ([a4_printer] in the configuration).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.devices import DeviceError, DeviceState

if TYPE_CHECKING:
    from kiosk.config import A4PrinterConfig


class A4PrintError(DeviceError):
    """The notice did not reach the printer; the message says why, for the clerk."""


def _check_pdf(pdf: Path) -> bytes:
    try:
        data = Path(pdf).read_bytes()
    except OSError as exc:
        raise A4PrintError(f"cannot read {pdf}: {exc.strerror}") from exc
    if not data.startswith(b"%PDF-"):
        raise A4PrintError(f"{pdf} is not a PDF")
    return data


class SimulatedA4Printer:
    """Saves each PDF it is given in ``out_dir``: what a real printer would have printed."""

    kind = "simulated"

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)

    def print_pdf(self, pdf: Path, title: str = "") -> str:
        """Keep a copy of ``pdf``; answers the copy's path."""
        data = _check_pdf(pdf)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        n = len(list(self.out_dir.glob("*.pdf"))) + 1
        name = re.sub(r"[^\w.-]+", "_", title or Path(pdf).stem)[:80]
        target = self.out_dir / f"{n:04d}-{name}.pdf"
        target.write_bytes(data)
        return str(target)

    def state(self) -> DeviceState:
        return DeviceState("a4_printer", self.kind, True, f"PDFs saved to {self.out_dir}")

    def close(self) -> None:
        pass


class LpA4Printer:
    """A CUPS queue through the ``lp`` command (apt cups-client). CUPS keeps and spools the
    job; the answer is CUPS's request id, e.g. ``office-17``."""

    kind = "lp"

    def __init__(self, queue: str = "", timeout: float = 20.0) -> None:
        self.queue, self.timeout = queue, timeout

    @staticmethod
    def unusable_reason() -> str | None:
        return None if shutil.which("lp") else (
            "the lp command is missing: install the Debian package cups-client and add the "
            "printer to CUPS, or set [a4_printer] kind = \"simulated\"")

    def print_pdf(self, pdf: Path, title: str = "") -> str:
        """Send ``pdf`` to the queue on A4; answers the CUPS request id."""
        _check_pdf(pdf)
        if reason := self.unusable_reason():
            raise A4PrintError(reason)
        cmd = ["lp", "-o", "media=A4", "-o", "fit-to-page"]
        cmd += ["-d", self.queue] if self.queue else []
        cmd += ["-t", title] if title else []
        cmd += ["--", str(pdf)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise A4PrintError(f"lp failed: {exc}") from exc
        if done.returncode != 0:
            raise A4PrintError(f"CUPS refused the job ({self.describe()}): "
                               f"{done.stderr.strip() or done.stdout.strip()}")
        found = re.search(r"request id is (\S+)", done.stdout)
        return found[1] if found else done.stdout.strip()

    def describe(self) -> str:
        return f"lp {self.queue or '(default destination)'}"

    def state(self) -> DeviceState:
        reason = self.unusable_reason()
        return DeviceState("a4_printer", self.kind, reason is None, reason or self.describe())

    def close(self) -> None:
        pass


A4Printer = SimulatedA4Printer | LpA4Printer


def open_a4_printer(config: A4PrinterConfig, data_dir: Path) -> A4Printer | None:
    """The configured A4 printer; None when ``kind = "none"``."""
    if config.kind == "lp":
        return LpA4Printer(config.lp_queue, config.timeout_s)
    if config.kind == "simulated":
        return SimulatedA4Printer(Path(config.out_dir) if config.out_dir
                                  else Path(data_dir) / "printed-a4")
    return None
