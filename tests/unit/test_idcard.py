"""The real serial ID card driver against the simulated reader on a pseudo-terminal."""

from dataclasses import replace
from datetime import date

import pytest

from kiosk.devices.idcard import (
    CardReadError,
    IdCardError,
    InvalidCard,
    NoCard,
    ReaderUnavailable,
    SerialIdCardReader,
    answer_frame,
    command_frame,
    decode_text,
    encode_text,
)
from kiosk.devices.idcard_sim import FAULTS, RECOVERABLE, SimCard, SimulatedReader, demo_card
from kiosk.i18n import tr

pytestmark = pytest.mark.pty


@pytest.fixture
def reader():
    sim = SimulatedReader(demo_card())
    driver = SerialIdCardReader(sim.port, 115200, timeout=0.3)
    yield sim, driver
    driver.close()
    sim.close()


def test_command_frames_are_the_documented_bytes():
    assert command_frame(0x20, 0x01) == bytes.fromhex("aaaaaa9669 0003 2001 22")
    assert command_frame(0x20, 0x02) == bytes.fromhex("aaaaaa9669 0003 2002 21")
    assert command_frame(0x30, 0x01) == bytes.fromhex("aaaaaa9669 0003 3001 32")
    assert answer_frame(0x9F, b"\0\0\0\0") == bytes.fromhex("aaaaaa9669 0008 00009f 00000000 97")


def test_reads_a_valid_card(reader):
    sim, driver = reader
    card = driver.read_card(today=date(2026, 12, 7))
    assert (card.name, card.sex, card.ethnicity) == ("张丽", "F", "汉")
    assert card.birth_date == date(1949, 12, 31)
    assert card.address == "北京市朝阳区示例路1号院2号楼301室"
    assert card.id_number == "11010519491231002X"
    assert card.authority == "北京市公安局朝阳分局"
    assert card.valid_from == date(2020, 1, 1) and card.valid_until is None  # 长期
    assert card.photo_wlt == demo_card().photo  # kept exactly as received
    assert not card.expired(date(2026, 12, 7))
    assert sim.commands == [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01)]


def test_validity_against_today(reader):
    sim, driver = reader
    sim.place(replace(demo_card(), valid_from="20100301", valid_until="20200301"))
    card = driver.read_card()
    assert card.expired(date(2026, 12, 7)) and not card.usable(date(2026, 12, 7))
    assert card.usable(date(2015, 1, 1))
    assert card.not_yet_valid(date(2009, 1, 1))


def test_a_male_card_with_the_other_standard_number(reader):
    sim, driver = reader
    sim.place(SimCard("李明", "1", "03", "18800101", "广东省示例县某某村", "440524188001010014",
                      "示例县公安局", "20200101", "20400101"))
    card = driver.read_card(today=date(2026, 12, 7))
    assert (card.name, card.sex, card.ethnicity) == ("李明", "M", "回")
    assert card.valid_until == date(2040, 1, 1)


def test_no_card(reader):
    sim, driver = reader
    sim.lift()
    with pytest.raises(NoCard) as info:
        driver.read_card()
    assert tr(info.value.visitor_key, "zh-Hans") == "请将身份证放在读卡区"


GARBLED = [f for f in FAULTS if f not in RECOVERABLE]


def test_at_least_ten_kinds_of_garbled_frame():
    assert len(GARBLED) >= 10


@pytest.mark.parametrize("fault", GARBLED)
def test_garbled_answer_asks_to_place_the_card_again_and_the_next_read_works(reader, fault):
    """GIVEN the reader spoils one answer WHEN the card is read THEN a named IdCardError comes
    out (never another exception) telling the visitor what to do, AND the next read works."""
    sim, driver = reader
    sim.fail_next(fault)
    with pytest.raises(IdCardError) as info:
        driver.read_card(today=date(2026, 12, 7))
    assert isinstance(info.value, (CardReadError, InvalidCard)), type(info.value)
    invalid = fault in ("bad_check_digit", "bad_date")  # intact frame, impossible content
    expected = "idcard.invalid" if invalid else "idcard.place_again"
    assert info.value.visitor_key == expected
    sim.place(demo_card())  # "lifted" took the card away: the visitor puts it back
    assert driver.read_card(today=date(2026, 12, 7)).id_number == "11010519491231002X"


@pytest.mark.parametrize("fault", RECOVERABLE)
def test_noise_and_split_frames_are_read_through(reader, fault):
    sim, driver = reader
    sim.fail_next(fault)
    assert driver.read_card().name == "张丽"


def test_card_lifted_mid_read_then_nothing_on_the_reader(reader):
    sim, driver = reader
    sim.fail_next("lifted")
    with pytest.raises(CardReadError):
        driver.read_card()
    with pytest.raises(NoCard):
        driver.read_card()


def test_state_asks_the_sam(reader):
    sim, driver = reader
    assert driver.state().ok
    sim.sam_ok = False
    state = driver.state()
    assert not state.ok and "SAM self-test failed" in state.detail


def test_missing_port():
    driver = SerialIdCardReader("/dev/does-not-exist", timeout=0.2)
    with pytest.raises(ReaderUnavailable) as info:
        driver.read_card()
    assert info.value.visitor_key == "idcard.reader_fault"
    assert not driver.state().ok


def test_text_block_checks():
    good = demo_card().text_block()
    assert decode_text(good).name == "张丽"
    with pytest.raises(CardReadError, match="bytes"):
        decode_text(good[:200])
    sex_mismatch = encode_text(name="张丽", sex="1", ethnicity="01", birth="19491231",
                               address="x", number="11010519491231002X", authority="y",
                               valid_from="20200101", valid_until="长期")
    with pytest.raises(InvalidCard, match="sex"):
        decode_text(sex_mismatch)
    wrong_birth = good.decode("utf-16-le").replace("19491231", "19491230", 1).encode("utf-16-le")
    with pytest.raises(InvalidCard, match="disagree"):
        decode_text(wrong_birth)
    bad_ethnicity = good.decode("utf-16-le")
    bad_ethnicity = (bad_ethnicity[:16] + "77" + bad_ethnicity[18:]).encode("utf-16-le")
    with pytest.raises(InvalidCard, match="ethnicity"):
        decode_text(bad_ethnicity)
