"""The resident ID card reader (二代证阅读器) over a serial port, and the card's text block.

The common reader protocol (the SAM module's): every frame starts with the preamble
AA AA AA 96 69, then a two-byte big-endian length of what follows, then for a command
CMD PARA [data] and for an answer SW1 SW2 SW3 [data], and last an XOR check of the length
bytes and everything after them. Reading a card is find (20 01, answer SW3 9F), select
(20 02, 90) and read text + photo (30 01, 90: text length, photo length, 256 bytes of UCS-2
text, 1024 bytes of WLT photo). The photo is kept exactly as received (the security issue
encrypts it); the text is decoded, the ID number checked (GB 11643) and the validity period
compared with today.

Anything wrong on the wire (noise, short or over-long frames, a wrong check byte, a card lifted
mid-read) becomes a CardReadError whose visitor message is "please place your card again";
nothing else escapes from ``read_card``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kiosk.devices import DeviceError, DeviceState
from kiosk.idnumbers import IdNumberError, parse_resident_id

log = logging.getLogger(__name__)

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
MAX_FRAME = 4096  # the largest answer (text + photo + fingerprints) is about 2.3 KB
TEXT_LEN = 256
PHOTO_LEN = 1024

CMD_FIND = (0x20, 0x01)
CMD_SELECT = (0x20, 0x02)
CMD_READ_BASE = (0x30, 0x01)
CMD_SAM_STATUS = (0x11, 0xFF)

SW_OK = 0x90
SW_FOUND = 0x9F
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81
# Answer codes a reader gives (SW3), for messages in the log and on the admin screen.
SW_MEANING = {
    0x10: "reader got a bad check byte", 0x11: "reader got a bad length",
    0x21: "reader does not know the command", 0x23: "operation not allowed",
    0x24: "reader error", 0x31: "card failed SAM authentication",
    0x32: "SAM failed card authentication", 0x33: "card data failed verification",
    0x40: "unknown card type", 0x41: "card read failed", 0x47: "card answer timed out",
    0x60: "SAM self-test failed", 0x66: "SAM not authorised",
    SW_NO_CARD: "no card on the reader", SW_SELECT_FAILED: "card could not be selected",
}

ETHNICITIES = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
    "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西",
    "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯",
    "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京",
    "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # GB 3304 codes 01-56
ETHNICITY_OTHER = {"97": "其他", "98": "外国血统中国籍人士"}
SEXES = {"0": "unknown", "1": "M", "2": "F", "9": "unspecified"}


# --------------------------------------------------------------------------------------------
# Errors

class IdCardError(DeviceError):
    """Reading an ID card failed."""

    visitor_key = "idcard.place_again"


class ReaderUnavailable(IdCardError):
    """The reader is not there or does not answer at all (port missing, SAM fault)."""

    visitor_key = "idcard.reader_fault"


class NoCard(IdCardError):
    """No card is on the reader."""

    visitor_key = "idcard.place_card"


class CardReadError(IdCardError):
    """The card was there but its data did not arrive whole: place it again."""

    visitor_key = "idcard.place_again"


class InvalidCard(IdCardError):
    """The data arrived intact but does not hold together (bad ID number, impossible date)."""

    visitor_key = "idcard.invalid"


# --------------------------------------------------------------------------------------------
# Frames

def xor(data: bytes) -> int:
    c = 0
    for b in data:
        c ^= b
    return c


def command_frame(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A frame from the host to the reader."""
    body = bytes([cmd, para]) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([xor(length + body)])


