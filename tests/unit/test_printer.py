"""ESC/POS bytes, status decoding and the simulated printer (the same Printer class throughout).

Known-good sequences are written out from the ESC/POS command reference, not produced by the
code under test: ESC @ initialise, ESC a alignment, ESC E bold, GS ! size, FS & / FS . Chinese
mode on/off, GS ( k QR (model, module size, error level, store, print), ESC d 6 + GS V 0 cut.
"""

import pytest

from kiosk import receipts
from kiosk.devices import DeviceConfigError
from kiosk.devices.printer import (
    Printer,
    PrinterNotFound,
    PrinterNotReady,
    PrintIncomplete,
    encode_text,
    load_model,
    load_models,
    parse_status,
    render,
)
from kiosk.devices.printer_sim import PrinterSimulator, SimulatedTransport
from kiosk.receipts import Document, Line

INIT = bytes.fromhex("1b40")
CUT = bytes.fromhex("1b6406 1d5600")  # feed 6 lines, full cut


def doc(*lines, lang="zh-Hans"):
    return Document("test", "T-1", lang, tuple(lines))


def test_gb18030_text_in_chinese_mode_exact_bytes():
    data = render(doc(Line("text", "你好 A1", align="center", bold=True)),
                  load_model("gb18030-80"), 80)
    assert data == (
        INIT
        + bytes.fromhex("1b6101")  # centre
        + bytes.fromhex("1b4501")  # bold on
        + bytes.fromhex("1c26") + bytes.fromhex("c4e3bac3 20 4131") + bytes.fromhex("1c2e")
        + b"\n"
        + bytes.fromhex("1b6100 1b4500 1d2100")  # back to left, bold off, normal size
        + CUT
    )


def test_plain_ascii_is_sent_outside_chinese_mode_and_size_uses_gs_excl():
    data = render(doc(Line("text", "A023", size=4)), load_model("gb18030-80"), 80)
    assert data == INIT + bytes.fromhex("1d2133") + b"A023\n" + bytes.fromhex(
        "1b6100 1b4500 1d2100") + CUT


def test_native_qr_exact_bytes():
    data = render(doc(Line("qr", "T-A001")), load_model("gb18030-80"), 80)
    assert data == (
        INIT
        + bytes.fromhex("1b6101")
        + bytes.fromhex("1d286b 0400 31 41 32 00")  # model 2
        + bytes.fromhex("1d286b 0300 31 43 06")  # module 6 dots (80 mm)
        + bytes.fromhex("1d286b 0300 31 45 31")  # error correction M
        + bytes.fromhex("1d286b 0900 31 50 30") + b"T-A001"  # store 6 bytes
        + bytes.fromhex("1d286b 0300 31 51 30")  # print
        + b"\n"
        + bytes.fromhex("1b6100 1b4500 1d2100")
        + CUT
    )


def test_yen_and_punctuation_survive_gbk():
    """¥ is not in GBK: it goes as the full-width ￥ (A3 A4); Chinese punctuation as GBK."""
    assert encode_text("¥5：（）", "gbk") == bytes.fromhex("1c26 a3a4 35 a3ba a3a8 a3a9 1c2e")


def test_model_without_cutter_only_feeds():
    data = render(doc(Line("text", "A")), load_model("gb18030-58"), 58)
    assert data.endswith(b"A\n" + bytes.fromhex("1b6406"))
    assert b"\x1dV" not in data


def test_image_qr_on_a_model_without_native_qr():
    data = render(doc(Line("qr", "T-A001")), load_model("gb18030-58"), 58)
    assert b"\x1d(k" not in data
    assert bytes.fromhex("1d7630 00 3000") in data  # GS v 0, 48 bytes = 384 dots wide


def test_raster_model_sends_no_text_only_images_and_native_qr():
    receipt = doc(Line("text", "一次性告知单", size=2), Line("qr", "https://x/1"),
                  Line("text", "谢谢"))
    data = render(receipt, load_model("raster-80"), 80)
    assert data.startswith(INIT + bytes.fromhex("1d7630 00 4800"))  # 72 bytes = 576 dots
    assert b"\x1c&" not in data and "告知".encode("gb18030") not in data
    assert bytes.fromhex("1d286b 0e00 31 50 30") + b"https://x/1" in data
    assert data.endswith(CUT)


def test_unknown_width_or_model_is_refused():
    with pytest.raises(DeviceConfigError, match="58 mm"):
        load_model("gb18030-58").width(80)
    with pytest.raises(DeviceConfigError, match="printers.json"):
        load_model("no-such-printer")
    assert set(load_models()) >= {"gb18030-80", "gb18030-58", "raster-80", "raster-58"}


@pytest.mark.parametrize("online, cause, paper, expect", [
    (0x12, 0x12, 0x12, "ready"),
    (0x12, 0x12, 0x1E, "ready, paper near end"),
    (0x1A, 0x32, 0x72, "paper out"),
    (0x1A, 0x16, 0x12, "cover open"),
    (0x1A, 0x52, 0x12, "printer error"),
    (0x1A, 0x12, 0x12, "offline"),
])
def test_status_bytes(online, cause, paper, expect):
    status = parse_status(online, cause, paper)
    assert status.answered
    assert status.describe() == expect
    assert status.ready == expect.startswith("ready")


def test_garbled_status_byte_is_not_believed():
    status = parse_status(0x12, 0xFF, 0x12)
    assert not status.answered and not status.ready


def make(model="gb18030-80", mm=80):
    m = load_model(model)
    dots, cols = m.width(mm)
    sim = PrinterSimulator(dots, cols, answers_status=m.status)
    return sim, Printer(SimulatedTransport(sim), m, mm, status_timeout=0.2)


