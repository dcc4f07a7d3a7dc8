"""Pinyin → characters for the touch keyboard (kiosk.pinyin_input), from pypinyin's own data."""

from __future__ import annotations

import time

from kiosk import pinyin_input
from kiosk.pinyin_input import candidates, split_first, suggest, toneless


def test_common_surnames_come_first():
    assert candidates("zhang").index("张") < 3
    assert candidates("li")[0] == "李"
    assert candidates("wang")[0] == "王"
    assert "陈" in candidates("chen")[:3]


def test_tones_are_ignored_and_u_umlaut_is_v():
    assert toneless("zhāng") == "zhang"
    assert toneless("lǚ") == "lv"
    assert "吕" in candidates("lv")[:16]
    assert "绿" in candidates("lv")


def test_gb2312_level1_before_level2_before_the_rest():
    def level(ch: str) -> int:
        return pinyin_input._gb2312_level(ch)
    chars = [c for c in candidates("zhang") if c not in pinyin_input.SURNAMES]
    levels = [level(c) for c in chars]
    assert levels == sorted(levels)
    assert levels[0] == 1 and 3 in levels  # rare and Traditional characters are still there
    assert "張" in candidates("zhang")


def test_every_character_is_in_the_basic_plane():
    assert all(ord(c) <= 0xFFFF for chars in pinyin_input.table().values() for c in chars)


def test_a_character_is_found_under_each_of_its_readings():
    assert "长" in candidates("chang") and "长" in candidates("zhang")
    # pypinyin lists zhǎng first: under its other reading 长 follows the characters read so.
    assert candidates("zhang").index("长") < 3 < candidates("chang").index("长")


def test_unfinished_syllable_matches_by_prefix():
    first = candidates("zh")
    assert "张" in first[:8] and "中" in first[:40]
    assert all(c in first for c in candidates("zhuang")[:5])
    assert candidates("zhx") == ()


def test_several_syllables_give_the_first_syllable_and_keep_the_rest():
    assert split_first("zhangsan") == ("zhang", "san")
    assert split_first("xian") == ("xian", "")  # one syllable, as every pinyin keyboard does
    assert split_first("zhangs") == ("zhang", "s")
    assert split_first("liming") == ("li", "ming")
    s = suggest("zhangsan")
    assert s.syllable == "zhang" and s.rest == "san" and "张" in s.characters[:3]
    assert "三" in suggest(s.rest).characters[:3]


def test_letters_that_are_no_pinyin_offer_nothing():
    assert suggest("qq").characters == ()
    assert suggest("").characters == ()
    assert suggest("ZHANG").characters == candidates("zhang")


def test_lookup_is_fast_once_built():
    pinyin_input.table()
    started = time.perf_counter()
    for letters in ("zhang", "li", "wangwu", "zh", "xian", "shuang"):
        suggest(letters)
    assert time.perf_counter() - started < 0.5  # generous: well under a tap's worth
