"""GB 11643 resident ID numbers and ICAO 9303 machine-readable zones."""

from datetime import date

import pytest

from kiosk.idnumbers import (
    IdNumberError,
    MrzError,
    gb11643_check_digit,
    is_valid_resident_id,
    mask_resident_id,
    mrz_check_digit,
    parse_mrz,
    parse_resident_id,
)

# The two example numbers printed in GB 11643-1999 itself (one ends in X).
STANDARD_EXAMPLES = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", STANDARD_EXAMPLES)
def test_standard_examples_are_valid(number):
    assert is_valid_resident_id(number)
    assert gb11643_check_digit(number[:17]) == number[17]


def test_parts_of_a_number():
    rid = parse_resident_id("11010519491231002x")  # lower-case x accepted
    assert rid.number == "11010519491231002X"
    assert rid.region == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex == "F"  # 17th digit 2: even
    assert parse_resident_id("440524188001010014").sex == "M"


@pytest.mark.parametrize(
    "number, word",
    [
        ("110105194912310021", "check digit"),  # last digit wrong
        ("11010519491231003X", "check digit"),  # a sequence digit changed
        ("11010519491321002X", "birth date"),  # month 13
        ("11010520991231002X", "not possible"),  # born in the future
        ("00010519491231002X", "region"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "digit or X"),
        ("1101051949123100X2", "digit or X"),
    ],
)
def test_invalid_numbers_say_what_is_wrong(number, word):
    assert not is_valid_resident_id(number, today=date(2026, 12, 7))
    with pytest.raises(IdNumberError, match=word):
        parse_resident_id(number, today=date(2026, 12, 7))


def test_every_single_digit_change_is_caught():
    """GIVEN a valid number WHEN any one of its 17 digits changes THEN the check fails
    (mod 11 with these weights catches every single substitution)."""
    number = STANDARD_EXAMPLES[0]
    for i in range(17):
        for d in "0123456789":
            if d != number[i]:
                changed = number[:i] + d + number[i + 1:]
                assert gb11643_check_digit(changed[:17]) != "X", changed


def test_mask():
    assert mask_resident_id("11010519491231002X") == "1101**********002X"


# ICAO Doc 9303 specimens (part 4 TD3, part 5 TD1, part 6 TD2, part 7 MRV-A / MRV-B).
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
       "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<",
       "7408122F1204159UTO<<<<<<<<<<<6",
       "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
       "D231458907UTO7408122F1204159<<<<<<<6"]
MRVA = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"]
MRVB = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "L8988901C4XXX4009078F9612109<<<<<<<<"]


def test_check_digit_of_the_specimen_number():
    assert mrz_check_digit("L898902C3") == "6"
    assert mrz_check_digit("740812") == "2"
    assert mrz_check_digit("ZE184226B<<<<<") == "1"


@pytest.mark.parametrize("lines, fmt, number", [
    (TD3, "TD3", "L898902C3"), (TD1, "TD1", "D23145890"), (TD2, "TD2", "D23145890"),
    (MRVA, "MRVA", "L8988901C"), (MRVB, "MRVB", "L8988901C"),
])
def test_specimens_parse_and_check(lines, fmt, number):
    mrz = parse_mrz(lines)
    assert mrz.format == fmt
    assert mrz.valid, mrz.failed_checks
    assert mrz.document_number == number
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert mrz.issuer == "UTO"


def test_td3_fields():
    mrz = parse_mrz("\n".join(TD3))
    today = date(2026, 12, 7)
    assert mrz.birth(today) == date(1974, 8, 12)
    assert mrz.expiry(today) == date(2012, 4, 15)
    assert mrz.expired(today)
    assert (mrz.sex, mrz.nationality, mrz.optional_data) == ("F", "UTO", "ZE184226B")
    assert parse_mrz(MRVA).expiry(today) == date(1996, 12, 10)


def test_a_scanner_burst_on_one_line_is_split():
    assert parse_mrz("".join(TD1)).valid
    assert parse_mrz(" " + TD3[0].lower() + " \n\n" + TD3[1] + "\n").valid


@pytest.mark.parametrize("line_no, pos, wrong, check", [
    (1, 9, "3", "document_number"),  # document number digit
    (1, 13, "9", "birth_date"),
    (1, 21, "3", "expiry_date"),
    (1, 30, "Y", "optional_data"),
    (1, 43, "1", "composite"),
])
def test_td3_wrong_digits_are_named(line_no, pos, wrong, check):
    lines = list(TD3)
    lines[line_no] = lines[line_no][:pos] + wrong + lines[line_no][pos + 1:]
    mrz = parse_mrz(lines)
    assert not mrz.valid
    assert check in mrz.failed_checks


def test_td1_composite_catches_a_change_in_optional_data():
    lines = list(TD1)
    lines[1] = lines[1][:20] + "B" + lines[1][21:]  # "A" (10) would not change a mod-10 sum
    assert parse_mrz(lines).failed_checks == ["composite"]


@pytest.mark.parametrize("text, word", [
    ("", "no machine"),
    ("P<UTO\nL8989", "not an MRZ"),
    (TD3[0] + "\n" + TD3[1][:-1], "same length"),
    (TD3[0] + "\n" + TD3[1][:-1] + "?", "characters"),
])
def test_not_an_mrz(text, word):
    with pytest.raises(MrzError, match=word):
        parse_mrz(text)
