"""A simulated ID card reader that speaks the reader's frames over a pseudo-terminal.

The kiosk's real driver (kiosk.devices.idcard.SerialIdCardReader) opens ``SimulatedReader.port``
as it would open the reader's USB-serial port. The simulator answers find / select / read /
SAM-status frames for the card placed on it, and can be told to misbehave the ways readers and
cards do: a wrong check byte, a short or over-long frame, noise, silence, an error status, a
card lifted half-way through the read, broken text. ``FAULTS`` lists every kind.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from kiosk.devices.idcard import (
    CMD_FIND,
    CMD_READ_BASE,
    CMD_SAM_STATUS,
    CMD_SELECT,
    PHOTO_LEN,
    PREAMBLE,
    SW_FOUND,
    SW_NO_CARD,
    SW_OK,
    answer_frame,
    encode_text,
    xor,
)
from kiosk.devices.pty_device import PtyDevice

# Each fault spoils the answer to one read (the last step unless its name says otherwise).
FAULTS = {
    "bad_checksum": "read answer with a wrong XOR check byte",
    "short_frame": "read answer cut off half-way, then silence",
    "bad_preamble": "read answer starting AA AA AA 96 68",
    "length_overflow": "length field FFFF",
    "length_too_long": "length field larger than the bytes sent",
    "length_too_short": "length field smaller than the frame",
    "zero_length": "length field 0000",
    "noise_only": "bytes with no frame in them",
    "silence": "no answer to the read command",
    "sw_error": "read answer with status 41 (card read failed)",
    "lifted": "card lifted during the read: the answer stops and the card is gone",
    "lifted_before_read": "card lifted between select and read (status 80)",
    "bad_text_length": "text length field 300",
    "truncated_data": "read answer with lengths but no text",
    "bad_utf16": "text block holding a broken UTF-16 surrogate",
    "bad_check_digit": "ID number with a wrong GB 11643 check digit",
    "bad_date": "birth date 19AB0101",
    "find_garbled": "find-card answer with a wrong check byte",
    "select_failed": "select-card answer status 81",
    # These two are recoverable: the driver must still read the card.
    "leading_noise": "noise before a good read answer (driver resynchronises)",
    "split_frame": "good read answer arriving in three pieces",
}
RECOVERABLE = ("leading_noise", "split_frame")


@dataclass(frozen=True)
class SimCard:
    """A card's printed fields, as the reader's text block holds them."""

    name: str
    sex: str  # "1" male, "2" female
    ethnicity: str  # GB 3304 code, "01" = 汉
    birth: str  # YYYYMMDD
    address: str
    number: str
    authority: str
    valid_from: str
    valid_until: str  # YYYYMMDD or 长期
    photo: bytes = bytes(range(256)) * 4  # stands in for the 1024-byte WLT photo

    def text_block(self) -> bytes:
        return encode_text(name=self.name, sex=self.sex, ethnicity=self.ethnicity,
                           birth=self.birth, address=self.address, number=self.number,
                           authority=self.authority, valid_from=self.valid_from,
                           valid_until=self.valid_until)


def demo_card() -> SimCard:
    """A fictional holder with the example number of the GB 11643-1999 standard."""
    return SimCard(name="张丽", sex="2", ethnicity="01", birth="19491231",
                   address="北京市朝阳区示例路1号院2号楼301室", number="11010519491231002X",
                   authority="北京市公安局朝阳分局", valid_from="20200101", valid_until="长期")


class SimulatedReader(PtyDevice):
    """The reader's end of the pty. ``card`` is what lies on it (None = nothing)."""

    def __init__(self, card: SimCard | None = None) -> None:
        self.card = card
        self.faults: list[str] = []  # applied one per read, first first
        self.sam_ok = True
        self.commands: list[tuple[int, int]] = []
        self._buf = bytearray()
        self._lock = threading.Lock()
        super().__init__("sim-idcard")

    def place(self, card: SimCard | None) -> None:
        self.card = card

    def lift(self) -> None:
        self.card = None

    def fail_next(self, *faults: str) -> None:
        """Spoil the next reads, one fault each (see FAULTS)."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown reader faults {unknown}; known: {', '.join(FAULTS)}")
        self.faults += faults

    def on_bytes(self, data: bytes) -> None:
        with self._lock:
            self._buf += data
            while True:
                start = self._buf.find(PREAMBLE)
                if start < 0 or len(self._buf) < start + 7:
                    return
                length = int.from_bytes(self._buf[start + 5:start + 7], "big")
                end = start + 7 + length
                if len(self._buf) < end:
                    return
                frame = bytes(self._buf[start:end])
                del self._buf[:end]
                body = frame[7:-1]
                if xor(frame[5:-1]) != frame[-1] or len(body) < 2:
                    self.send(answer_frame(0x10))  # "bad check byte" from the reader
                    continue
                self._answer((body[0], body[1]))

    def _answer(self, cmd: tuple[int, int]) -> None:
        self.commands.append(cmd)
        fault = self.faults[0] if self.faults else None
        if cmd == CMD_SAM_STATUS:
            self.send(answer_frame(SW_OK if self.sam_ok else 0x60))
        elif cmd == CMD_FIND:
            if fault == "find_garbled":
                self.faults.pop(0)
                good = answer_frame(SW_FOUND, b"\x00" * 4)
                self.send(good[:-1] + bytes([good[-1] ^ 0xFF]))
                return
            self.send(answer_frame(SW_FOUND if self.card else SW_NO_CARD,
                                   b"\x00" * 4 if self.card else b""))
        elif cmd == CMD_SELECT:
            if fault == "select_failed":
                self.faults.pop(0)
                self.send(answer_frame(0x81))
                return
            self.send(answer_frame(SW_OK if self.card else 0x81, b"\x00" * 8 if self.card else b""))
        elif cmd == CMD_READ_BASE:
            if fault is not None and fault not in ("find_garbled", "select_failed"):
                self.faults.pop(0)
            else:
                fault = None
            self._read_answer(fault)
        else:
            self.send(answer_frame(0x21))  # unknown command

    def _read_answer(self, fault: str | None) -> None:
        card = self.card
        if card is None or fault == "lifted_before_read":
            self.send(answer_frame(SW_NO_CARD))
            return
        if fault == "bad_check_digit":
            card = replace(card, number=card.number[:17] + ("1" if card.number[17] != "1" else "2"))
        elif fault == "bad_date":
            card = replace(card, birth="19AB0101")
        text = card.text_block()
        if fault == "bad_utf16":
            text = b"\x00\xd8" + text[2:]  # a lone high surrogate where the name starts
        photo = card.photo[:PHOTO_LEN].ljust(PHOTO_LEN, b"\x00")
        text_len = 300 if fault == "bad_text_length" else len(text)
        data = text_len.to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo
        if fault == "truncated_data":
            data = data[:4]
        frame = answer_frame(SW_OK, data)
        if fault == "bad_checksum":
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        elif fault == "short_frame":
            frame = frame[: len(frame) // 2]
        elif fault == "bad_preamble":
            frame = b"\xaa\xaa\xaa\x96\x68" + frame[5:]
        elif fault == "length_overflow":
            frame = frame[:5] + b"\xff\xff" + frame[7:]
        elif fault == "length_too_long":
            frame = frame[:5] + (len(frame) - 7 + 100).to_bytes(2, "big") + frame[7:]
        elif fault == "length_too_short":
            frame = frame[:5] + (10).to_bytes(2, "big") + frame[7:]
        elif fault == "zero_length":
            frame = frame[:5] + b"\x00\x00" + frame[7:]
        elif fault == "noise_only":
            frame = bytes((i * 37 + 11) % 256 for i in range(96)).replace(b"\xaa", b"\xab")
        elif fault == "silence":
            return
        elif fault == "sw_error":
            frame = answer_frame(0x41)
        elif fault == "lifted":
            frame = frame[:300]
            self.card = None
        elif fault == "leading_noise":
            frame = b"\x00\x13\xaa\xaa\x55\xff" * 5 + frame
        if fault == "split_frame":
            third = len(frame) // 3
            for piece in (frame[:third], frame[third:2 * third], frame[2 * third:]):
                self.send(piece)
                time.sleep(0.02)
            return
        self.send(frame)
