"""The counter's A4 printer: the lp driver and its simulated twin pass the same tests."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from kiosk.config import A4PrinterConfig
from kiosk.devices.a4_printer import (
    A4PrintError,
    LpA4Printer,
    SimulatedA4Printer,
    open_a4_printer,
)

PDF = b"%PDF-1.4\n% a notice\n%%EOF\n"
REAL_QUEUE = os.environ.get("KIOSK_TEST_A4_QUEUE", "")


@pytest.fixture(params=["simulated", "lp"])
def printer(request, tmp_path):
    if request.param == "simulated":
        return SimulatedA4Printer(tmp_path / "out")
    if shutil.which("lp") is None:
        pytest.skip("lp is not installed (apt cups-client): the real driver is not exercised")
    if not REAL_QUEUE:
        pytest.skip("set KIOSK_TEST_A4_QUEUE to a CUPS queue (a PDF or test printer) to send "
                    "real jobs; this test would otherwise print on the default printer")
    return LpA4Printer(REAL_QUEUE)


@pytest.fixture
def pdf(tmp_path) -> Path:
    path = tmp_path / "notice.pdf"
    path.write_bytes(PDF)
    return path


def test_a_pdf_is_printed_and_answers_a_job_reference(printer, pdf):
    assert printer.print_pdf(pdf, "受理通知书 H0001-K01-20261207-0001")
    assert printer.state().ok


def test_what_is_not_a_pdf_is_refused_before_anything_prints(printer, tmp_path):
    text = tmp_path / "note.txt"
    text.write_text("hello")
    with pytest.raises(A4PrintError, match="not a PDF"):
        printer.print_pdf(text)
    with pytest.raises(A4PrintError, match="cannot read"):
        printer.print_pdf(tmp_path / "missing.pdf")


def test_the_simulated_printer_keeps_each_pdf(tmp_path, pdf):
    sim = SimulatedA4Printer(tmp_path / "out")
    first = Path(sim.print_pdf(pdf, "受理通知书 N1"))
    second = Path(sim.print_pdf(pdf, "../../etc/passwd"))
    assert first.read_bytes() == PDF and second.read_bytes() == PDF
    assert first.parent == second.parent == tmp_path / "out"  # a title never leaves the folder
    assert first != second


def test_lp_missing_gives_a_clear_error(monkeypatch, pdf):
    monkeypatch.setenv("PATH", "/nonexistent")
    lp = LpA4Printer("office")
    with pytest.raises(A4PrintError, match="cups-client"):
        lp.print_pdf(pdf)
    assert not lp.state().ok and "cups-client" in lp.state().detail


def fake_lp(bin_dir: Path, body: str) -> None:
    """A stand-in ``lp`` executable (the CUPS client is not ours to fake, nor always here)."""
    bin_dir.mkdir()
    script = bin_dir / "lp"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_lp_is_called_with_queue_a4_and_title(monkeypatch, tmp_path, pdf):
    log = tmp_path / "args"
    fake_lp(tmp_path / "bin", f'printf "%s\\n" "$@" > {log}\n'
                              'echo "request id is office-17 (1 file(s))"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert LpA4Printer("office").print_pdf(pdf, "受理通知书 N1") == "office-17"
    assert log.read_text().splitlines() == ["-o", "media=A4", "-o", "fit-to-page", "-d",
                                            "office", "-t", "受理通知书 N1", "--", str(pdf)]


def test_lp_refusal_is_reported(monkeypatch, tmp_path, pdf):
    fake_lp(tmp_path / "bin", 'echo "lp: The printer or class does not exist." >&2; exit 1')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(A4PrintError, match="does not exist"):
        LpA4Printer("nosuch").print_pdf(pdf)


def test_configuration_picks_the_driver(tmp_path):
    assert isinstance(open_a4_printer(A4PrinterConfig(), tmp_path), SimulatedA4Printer)
    assert open_a4_printer(A4PrinterConfig(), tmp_path).out_dir == tmp_path / "printed-a4"
    lp = open_a4_printer(A4PrinterConfig(kind="lp", lp_queue="office"), tmp_path)
    assert isinstance(lp, LpA4Printer) and lp.queue == "office"
    assert open_a4_printer(A4PrinterConfig(kind="none"), tmp_path) is None
