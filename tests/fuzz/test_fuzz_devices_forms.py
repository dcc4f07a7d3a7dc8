"""ID card reader frames, scanner input, form answers and ID numbers from outside.

Properties: each parser raises only its documented errors (CardReadError / InvalidCard /
NoCard for the card reader, IdNumberError, MrzError, nothing at all for the wedge detector,
the serial scanner and form validation), and the wedge detector loses no key.
"""

from __future__ import annotations

import contextlib
from datetime import date

from fuzz_support import FUZZ, count, json_values, scalars
from hypothesis import given
from hypothesis import strategies as st
from sync_support import tiny_bundle

from kiosk import catalog, forms, idnumbers
from kiosk.devices import idcard, scanner
from kiosk.devices.idcard_sim import demo_card

TODAY = date(2026, 12, 7)
GOOD_BLOCK = demo_card().text_block()
FRAME_PARTS = [idcard.PREAMBLE, idcard.answer_frame(0x90), idcard.answer_frame(0x9F, b"\0" * 4),
               idcard.answer_frame(0x90, b"\x01\x00\x04\x00" + GOOD_BLOCK + b"\0" * 1024)]


class Wire:
    """A serial port whose reads hand out ``data`` in the chunks asked for, then silence."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)

    def read(self, n: int = 1) -> bytes:
        chunk = bytes(self.data[:n])
        del self.data[:n]
        return chunk

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        pass  # a real reader's leftovers would go; here the drawn bytes are the whole answer

    def close(self) -> None:
        pass


noisy_frames = st.lists(st.sampled_from(FRAME_PARTS) | st.binary(max_size=64), max_size=6).map(
    b"".join)


@FUZZ
@given(data=noisy_frames)
def test_frame_reader(data):
    count("ID card reader: frames (kiosk.devices.idcard.FrameReader)")
    try:
        answer = idcard.FrameReader(Wire(data).read, 0.005).read_answer()
    except idcard.CardReadError:
        return
    assert isinstance(answer.data, bytes)


@st.composite
def text_blocks(draw):
    if draw(st.booleans()):
        return draw(st.binary(min_size=0, max_size=300))
    block = bytearray(GOOD_BLOCK)
    for _ in range(draw(st.integers(1, 6))):
        block[draw(st.integers(0, len(block) - 1))] = draw(st.integers(0, 255))
    return bytes(block)


@FUZZ
@given(block=text_blocks())
def test_card_text_block(block):
    count("ID card reader: text block (kiosk.devices.idcard.decode_text)")
    try:
        card = idcard.decode_text(block, today=TODAY)
    except (idcard.CardReadError, idcard.InvalidCard):
        return
    assert isinstance(card.name, str) and isinstance(card.id_number, str)


@FUZZ
@given(answers=st.lists(noisy_frames, min_size=3, max_size=3))
def test_whole_card_read(answers):
    """The driver's own read sequence (find, select, read) over answers drawn for each step;
    the inner _read_card, so that no catch-all hides an unexpected exception."""
    count("ID card reader: find/select/read (kiosk.devices.idcard.SerialIdCardReader)")
    reader = idcard.SerialIdCardReader("/dev/fuzz", timeout=0.005)
    wires = [Wire(a) for a in answers]

    class Port(Wire):
        def write(self, data: bytes) -> int:
            self.data = wires.pop(0).data if wires else bytearray()
            return len(data)

    reader._ser = Port(b"")
    try:
        card = reader._read_card(TODAY)
    except (idcard.NoCard, idcard.CardReadError, idcard.InvalidCard):
        return
    assert card.id_number


@FUZZ
@given(keys=st.lists(st.tuples(st.characters() | st.sampled_from(["\r", "\n"]),
                               st.floats(0, 0.2)), max_size=40))
def test_wedge_detector_loses_no_key(keys):
    count("scanner: keyboard wedge (kiosk.devices.scanner.WedgeDetector)")
    detector = scanner.WedgeDetector(max_gap=0.05, min_length=4)
    now, out = 0.0, []
    for char, gap in keys:
        now += gap
        out += detector.feed(char, now)
        out += detector.flush(now)
    out += detector.flush(now + 1)
    text = "".join(r.code if isinstance(r, scanner.Scanned) else r.text for r in out)
    assert text == "".join(c for c, _ in keys if c not in scanner.ENTER)
    assert not detector.holding


@FUZZ
@given(data=st.binary(max_size=400) | st.lists(st.text(max_size=30), max_size=5).map(
    lambda lines: "\r\n".join(lines).encode("utf-8", "surrogatepass")))
def test_serial_scanner_lines(data):
    count("scanner: serial lines (kiosk.devices.scanner.SerialScanner)")
    device = scanner.SerialScanner("/dev/fuzz")
    device._ser = Wire(data)
    codes = []
    while (code := device.read_code(0.0)) is not None:
        codes.append(code)
        assert code == code.strip() and code
    assert len(codes) <= data.count(b"\n") + data.count(b"\r") + 1


SCHEMAS = [forms.form_for_item(i) for i in catalog.load_bundle(catalog.SAMPLE_CATALOG)["items"]
           + tiny_bundle(1)["items"]]
FIELD_NAMES = sorted({f.name for s in SCHEMAS for f in s.fields})


@FUZZ
@given(schema=st.sampled_from(SCHEMAS),
       answers=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8),
                               scalars | json_values, max_size=12))
def test_form_answers(schema, answers):
    count("form input (kiosk.forms.validate_form)")
    result = forms.validate_form(schema, answers, today=TODAY)
    assert all(isinstance(v, str) for v in result.values.values())
    assert all(e.field for e in result.errors)


@FUZZ
@given(text=st.text(max_size=24) | st.from_regex(r"[1-8][0-9]{16}[0-9Xx]", fullmatch=True)
       | st.text(alphabet="0123456789Xx²³¹١٢٣０１", min_size=18, max_size=18))
def test_resident_id_numbers(text):
    count("ID numbers (kiosk.idnumbers.parse_resident_id / mask)")
    idnumbers.mask_resident_id(text)
    try:
        parsed = idnumbers.parse_resident_id(text, today=TODAY)
    except idnumbers.IdNumberError:
        return
    assert idnumbers.is_valid_resident_id(parsed.number, today=TODAY)


@FUZZ
@given(text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<\n ²١", max_size=100)
       | st.text(max_size=100))
def test_mrz(text):
    count("passport MRZ (kiosk.idnumbers.parse_mrz)")
    with contextlib.suppress(idnumbers.MrzError):
        idnumbers.parse_mrz(text)
