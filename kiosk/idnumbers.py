"""Identity numbers: the resident ID number (GB 11643-1999) and travel-document MRZs (ICAO 9303).

Pure functions with no I/O, used by the ID card reader, by the MRZ path for foreign passports and
Hong Kong / Macau / Taiwan permits (a scanner line or typed input), and later by forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

# ---------------------------------------------------------------------------------------------
# GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence (odd = male), check digit.

_GB_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB_CHECK = "10X98765432"  # index = weighted sum mod 11
# Province-level codes (GB/T 2260 first two digits); 71 Taiwan, 81 Hong Kong, 82 Macau appear on
# residence permits (港澳台居民居住证) issued since 2018.
_PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
})


class IdNumberError(ValueError):
    """An ID number is malformed or fails its check; the message says which part is wrong."""


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also takes '²' and other digits int() or a card never has."""
    return text.isascii() and text.isdigit()


def gb11643_check_digit(first17: str) -> str:
    """The check character (0-9 or X) for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not _ascii_digits(first17):
        raise IdNumberError("the first 17 characters of an ID number must be digits")
    total = sum(int(d) * w for d, w in zip(first17, _GB_WEIGHTS, strict=True))
    return _GB_CHECK[total % 11]


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number and what it encodes."""

    number: str
    region: str
    birth_date: date
    sex: str  # "M" or "F" (odd / even sequence digit)


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Check an 18-character resident ID number (GB 11643) and return its parts.

    Raises IdNumberError naming the part that is wrong: length, characters, region, birth date
    (including a date in the future) or check digit. A lower-case x is accepted.
    """
    number = text.strip().upper()
    if len(number) != 18:
        raise IdNumberError(f"an ID number has 18 characters, this one has {len(number)}")
    if not _ascii_digits(number[:17]) or not (_ascii_digits(number[17]) or number[17] == "X"):
        raise IdNumberError("an ID number is 17 digits followed by a digit or X")
    if int(number[:2]) not in _PROVINCES:
        raise IdNumberError(f"region code {number[:6]} is not a province of China")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(f"birth date {number[6:14]} is not a real date") from None
    if born > (today or date.today()) or born.year < 1880:
        raise IdNumberError(f"birth date {born.isoformat()} is not possible")
    expected = gb11643_check_digit(number[:17])
    if number[17] != expected:
        raise IdNumberError(f"check digit is {number[17]}, should be {expected}: a digit is wrong")
    return ResidentId(number, number[:6], born, "M" if int(number[16]) % 2 else "F")


def is_valid_resident_id(text: str, *, today: date | None = None) -> bool:
    """True when ``text`` is a well-formed resident ID number with the right check digit."""
    try:
        parse_resident_id(text, today=today)
    except IdNumberError:
        return False
    return True


def mask_resident_id(number: str) -> str:
    """The number as printed on receipts: first 4 and last 4 characters, the rest starred."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


# ---------------------------------------------------------------------------------------------
# ICAO 9303 machine-readable zones: TD1 (3 x 30), TD2 (2 x 36), TD3 (2 x 44), MRV-A/B visas.

_MRZ_WEIGHTS = (7, 3, 1)
_MRZ_CHARS = re.compile(r"^[A-Z0-9<]+$")


class MrzError(ValueError):
    """A machine-readable zone cannot be read; the message names the line or field."""


def mrz_check_digit(value: str) -> str:
    """ICAO 9303 check digit: digits as themselves, A-Z as 10-35, '<' as 0; weights 7, 3, 1."""
    total = 0
    for i, ch in enumerate(value):
        if _ascii_digits(ch):
            v = int(ch)
        elif "A" <= ch <= "Z":
            v = ord(ch) - ord("A") + 10
        elif ch == "<":
            v = 0
        else:
            raise MrzError(f"character {ch!r} cannot appear in a machine-readable zone")
        total += v * _MRZ_WEIGHTS[i % 3]
    return str(total % 10)


