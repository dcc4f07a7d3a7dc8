"""A network printer end to end: the real TCP transport against a listener on 127.0.0.1 that
records every byte and answers DLE EOT like a printer (kiosk.devices.printer_sim)."""

import pytest

from kiosk import print_jobs, receipts
from kiosk.devices.printer import NetworkTransport, Printer, load_model
from kiosk.devices.printer_sim import PrinterSimulator, TcpPrinterServer


@pytest.fixture
def network_printer():
    sim = PrinterSimulator(576, 48)
    server = TcpPrinterServer(sim)
    port = server.start()
    printer = Printer(NetworkTransport("127.0.0.1", port, timeout=1.0),
                      load_model("gb18030-80"), 80, status_timeout=0.3)
    yield sim, server, printer
    printer.close()
    server.stop()


def receipt(no):
    return receipts.application_receipt(
        hall_name="市民服务中心", application_no=no, item_name="食品经营许可证核发",
        applicant="王**", id_number="1101**********002X", filed_at="2026-12-07 10:32",
        time_limit_days=10, materials=[{"name": "营业执照复印件", "note": "1份"}],
        query_url=f"https://zwfw.example.gov.cn/q/{no}", phone="12345", lang="zh-Hans")


def test_prints_over_tcp_with_the_exact_rendered_bytes(network_printer):
    sim, server, printer = network_printer
    doc = receipt("R-1")
    printer.print_document(doc)
    expected = printer.render(doc)
    assert expected in bytes(sim.received)  # byte for byte, between the status queries
    assert len(sim.printed) == 1
    assert "食品经营许可证核发" in sim.printed[0].text()
    assert "[qr https://zwfw.example.gov.cn/q/R-1]" in sim.printed[0].text()


@pytest.mark.parametrize("fault", ["paper_out", "offline", "cover_open", "switched_off",
                                   "silent", "paper_runs_out_mid_job"])
def test_fault_keeps_the_job_then_prints_it_once_after_recovery(db, network_printer, fault):
    """GIVEN a printer that fails one way WHEN a receipt is printed THEN the job stays queued
    and nothing counts as printed; WHEN the printer recovers and the queue is processed twice
    THEN the receipt has come out exactly once."""
    sim, server, printer = network_printer
    if fault == "paper_out":
        sim.paper = "out"
    elif fault == "offline":
        sim.online = False
    elif fault == "cover_open":
        sim.cover_open = True
    elif fault == "switched_off":
        server.stop()
    elif fault == "silent":
        sim.silent = True
    else:
        sim.run_out_after = 100

    outcome = print_jobs.print_receipt(db, printer, receipt("R-2"), window="5")
    assert not outcome.printed
    assert "5 号窗口" in outcome.message and "R-2" in outcome.message
    assert print_jobs.pending_count(db) == 1
    assert sim.printed == []
    assert not printer.state().ok

    sim.paper, sim.online, sim.cover_open, sim.silent = "ok", True, False, False
    if fault == "switched_off":
        server.start()  # same port
    assert len(print_jobs.process(db, printer).printed) == 1
    assert print_jobs.process(db, printer).printed == []
    assert print_jobs.pending_count(db) == 0
    assert len(sim.printed) == 1 and "R-2" in sim.printed[0].text()
    assert print_jobs.print_count(db, "R-2") == 1
    assert printer.state().ok


def test_near_end_still_prints_and_is_reported(network_printer):
    sim, _, printer = network_printer
    sim.paper = "near_end"
    printer.print_document(receipt("R-3"))
    assert len(sim.printed) == 1
    state = printer.state()
    assert state.ok and "near end" in state.detail


@pytest.mark.pty
def test_serial_printer_through_a_pty(db):
    """The real serial transport (pyserial) against the simulator on a pseudo-terminal."""
    from kiosk.devices.printer import SerialTransport
    from kiosk.devices.printer_sim import SerialPrinterDevice

    sim = PrinterSimulator(576, 48)
    device = SerialPrinterDevice(sim)
    printer = Printer(SerialTransport(device.port, 9600, timeout=1.0),
                      load_model("gb18030-80"), 80, status_timeout=0.3)
    try:
        sim.paper = "out"
        assert not print_jobs.print_receipt(db, printer, receipt("S-1"), window="2").printed
        assert sim.printed == []
        sim.paper = "ok"
        assert len(print_jobs.process(db, printer).printed) == 1
        assert len(sim.printed) == 1 and "S-1" in sim.printed[0].text()
        assert printer.state().ok
    finally:
        printer.close()
        device.close()