def answer_frame(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A frame from the reader to the host (used by the simulated reader)."""
    body = bytes([sw1, sw2, sw3]) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([xor(length + body)])


@dataclass(frozen=True)
class Answer:
    sw1: int
    sw2: int
    sw3: int
    data: bytes


class FrameReader:
    """Reads one answer frame from a byte source, resynchronising on the preamble."""

    def __init__(self, read: Any, timeout: float) -> None:
        self._read = read  # read(n) -> bytes, may return fewer (timeout)
        self.timeout = timeout

    def _exact(self, n: int, deadline: float, what: str) -> bytes:
        out = bytearray()
        while len(out) < n:
            if time.monotonic() > deadline:
                raise CardReadError(f"{what}: got {len(out)} of {n} bytes before the timeout")
            out += self._read(n - len(out))
        return bytes(out)

    def read_answer(self) -> Answer:
        deadline = time.monotonic() + self.timeout
        window = bytearray()
        skipped = 0
        while bytes(window[-5:]) != PREAMBLE:
            if time.monotonic() > deadline:
                raise CardReadError("no frame from the reader" if not skipped else
                                    f"no frame start in {skipped} bytes of noise")
            got = self._read(1)
            if got:
                window += got
                skipped += 1
                if skipped > MAX_FRAME:
                    raise CardReadError(f"no frame start in {skipped} bytes of noise")
        length_bytes = self._exact(2, deadline, "frame length")
        length = int.from_bytes(length_bytes, "big")
        if not 4 <= length <= MAX_FRAME:
            raise CardReadError(f"impossible frame length {length}")
        body = self._exact(length, deadline, "frame body")
        if xor(length_bytes + body[:-1]) != body[-1]:
            raise CardReadError("frame check byte is wrong")
        return Answer(body[0], body[1], body[2], body[3:-1])


# --------------------------------------------------------------------------------------------
# The card

@dataclass(frozen=True)
class IdCard:
    """What a card says. ``photo_wlt`` is the reader's encoded photo, kept as received."""

    name: str
    sex: str  # M | F | unknown | unspecified
    ethnicity: str
    birth_date: date
    address: str
    id_number: str
    authority: str
    valid_from: date
    valid_until: date | None  # None = 长期 (does not expire)
    photo_wlt: bytes = field(default=b"", repr=False)
    card_type: str = "resident"  # resident | hk_macau_taiwan_residence | foreign_permanent
    extra: dict[str, str] = field(default_factory=dict)

    def expired(self, today: date | None = None) -> bool:
        """Past its validity period (a 长期 card never is)."""
        today = today or date.today()
        return self.valid_until is not None and self.valid_until < today

    def not_yet_valid(self, today: date | None = None) -> bool:
        return self.valid_from > (today or date.today())

    def usable(self, today: date | None = None) -> bool:
        """Inside its validity period today."""
        return not self.expired(today) and not self.not_yet_valid(today)


def _field(text: str, start: int, length: int) -> str:
    return text[start:start + length].strip(" \x00")


def _date(value: str, what: str) -> date:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise InvalidCard(f"{what} {value!r} is not a date") from None


def decode_text(block: bytes, photo: bytes = b"", *, today: date | None = None) -> IdCard:
    """Decode the 256-byte UCS-2 (little-endian) text block of a card.

    Layout of the resident card, in characters: name 15, sex 1, ethnicity 2, birth date 8,
    address 35, ID number 18, issuing authority 15, valid from 8, valid until 8, reserved 18.
    Residence permits for Hong Kong, Macau and Taiwan residents (type mark 'J' at character 124)
    share it and add the permit number and issue count; the foreign permanent residence card
    (mark 'I') has its own layout.
    """
    if len(block) != TEXT_LEN:
        raise CardReadError(f"text block has {len(block)} bytes, not {TEXT_LEN}")
    try:
        text = block.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise CardReadError(f"text block is not UCS-2: {exc}") from exc
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise CardReadError("text block holds broken characters")
    mark = text[124] if len(text) > 124 else " "
    if mark == "I":
        return _decode_foreign(text, photo)
    name = _field(text, 0, 15)
    sex_code = _field(text, 15, 1)
    eth_code = _field(text, 16, 2)
    number = _field(text, 61, 18)
    if not name:
        raise InvalidCard("the card holds no name")
    if sex_code not in SEXES:
        raise InvalidCard(f"sex code {sex_code!r} is not a GB 2261 code")
    if eth_code.isascii() and eth_code.isdigit() and 1 <= int(eth_code) <= len(ETHNICITIES):
        ethnicity = ETHNICITIES[int(eth_code) - 1]
    elif eth_code in ETHNICITY_OTHER:
        ethnicity = ETHNICITY_OTHER[eth_code]
    elif mark == "J" and not eth_code:
        ethnicity = ""
    else:
        raise InvalidCard(f"ethnicity code {eth_code!r} is not a GB 3304 code")
    birth = _date(_field(text, 18, 8), "birth date")
    try:
        checked = parse_resident_id(number, today=today)
    except IdNumberError as exc:
        raise InvalidCard(f"ID number on the card: {exc}") from exc
    if checked.birth_date != birth:
        raise InvalidCard("birth date and ID number on the card disagree")
    if SEXES[sex_code] in ("M", "F") and SEXES[sex_code] != checked.sex:
        raise InvalidCard("sex and ID number on the card disagree")
    until_text = _field(text, 102, 8)
    until = None if until_text == "长期" else _date(until_text, "valid-until date")
    extra: dict[str, str] = {}
    card_type = "resident"
    if mark == "J":
        card_type = "hk_macau_taiwan_residence"
        extra = {"permit_number": _field(text, 110, 9), "issue_count": _field(text, 119, 2)}
    return IdCard(name, SEXES[sex_code], ethnicity, birth, _field(text, 26, 35), checked.number,
                  _field(text, 79, 15), _date(_field(text, 94, 8), "valid-from date"), until,
                  photo, card_type, extra)


def _decode_foreign(text: str, photo: bytes) -> IdCard:
    # Foreign permanent residence card: English name 60, sex 1, card number 15, nationality 3,
    # Chinese name 15, valid from 8, valid until 8, birth date 8, version 2, authority code 4.
    sex_code = _field(text, 60, 1)
    if sex_code not in SEXES:
        raise InvalidCard(f"sex code {sex_code!r} is not a GB 2261 code")
    english = _field(text, 0, 60)
    chinese = _field(text, 79, 15)
    return IdCard(chinese or english, SEXES[sex_code], "", _date(_field(text, 110, 8), "birth"),
                  "", _field(text, 61, 15), _field(text, 120, 4),
                  _date(_field(text, 94, 8), "valid-from date"),
                  _date(_field(text, 102, 8), "valid-until date"), photo, "foreign_permanent",
                  {"english_name": english, "nationality": _field(text, 76, 3)})


def encode_text(*, name: str, sex: str, ethnicity: str, birth: str, address: str, number: str,
                authority: str, valid_from: str, valid_until: str, reserved: str = "") -> bytes:
    """A resident card's text block (for the simulated reader and tests): fields padded with
    spaces to their widths, UCS-2 little-endian."""
    parts = [(name, 15), (sex, 1), (ethnicity, 2), (birth, 8), (address, 35), (number, 18),
             (authority, 15), (valid_from, 8), (valid_until, 8), (reserved, 18)]
    text = "".join(value[:width].ljust(width) for value, width in parts)
    return text.encode("utf-16-le")


# --------------------------------------------------------------------------------------------
# The driver

class SerialIdCardReader:
    """A reader on a serial port (pyserial). Opened on first use and kept open."""

    name = "idcard"

    def __init__(self, port: str, baudrate: int = 115200, timeout: float = 2.0, *,
                 kind: str = "serial") -> None:
        self.port, self.baudrate, self.timeout, self.kind = port, baudrate, timeout, kind
        self._ser: Any = None
        self._lock = threading.Lock()
        self.simulator: Any = None  # set by the factory when the hardware is simulated

    def _open(self) -> Any:
        if self._ser is None:
            import serial

            try:
                self._ser = serial.Serial(self.port, self.baudrate, timeout=0.05)
            except (serial.SerialException, ValueError, OSError) as exc:
                raise ReaderUnavailable(f"cannot open the card reader on {self.port}: "
                                        f"{exc}") from exc
        return self._ser

    def _transact(self, cmd: tuple[int, int], timeout: float | None = None) -> Answer:
        import serial

        ser = self._open()
        try:
            ser.reset_input_buffer()  # leftovers of a broken frame must not be read as this one
            ser.write(command_frame(*cmd))
            ser.flush()
            return FrameReader(ser.read, timeout or self.timeout).read_answer()
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise ReaderUnavailable(f"the card reader on {self.port} went away: {exc}") from exc

    def sam_status(self) -> Answer:
        """Ask the reader's security module whether it is well (SW3 90)."""
        with self._lock:
            return self._transact(CMD_SAM_STATUS, timeout=min(self.timeout, 1.0))

    def find_card(self) -> bool:
        """True when a card lies on the reader."""
        with self._lock:
            return self._transact(CMD_FIND).sw3 == SW_FOUND

    def read_card(self, *, today: date | None = None) -> IdCard:
        """Find, select and read the card on the reader.

        Raises NoCard, CardReadError (place it again), InvalidCard or ReaderUnavailable, and
        nothing else: every other failure of a frame or a field is one of those.
        """
        with self._lock:
            try:
                return self._read_card(today)
            except IdCardError:
                raise
            except Exception as exc:  # a decoding slip must never crash the screen
                log.exception("unexpected failure reading a card")
                raise CardReadError(f"card data could not be read: {exc}") from exc

    def _read_card(self, today: date | None) -> IdCard:
        found = self._transact(CMD_FIND)
        if found.sw3 == SW_NO_CARD:
            raise NoCard("no card on the reader")
        if found.sw3 != SW_FOUND:
            raise CardReadError(f"find card: {SW_MEANING.get(found.sw3, hex(found.sw3))}")
        selected = self._transact(CMD_SELECT)
        if selected.sw3 != SW_OK:
            raise CardReadError(f"select card: {SW_MEANING.get(selected.sw3, hex(selected.sw3))}")
        answer = self._transact(CMD_READ_BASE)
        if answer.sw3 == SW_NO_CARD:
            raise CardReadError("the card was lifted during reading")
        if answer.sw3 != SW_OK:
            raise CardReadError(f"read card: {SW_MEANING.get(answer.sw3, hex(answer.sw3))}")
        data = answer.data
        if len(data) < 4:
            raise CardReadError(f"read answer holds {len(data)} bytes, no lengths")
        text_len = int.from_bytes(data[0:2], "big")
        photo_len = int.from_bytes(data[2:4], "big")
        if text_len != TEXT_LEN or len(data) < 4 + text_len + photo_len:
            raise CardReadError(f"read answer lengths (text {text_len}, photo {photo_len}) do "
                                f"not match its {len(data) - 4} data bytes")
        text = data[4:4 + text_len]
        photo = data[4 + text_len:4 + text_len + photo_len]
        return decode_text(text, photo, today=today)

    def state(self) -> DeviceState:
        """Asks the reader's SAM module (11 FF)."""
        try:
            answer = self.sam_status()
        except IdCardError as exc:
            return DeviceState(self.name, self.kind, False, f"{self.port}: {exc}")
        if answer.sw3 != SW_OK:
            return DeviceState(self.name, self.kind, False,
                               f"{self.port}: SAM {SW_MEANING.get(answer.sw3, hex(answer.sw3))}")
        return DeviceState(self.name, self.kind, True, f"{self.port}: ready")

    def close(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(Exception):
                self._ser.close()
            self._ser = None
