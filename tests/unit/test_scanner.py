"""Keyboard-wedge burst detection (pure logic) and the serial scanner driver over a pty."""

import pytest

from kiosk.devices.scanner import (
    Scanned,
    ScannerError,
    SerialScanner,
    SimulatedScannerDevice,
    Typed,
    WedgeDetector,
)


def run(detector, keys):
    """Feed (char, time) pairs, then a flush long after; return every result."""
    out = []
    for ch, t in keys:
        out += detector.feed(ch, t)
    last = keys[-1][1] if keys else 0.0
    out += detector.flush(last + 10)
    return out


def burst(text, start=0.0, gap=0.008):
    keys = [(ch, start + i * gap) for i, ch in enumerate(text)]
    return keys + [("\r", start + len(text) * gap)]


def test_scanner_burst_is_a_scan():
    assert run(WedgeDetector(), burst("H0001-K01-20261207-0042")) == [
        Scanned("H0001-K01-20261207-0042")]


def test_person_typing_is_typing():
    """GIVEN keys 150-300 ms apart (a quick typist on a kiosk keyboard) THEN no scan."""
    keys = [("A", 0.0), ("0", 0.18), ("2", 0.35), ("3", 0.62), ("\r", 0.80)]
    out = run(WedgeDetector(), keys)
    assert not any(isinstance(r, Scanned) for r in out)
    assert "".join(r.text for r in out) == "A023"
    assert out[-1] == Typed("", enter=True)


def test_typing_then_a_scan_in_the_middle():
    keys = [("a", 0.0), ("b", 0.3)] + burst("T:A023", start=1.0) + [("c", 2.0)]
    out = run(WedgeDetector(), keys)
    assert out == [Typed("a"), Typed("b"), Scanned("T:A023"), Typed("c")]


def test_short_fast_run_is_not_a_scan():
    out = run(WedgeDetector(min_length=4), burst("ab"))
    assert out == [Typed("ab", enter=True)]


def test_slow_enter_after_a_fast_run_is_a_person():
    keys = [(ch, i * 0.01) for i, ch in enumerate("12345")] + [("\r", 0.5)]
    out = run(WedgeDetector(), keys)
    assert out == [Typed("12345"), Typed("", enter=True)]


def test_held_keys_are_released_after_the_gap():
    d = WedgeDetector(max_gap=0.05)
    assert d.feed("x", 1.0) == []
    assert d.flush(1.03) == []  # still inside the gap: could be a scan starting
    assert d.flush(1.06) == [Typed("x")]
    assert not d.holding


@pytest.fixture
def serial_scanner():
    sim = SimulatedScannerDevice()
    scanner = SerialScanner(sim.port)
    yield sim, scanner
    scanner.close()
    sim.close()


@pytest.mark.parametrize("terminator", [b"\r\n", b"\r", b"\n"])
@pytest.mark.pty
def test_serial_scanner_reads_lines(serial_scanner, terminator):
    sim, scanner = serial_scanner
    sim.terminator = terminator
    assert scanner.state().ok  # opens the port (opening flushes what came before, as on hardware)
    sim.scan("https://zwfw.example.gov.cn/q/H0001-K01-20261207-0042")
    sim.scan("A023")
    assert scanner.read_code(1.0) == "https://zwfw.example.gov.cn/q/H0001-K01-20261207-0042"
    assert scanner.read_code(1.0) == "A023"
    assert scanner.read_code(0.1) is None
    assert scanner.state().ok


def test_missing_serial_scanner():
    scanner = SerialScanner("/dev/does-not-exist")
    assert not scanner.state().ok
    with pytest.raises(ScannerError):
        scanner.read_code(0.1)