@dataclass(frozen=True)
class Mrz:
    """A parsed machine-readable zone. ``checks`` maps each check-digit name to pass/fail."""

    format: str  # TD1 | TD2 | TD3 | MRVA | MRVB
    document_code: str  # e.g. P, I, ID, V, C?
    issuer: str
    document_number: str
    surname: str
    given_names: str
    nationality: str
    birth_date: str  # YYMMDD as printed
    sex: str  # M, F or <
    expiry_date: str  # YYMMDD as printed
    optional_data: str
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Every check digit in the zone is right."""
        return all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def birth(self, today: date | None = None) -> date | None:
        """The birth date, the century chosen so that it is not in the future."""
        return _mrz_date(self.birth_date, today or date.today(), past=True)

    def expiry(self, today: date | None = None) -> date | None:
        """The expiry date, in this century (documents last at most a few decades)."""
        return _mrz_date(self.expiry_date, today or date.today(), past=False)

    def expired(self, today: date | None = None) -> bool:
        today = today or date.today()
        ends = self.expiry(today)
        return ends is not None and ends < today


def _mrz_date(yymmdd: str, today: date, *, past: bool) -> date | None:
    if not _ascii_digits(yymmdd):
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    century = today.year // 100 * 100
    year = century + yy
    if past and year > today.year:
        year -= 100
    if not past and year > today.year + 50:
        year -= 100
    try:
        return date(year, mm, dd)
    except ValueError:
        return None


def _names(field_text: str) -> tuple[str, str]:
    surname, _, given = field_text.partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def _check(checks: dict[str, bool], name: str, value: str, digit: str) -> None:
    # '<' in a check-digit place means "no check" only for optional data (ICAO 9303 part 3).
    if digit == "<" and name == "optional_data" and set(value) <= {"<"}:
        checks[name] = True
        return
    checks[name] = mrz_check_digit(value) == digit


def normalise_mrz_lines(text: str | list[str]) -> list[str]:
    """Lines from a scanner burst or typed input: upper case, spaces dropped, blank lines gone.

    A scanner that sends the whole zone on one line (no separators) is split by total length.
    """
    raw = text.splitlines() if isinstance(text, str) else list(text)
    lines = [re.sub(r"\s+", "", ln).upper() for ln in raw]
    lines = [ln for ln in lines if ln]
    if len(lines) == 1:
        one = lines[0]
        for width, count in ((30, 3), (36, 2), (44, 2)):
            if len(one) == width * count:
                return [one[i:i + width] for i in range(0, len(one), width)]
    return lines


def parse_mrz(text: str | list[str]) -> Mrz:
    """Parse a TD1, TD2, TD3 or machine-readable visa zone and verify its check digits.

    Raises MrzError when the shape is not an MRZ; a zone of the right shape with wrong check
    digits parses, with ``valid`` False and ``failed_checks`` naming them, so the screen can ask
    for a rescan of just that document.
    """
    lines = normalise_mrz_lines(text)
    if not lines:
        raise MrzError("no machine-readable zone was given")
    for n, ln in enumerate(lines, 1):
        if not _MRZ_CHARS.match(ln):
            raise MrzError(f"line {n} holds characters other than A-Z, 0-9 and <")
    shape = (len(lines), len(lines[0]))
    if any(len(ln) != len(lines[0]) for ln in lines):
        raise MrzError("the lines of a machine-readable zone must have the same length")
    if shape == (3, 30):
        return _td1(lines)
    if shape == (2, 36):
        return _mrvb(lines) if lines[0][0] == "V" else _td2(lines)
    if shape == (2, 44):
        return _mrva(lines) if lines[0][0] == "V" else _td3(lines)
    raise MrzError(
        f"{shape[0]} lines of {shape[1]} characters is not an MRZ "
        "(expected 3 x 30, 2 x 36 or 2 x 44)"
    )


def _doc_code(line: str) -> str:
    return line[:2].replace("<", "")


def _td1(lines: list[str]) -> Mrz:
    l1, l2, l3 = lines
    number, number_cd, opt1 = l1[5:14], l1[14], l1[15:30]
    # Document numbers longer than 9: the rest sits in optional data, ended by its check digit.
    if number_cd == "<" and opt1.strip("<"):
        tail = opt1.rstrip("<")
        number, number_cd, opt1 = number + tail[:-1], tail[-1], opt1[len(tail):]
    checks: dict[str, bool] = {}
    _check(checks, "document_number", number, number_cd)
    _check(checks, "birth_date", l2[0:6], l2[6])
    _check(checks, "expiry_date", l2[8:14], l2[14])
    _check(checks, "composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    surname, given = _names(l3)
    return Mrz("TD1", _doc_code(l1), l1[2:5].replace("<", ""), number.replace("<", ""), surname,
               given, l2[15:18].replace("<", ""), l2[0:6], l2[7], l2[8:14],
               (opt1 + l2[18:29]).strip("<"), checks)


def _td2(lines: list[str]) -> Mrz:
    l1, l2 = lines
    checks: dict[str, bool] = {}
    _check(checks, "document_number", l2[0:9], l2[9])
    _check(checks, "birth_date", l2[13:19], l2[19])
    _check(checks, "expiry_date", l2[21:27], l2[27])
    _check(checks, "composite", l2[0:10] + l2[13:20] + l2[21:35], l2[35])
    surname, given = _names(l1[5:36])
    return Mrz("TD2", _doc_code(l1), l1[2:5].replace("<", ""), l2[0:9].replace("<", ""),
               surname, given, l2[10:13].replace("<", ""), l2[13:19], l2[20], l2[21:27],
               l2[28:35].strip("<"), checks)


def _td3(lines: list[str]) -> Mrz:
    l1, l2 = lines
    checks: dict[str, bool] = {}
    _check(checks, "document_number", l2[0:9], l2[9])
    _check(checks, "birth_date", l2[13:19], l2[19])
    _check(checks, "expiry_date", l2[21:27], l2[27])
    _check(checks, "optional_data", l2[28:42], l2[42])
    _check(checks, "composite", l2[0:10] + l2[13:20] + l2[21:43], l2[43])
    surname, given = _names(l1[5:44])
    return Mrz("TD3", _doc_code(l1), l1[2:5].replace("<", ""), l2[0:9].replace("<", ""),
               surname, given, l2[10:13].replace("<", ""), l2[13:19], l2[20], l2[21:27],
               l2[28:42].strip("<"), checks)


def _visa(lines: list[str], fmt: str, width: int) -> Mrz:
    l1, l2 = lines
    checks: dict[str, bool] = {}  # visas have no composite check digit
    _check(checks, "document_number", l2[0:9], l2[9])
    _check(checks, "birth_date", l2[13:19], l2[19])
    _check(checks, "expiry_date", l2[21:27], l2[27])
    surname, given = _names(l1[5:width])
    return Mrz(fmt, _doc_code(l1), l1[2:5].replace("<", ""), l2[0:9].replace("<", ""),
               surname, given, l2[10:13].replace("<", ""), l2[13:19], l2[20], l2[21:27],
               l2[28:width].strip("<"), checks)


def _mrva(lines: list[str]) -> Mrz:
    return _visa(lines, "MRVA", 44)


def _mrvb(lines: list[str]) -> Mrz:
    return _visa(lines, "MRVB", 36)