def test_simulator_prints_the_chinese_it_was_sent():
    sim, printer = make()
    printer.print_document(doc(Line("text", "申请回执", bold=True),
                               Line("pair", "编号", value="A-1"), Line("qr", "Q1")))
    assert len(sim.printed) == 1
    lines = sim.printed[0].text().splitlines()
    assert lines[:3] == ["申请回执", "编号：A-1", "[qr Q1]"]
    assert set(lines[3:]) == {""}  # the feed before the cut
    assert sim.unknown == []


def test_status_before_and_after_are_asked():
    sim, printer = make()
    printer.print_document(doc(Line("text", "x")))
    queries = [sim.received[i:i + 3] for i in range(len(sim.received) - 2)
               if sim.received[i:i + 2] == b"\x10\x04"]
    assert len(queries) == 6  # DLE EOT 1, 2, 4 before and after


@pytest.mark.parametrize("fault, value", [("paper", "out"), ("cover_open", True),
                                          ("online", False)])
def test_not_ready_sends_nothing(fault, value):
    sim, printer = make()
    setattr(sim, fault, value)
    with pytest.raises(PrinterNotReady):
        printer.print_document(doc(Line("text", "x")))
    assert INIT not in sim.received
    assert sim.pages == []


def test_silent_printer_is_not_trusted():
    sim, printer = make()
    sim.silent = True
    with pytest.raises(PrinterNotReady, match="no answer"):
        printer.print_document(doc(Line("text", "x")))
    assert INIT not in sim.received
    assert not printer.state().ok


def test_paper_running_out_mid_receipt_is_incomplete():
    sim, printer = make()
    sim.run_out_after = 20
    with pytest.raises(PrintIncomplete, match="paper out"):
        printer.print_document(doc(Line("text", "第一行"), Line("text", "第二行" * 10)))
    assert sim.printed == []
    assert sim.discarded > 0


def test_unplugged():
    sim, printer = make()
    sim.connected = False
    with pytest.raises(PrinterNotFound):
        printer.print_document(doc(Line("text", "x")))
    assert printer.status().answered is False
    assert "unplugged" in printer.state().detail


def test_model_without_status_prints_and_says_it_cannot_know():
    sim, printer = make("raster-58", 58)
    printer.print_document(doc(Line("text", "无状态")))
    sim.finish()
    assert len(sim.printed) == 1
    assert "does not report status" in printer.state().detail


def test_status_request_inside_image_data_is_not_answered():
    """GIVEN raster data that happens to contain 10 04 01 WHEN the simulator reads it THEN it
    answers nothing (a real printer parses commands; only the host's DLE EOT gets an answer)."""
    sim = PrinterSimulator(576, 48)
    image = bytes.fromhex("1d7630 00 0300 0100") + b"\x10\x04\x01"
    assert sim.feed(INIT + image) == b""
    assert sim.feed(b"\x10\x04\x01") == bytes([0x12])


def test_simulator_renders_png(tmp_path):
    m = load_model("gb18030-80")
    sim = PrinterSimulator(576, 48, png_dir=tmp_path)
    Printer(SimulatedTransport(sim), m, 80).print_document(
        receipts.queue_ticket(hall_name="市民服务中心", number="A023", item_name="营业执照",
                              waiting=3, issued_at="2026-12-07 09:30", terminal_id="K01",
                              lang="zh-Hans", qr="T:A023"))
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 1
    from PIL import Image

    img = Image.open(pngs[0])
    assert img.width == 576 and img.height > 400
    # Something black was printed in the top rows (the hall name), the rest is not all ink.
    bw = img.convert("L")
    inked = sum(bw.crop((0, 0, 576, 40)).histogram()[:128])
    assert 0 < inked < 576 * 40 // 2


def test_lp_transport_hands_the_exact_bytes_to_lp(tmp_path, monkeypatch):
    """A stand-in ``lp`` on PATH records its arguments and stdin, as CUPS would receive them."""
    from kiosk.devices.printer import LpTransport

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {tmp_path}/job\n'
                  'echo "request id is kiosk-1 (1 file(s))"\n')
    lp.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    printer = Printer(LpTransport("receipts"), load_model("gb18030-80"), 80)
    receipt = doc(Line("text", "经 CUPS 打印"))
    status = printer.print_document(receipt)
    assert (tmp_path / "job").read_bytes() == printer.render(receipt)
    assert (tmp_path / "args").read_text().split() == ["-o", "raw", "-d", "receipts"]
    assert not status.answered  # CUPS gives no printer status back: never claimed
    assert "cannot read" in printer.state().detail


def test_lp_missing(tmp_path, monkeypatch):
    from kiosk.devices.printer import LpTransport

    monkeypatch.setenv("PATH", str(tmp_path))
    printer = Printer(LpTransport(), load_model("gb18030-80"), 80)
    with pytest.raises(PrinterNotFound, match="lp"):
        printer.print_document(doc(Line("text", "x")))
    assert not printer.state().ok


def test_usb_printer_not_plugged_in_is_a_clear_error():
    from kiosk.devices.printer import UsbTransport

    transport = UsbTransport(0x0416, 0x5011)
    printer = Printer(transport, load_model("gb18030-80"), 80)
    reason = transport.unusable_reason()
    with pytest.raises(PrinterNotFound) as info:
        printer.print_document(doc(Line("text", "x")))
    assert (reason or "0416:5011") in str(info.value)
    assert not printer.state().ok
