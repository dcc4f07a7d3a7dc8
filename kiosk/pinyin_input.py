"""Pinyin input for the touch keyboard: letters in, Chinese characters out. No Qt here.

A visitor without an ID card types a name as pinyin ("zhangsan") and picks 张 then 三 from a
candidate bar. The table is pypinyin's character→readings data turned round (syllable →
characters), built once on first use. Candidates are ordered by commonness: the twenty
commonest surnames first, then GB 2312 level 1 (the 3755 everyday characters) before level 2 before the rest, then by how many of pypinyin's
phrases a character occurs in, so 张 comes before 獐. Characters outside the Basic
Multilingual Plane are left out: the kiosk font has no glyphs for them.

Simplified characters come first in every interface language: the hall's records, the
mainland ID card and the platform use the standard (Simplified) forms. Traditional forms are
still in the list, after them (see README, "Chinese input").
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache

MAX_SYLLABLE = 6  # "zhuang", "chuang", "shuang"
# The twenty commonest surnames (about half of all people): names are what visitors without an
# ID card type most, so these lead their syllable's list (li → 李 first, not 力).
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class Suggestion:
    """What the letters typed so far offer: candidates for their first syllable."""

    syllable: str            # the letters the candidates are for ("zhang", or "zh" unfinished)
    rest: str                # the letters after it, still waiting ("san")
    characters: tuple[str, ...]


def toneless(reading: str) -> str:
    """pypinyin's toned reading as typed on a keyboard: "lǚ" → "lv", "zhāng" → "zhang"."""
    decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _gb2312_level(ch: str) -> int:
    """1 for GB 2312 level-1 characters, 2 for level 2, 3 for everything else."""
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return 3
    if len(code) == 2 and 0xB0 <= code[0] <= 0xD7:
        return 1
    if len(code) == 2 and 0xD8 <= code[0] <= 0xF7:
        return 2
    return 3


@cache
def table() -> dict[str, tuple[str, ...]]:
    """Tone-less syllable → its characters, most common first. Built once per process."""
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    # How often a character occurs in pypinyin's phrase list: a usable stand-in for frequency.
    used = Counter(ch for phrase in phrases_dict for ch in phrase)
    ranked: dict[str, list[tuple]] = defaultdict(list)
    for code, readings in pinyin_dict.items():
        if not 0x3400 <= code <= 0xFFFF:
            continue
        ch = chr(code)
        if not unicodedata.category(ch).startswith("L"):
            continue
        level = _gb2312_level(ch)
        seen: set[str] = set()
        for n, reading in enumerate(readings.split(",")):
            syllable = toneless(reading)
            if syllable in seen or not syllable.isascii() or not syllable.isalpha():
                continue
            seen.add(syllable)
            # A character's main reading before its other ones: 长 is chang before zhang.
            ranked[syllable].append((ch not in SURNAMES, level, n > 0, -used[ch], code, ch))
    return {s: tuple(entry[-1] for entry in sorted(entries)) for s, entries in ranked.items()}


@cache
def _syllables() -> frozenset[str]:
    return frozenset(table())


@cache
def _prefixes() -> frozenset[str]:
    return frozenset(s[:n] for s in table() for n in range(1, len(s) + 1))


@lru_cache(maxsize=512)
def candidates(syllable: str) -> tuple[str, ...]:
    """Characters for a whole syllable, or for every syllable an unfinished one may become."""
    syllable = syllable.lower()
    exact = table().get(syllable)
    if exact is not None:
        return exact
    if syllable not in _prefixes():
        return ()
    # Unfinished ("zh"): the syllables it can become, merged by the order each list already has.
    lists = [table()[s] for s in _syllables() if s.startswith(syllable)]
    position: dict[str, tuple[int, int]] = {}
    for chars in lists:
        for n, ch in enumerate(chars):
            key = (_gb2312_level(ch), n)
            if ch not in position or key < position[ch]:
                position[ch] = key
    return tuple(sorted(position, key=lambda ch: (position[ch], ord(ch))))


def _parses(letters: str) -> bool:
    """Whether ``letters`` are whole syllables, the last of them perhaps unfinished."""
    if not letters:
        return True
    if letters in _prefixes():
        return True
    return any(letters[:n] in _syllables() and _parses(letters[n:])
               for n in range(min(MAX_SYLLABLE, len(letters)), 0, -1))


def split_first(letters: str) -> tuple[str, str]:
    """The first syllable of ``letters`` and what follows: "zhangsan" → ("zhang", "san").

    The longest syllable that leaves a parseable rest wins ("xian" stays one syllable, as in
    every pinyin keyboard; "xi" + "an" needs the visitor to pick 西 first). Letters that are no
    pinyin at all come back whole, with no rest."""
    letters = letters.lower()
    if letters in _syllables() or (letters in _prefixes() and len(letters) <= MAX_SYLLABLE):
        return letters, ""
    for n in range(min(MAX_SYLLABLE, len(letters)), 0, -1):
        if letters[:n] in _syllables() and _parses(letters[n:]):
            return letters[:n], letters[n:]
    return letters, ""


def suggest(letters: str) -> Suggestion:
    """Candidates for the first syllable of the letters typed so far."""
    syllable, rest = split_first(letters)
    return Suggestion(syllable, rest, candidates(syllable) if syllable else ())
