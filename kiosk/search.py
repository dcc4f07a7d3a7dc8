"""Catalog search: Chinese substrings, pinyin, initials, aliases, English, Traditional Chinese.

Everything expensive happens in :func:`index_items`, when a catalog is applied: pinyin, text
normalisation, and the de-duplication of guide text. Its result is a few large values in one
table, ``search_index`` (created by :func:`create_tables`): joined strings and packed integers.
A query loads them into memory once per applied catalog (cached by the index's random
``generation``; ~0.2 s and ~20 MB for 10,000 items) and searches them with ``str.find``,
bisection and a few compiled patterns, which all run in C.

Why not FTS5 (as before): 10,000 items have ~56,000 names and aliases and ~7 million characters
of guide text. Indexing them as bigram and pinyin-suffix tokens took ~6 s per apply and ~55 MB;
this takes ~0.5 s and ~10 MB, and a query takes a few milliseconds.

Short documents, an item's name or alias in one language, are numbered in *static rank order*
(names first, then text length, code, language, position), so the first ``limit`` distinct
items found are the best ones:

* ``doc_canon``: each document's segments (Chinese runs and words: NFKC, case-folded, accents
  removed, punctuation dropped) joined by U+001F. Exact and prefix matches are found by
  bisection in the documents sorted by this text; a substring match is a Chinese run anywhere
  (so 1-2 character queries work) or words as prefixes of consecutive word segments.
* ``doc_py`` / ``doc_ini``: full pinyin and initials of each Chinese document, one unit per
  Chinese character (a word is one unit), each unit's first letter upper-case (YingYeZhiZhao,
  YYZZ). Pinyin typed by a visitor must start on a unit and may run across units: it is found
  in a lower-case copy and checked against the upper-case marks; exact and prefix matches by
  bisection.
* ``doc_text`` / ``doc_sylls`` / ``doc_meta`` / ``name_docs``: the original text, its syllables
  (for highlighting), item, field and language, and each item's name in each language.

Guide text (summary, conditions, materials, steps, FAQ, legal basis, fees, place, hours):

* ``piece_text``: each distinct line once, numbered in order of first use by the items in text
  rank order (shorter zh-Hans name first, then code); ``piece_first`` holds that first item.
  Boilerplate such as "申请人身份证原件" is stored once, not once per item.
* ``item_pieces`` / ``item_offsets``: each item's lines per language, one character per line.
  A query finds the matching lines, then the items using them with ``str.find`` in rank order,
  and stops as soon as no later line can bring a better item.

In guide text, words of 1-2 letters match whole words only and single Chinese characters are
not looked up (too common to be useful). ``t2s``: Traditional -> Simplified characters learnt
from the catalog's own aligned zh-Hant / zh-Hans texts, so a Traditional query also finds
Simplified-only aliases and text.

Ranking: name > alias > guide text; within a field exact > prefix > substring, then the shorter
matched text (name or alias; for guide text the item's zh-Hans name), then the item code.
User text never reaches SQL: queries run on the strings in memory.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import re
import sqlite3
import threading
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add, itemgetter

import sqlite_utils

log = logging.getLogger(__name__)

LANGS = ("zh-Hans", "zh-Hant", "en")
FIELDS = ("name", "alias", "text")
_FIELD_WEIGHT = {"name": 3, "alias": 2, "text": 1}
_EXACT, _PREFIX, _SUBSTRING = 3, 2, 1

MAX_QUERY_CHARS = 64
MAX_GROUPS = 12
SNIPPET_CHARS = 60

_DOC = "\x1e"  # separates documents (and pieces) in the joined strings
_CJK = "\x1d"  # stands for a Chinese run where only words are searched
_SEG = "\x1f"  # separates segments inside a canonical document
_PIECE_BASE = 0x100  # item_pieces stores piece n as chr(_PIECE_BASE + n), skipping surrogates
_RANK_KEY = itemgetter(0, 1)  # (zh-Hans name length, code)
_MAX_PIECES = 0x110000 - 0x800 - _PIECE_BASE

# Characters written without spaces between words: matched as runs (any substring of a run).
_DENSE = (
    "\u3005-\u3007\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
)
_SEG_RE = re.compile(f"([{_DENSE}]+)|([^\\W_{_DENSE}]+)")
_WORDCHAR = f"[^\\W_{_DENSE}]"
_DENSE_CHAR = re.compile(f"[{_DENSE}]").match
_DENSE_RUN_RE = re.compile(f"[{_DENSE}]+")
_WORDCHAR_AT = re.compile(_WORDCHAR).match
_WORD_TAIL_AT = re.compile(f"{_WORDCHAR}*").match
_GAP_AT = re.compile(r"[\W_]+").match
# Segments of many documents at once: Chinese runs, words, and the document separator.
_TOKEN_RE = re.compile(f"[{_DENSE}]+|[^\\W_{_DENSE}]+|{_DOC}")
_PINYIN_QUERY_RE = re.compile(r"[a-zü' \-]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SEPARATORS_RE = re.compile("[\x1c-\x1f]")
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_SPACES_RE = re.compile(f"[^\\S{_DOC}]+")  # whitespace other than the document separator
_FULLWIDTH_PUNCT_RE = re.compile("[\u3000\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+")
# A run of characters NFKC may change, with the character before it (which it may combine with).
_COMPAT_RUN_RE = re.compile("[\\s\\S]?[^\\x00-\\x7f\u3400-\u4dbf\u4e00-\u9fff]+")
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NOT_LATIN1_GAP_RE = re.compile(r"[^\w\x00-\xff]")  # punctuation beyond Latin-1
# Between two consecutive words of guide text: anything but a word, Chinese or a piece boundary.
_TEXT_GAP = f"(?:[^\\w{_DOC}{_CJK}]|_)+"


# --- schema ----------------------------------------------------------------------------------


def create_tables(db: sqlite_utils.Database) -> None:
    """Create the (empty) search index. Called once by migration 0002, inside its transaction."""
    db.execute(
        """CREATE TABLE search_index (
            part TEXT PRIMARY KEY,  -- 'generation', 'codes', 'doc_canon', ... (see kiosk.search)
            data NOT NULL  -- TEXT (joined strings, JSON) or BLOB (packed unsigned integers)
        )"""
    )


# --- text processing shared by indexing and querying -----------------------------------------


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _norm_long(text: str) -> str:
    """:func:`_norm` for matching many texts joined: fast, but punctuation may become spaces.

    NFKC over a whole catalog costs ~80 ns a character; here only the runs that are neither
    ASCII nor common Chinese are normalized, and full-width punctuation (most of what is left)
    becomes a space, which is all a separator needs to be.
    """
    text = _FULLWIDTH_PUNCT_RE.sub(" ", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _COMPAT_RUN_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.casefold()


def _fold(normalized: str) -> str:
    """Drop Latin diacritics (café -> cafe) so either spelling finds the other."""
    if unicodedata.is_normalized("NFD", normalized):
        return normalized
    stripped = _COMBINING_RE.sub("", unicodedata.normalize("NFD", normalized))
    return unicodedata.normalize("NFC", stripped)


def _normalize_with_map(text: str) -> tuple[str, list[int] | None]:
    """Normalized text and, when lengths differ, the original index of each normalized char."""
    n = _norm(text)
    if len(n) == len(text):
        return n, None
    parts: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        c = _norm(ch)
        parts.append(c)
        index.extend([i] * len(c))
    return "".join(parts), index


def _to_original(span: tuple[int, int], index: list[int] | None, size: int) -> tuple[int, int]:
    start, end = span
    if index is None:
        return min(start, size), min(end, size)
    if start >= len(index):
        return size, size
    first = index[start]
    return first, (min(index[end - 1] + 1, size) if end > start else first)


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def _joined(texts: list[str]) -> str:
    """texts joined by the document separator, which is removed from inside any of them."""
    joined = _DOC.join(texts)
    if joined.count(_DOC) != len(texts) - 1 or _SEG in joined:
        joined = _DOC.join(_SEPARATORS_RE.sub(" ", t) for t in texts)
    return joined


def _canonical(joined: str) -> str:
    """Normalized segments of each document of ``joined``: separators kept, punctuation dropped."""
    tokens = _TOKEN_RE.findall(_fold(_norm_long(joined)))
    return _SEG.join(tokens).replace(_SEG + _DOC, _DOC).replace(_DOC + _SEG, _DOC)


def _cap(unit: str) -> str:
    """Mark a pinyin unit's start with an upper-case first letter (see doc_py)."""
    return unit[0].upper() + unit[1:] if "a" <= unit[0] <= "z" else unit


# --- indexing --------------------------------------------------------------------------------


def warm_up() -> None:
    """Load pypinyin's tables now (~0.15 s), e.g. while a catalog download is still running."""
    _Pinyin()


class _Pinyin:
    """pypinyin's readings, computed the way ``lazy_pinyin`` does, cached per run and per word.

    pypinyin's own data (phrase dictionary with its longest-match segmentation, then each
    character's most common reading) gives the same syllables as ``lazy_pinyin`` (heteronyms in
    phrases included: 重庆 chongqing, 银行 yinhang) at a fraction of the cost, because a
    catalog repeats the same runs and words thousands of times.
    """

    def __init__(self) -> None:
        from pypinyin import Style
        from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
        from pypinyin.seg.simpleseg import seg
        from pypinyin.style import convert

        self._phrases = PHRASES_DICT
        self._readings_of = PINYIN_DICT
        self._is_hans = RE_HANS.match
        self._seg = seg
        self._convert = convert
        self._normal_style = Style.NORMAL
        self._toneless: dict[str, str] = {}
        self._words: dict[str, list[str]] = {}
        self._runs: dict[str, tuple[str, str, str]] = {}
        self._docs: dict[str, tuple[str, str, str]] = {}

    def _normal(self, reading: str, ch: str) -> str:
        out = self._toneless.get(reading)
        if out is None:
            converted = self._convert(reading, self._normal_style, strict=True, default=reading)
            out = self._toneless[reading] = _norm(converted or "").replace(" ", "")
        return out or ch

    def _char(self, ch: str) -> str:
        readings = self._readings_of.get(ord(ch))
        return self._normal(readings.split(",")[0], ch) if readings else ch

    def _word(self, word: str) -> list[str]:
        sylls = self._words.get(word)
        if sylls is None:
            if not self._is_hans(word):
                sylls = list(word)  # kana, hangul, ...: each character stands for itself
            else:
                phrase = self._phrases.get(word)
                if phrase is not None and len(phrase) == len(word) and all(phrase):
                    sylls = [self._normal(r[0], ch) for r, ch in zip(phrase, word, strict=True)]
                else:
                    sylls = [self._char(ch) for ch in word]
            self._words[word] = sylls
        return sylls

    def syllables(self, run: str) -> list[str]:
        """The syllable of each character of a run of Chinese characters, in order."""
        sylls = [s for word in self._seg(run) for s in self._word(word)]
        if len(sylls) != len(run):
            sylls = [self._char(ch) if self._is_hans(ch) else ch for ch in run]
        return sylls

    def _run(self, run: str) -> tuple[str, str, str]:
        got = self._runs.get(run)
        if got is None:
            sylls = self.syllables(run)
            got = self._runs[run] = ("".join(map(_cap, sylls)),
                                     "".join(_cap(s[0]) for s in sylls), " ".join(sylls))
        return got

    def document(self, canon: str) -> tuple[str, str, str]:
        """(pinyin, initials, syllables) of a canonical document (see doc_py)."""
        got = self._docs.get(canon)
        if got is None:
            py, ini, sylls = [], [], []
            for segment in canon.split(_SEG) if canon else ():
                if _DENSE_CHAR(segment):
                    p, i, s = self._run(segment)
                    sylls.append(s)
                else:
                    p = i = _cap(segment)
                py.append(p)
                ini.append(i)
            got = self._docs[canon] = ("".join(py), "".join(ini), " ".join(sylls))
        return got


def _same_shape(a: str, b: str) -> bool:
    """Whether two canonical documents have segments of the same lengths (a text and its
    character-for-character translation)."""
    return len(a) == len(b) and list(map(len, a.split(_SEG))) == list(map(len, b.split(_SEG)))


def _item_name(item: dict, lang: str) -> str:
    name = item.get("name") if isinstance(item.get("name"), dict) else {}
    value = name.get(lang) or name.get("zh-Hans") or item.get("code") or ""
    return value if isinstance(value, str) else str(value)


def _guide_strings(item: dict) -> list[list]:
    """The item's guide text per language (None where a line lacks it), in guide order.

    Summary, conditions, materials, steps, FAQ, legal basis, fees, time limit note, place and
    hours. The same position in each language's list holds the same line.
    """
    guide = item.get("guide")
    if type(guide) is not dict:
        guide = {}
    values: list = [item.get("summary")]
    entries = guide.get("conditions")
    if type(entries) is list:
        values += entries
    entries = guide.get("materials")
    if type(entries) is list:
        for entry in entries:
            if type(entry) is dict:
                get = entry.get
                values += (get("name"), get("format"), get("sample"), get("note"))
    entries = guide.get("steps")
    if type(entries) is list:
        for entry in entries:
            if type(entry) is dict:
                values += (entry.get("title"), entry.get("detail"))
    entries = guide.get("faq")
    if type(entries) is list:
        for entry in entries:
            if type(entry) is dict:
                values += (entry.get("q"), entry.get("a"))
    entries = guide.get("legal_basis")
    if type(entries) is list:
        values += entries
    fees = guide.get("fees")
    if type(fees) is dict:
        entries = fees.get("items")
        if type(entries) is list:
            for entry in entries:
                if type(entry) is dict:
                    values += (entry.get("name"), entry.get("amount"), entry.get("basis"))
        values.append(fees.get("note"))
    time_limit = guide.get("time_limit")
    if type(time_limit) is dict:
        values.append(time_limit.get("note"))
    values += (guide.get("place"), guide.get("hours"))
    values = [v for v in values if type(v) is dict]
    return [list(map(dict.get, values, repeat(lang))) for lang in LANGS]


def _piece_char(n: int) -> str:
    code = _PIECE_BASE + n
    return chr(code if code < 0xD800 else code + 0x800)


def _piece_number(ch: str) -> int:
    code = ord(ch)
    return (code if code < 0xD800 else code - 0x800) - _PIECE_BASE


class _Pieces:
    """Distinct guide-text lines and, per item and language, the lines it uses (see piece_text)."""

    def __init__(self) -> None:
        self.char_of: dict[object, str] = {None: ""}  # raw string -> its piece character
        self.texts: list[str] = []
        self.first = array("I")  # text rank of the first item that uses each piece
        self.item_pieces: list[str] = []  # per item and language: piece characters

    def add_item(self, rank: int, per_lang: list[list], pairs: set[tuple]) -> None:
        """Record the item's lines; a new Simplified line also goes to ``pairs`` with its
        Traditional version (for _learn_t2s)."""
        get = self.char_of.get
        for lang_index, values in enumerate(per_lang):
            try:
                chars = list(map(get, values))  # lines seen before, and None: all in C
            except TypeError:  # a value that cannot be hashed (a bundle that was not validated)
                chars = [None if type(value) is str else "" for value in values]
            if None in chars:  # a new line, or a value that is not text
                for k, ch in enumerate(chars):
                    if ch is None:
                        value = values[k]
                        chars[k] = self._char(value, rank)
                        if lang_index == 0 and type(value) is str and type(per_lang[1][k]) is str:
                            pairs.add((per_lang[1][k], value))
            self.item_pieces.append("".join(chars))

    def _char(self, value: object, rank: int) -> str:
        if type(value) is not str:
            return ""
        ch = self.char_of.get(value)
        if ch is None:
            if len(self.texts) >= _MAX_PIECES:
                log.warning("search: more than %d distinct guide lines; the rest are not searchable",
                            _MAX_PIECES)
                ch = ""
            else:
                ch = _piece_char(len(self.texts))
                self.texts.append(value)
                self.first.append(rank)
            self.char_of[value] = ch
        return ch


def index_items(db: sqlite_utils.Database, items: list[dict]) -> None:
    """Replace the search index with one for ``items`` (bundle dicts).

    Runs inside the caller's transaction; opens and commits none itself.
    """
    write_index(db, build_index(items))


def build_index(items: list[dict]) -> dict[str, object]:
    """The index for ``items``, computed with no database: callers build it before they take
    the store's write lock, so a visitor filing meanwhile is not kept waiting."""
    entries = [(len(_item_name(item, "zh-Hans")), str(item["code"]), item)
               for item in items if isinstance(item, dict) and item.get("code")]
    entries.sort(key=_RANK_KEY)  # text rank order; stable for (invalid) repeated codes

    # Names and aliases: (length, code, language, position, rank, text, Simplified original).
    name_docs: list[tuple] = []
    alias_docs: list[tuple] = []
    pieces = _Pieces()
    pairs: set[tuple] = set()  # (zh-Hant, zh-Hans) values given for the same thing
    for rank, (_, code, item) in enumerate(entries):
        names = item.get("name")
        if type(names) is dict:
            hans, hant, en = names.get("zh-Hans"), names.get("zh-Hant"), names.get("en")
            if isinstance(hans, str) and hans.strip():
                name_docs.append((len(hans), code, 0, 0, rank, hans, None))
            if isinstance(hant, str) and hant != hans and hant.strip():
                source = hans if isinstance(hans, str) else None
                name_docs.append((len(hant), code, 1, 0, rank, hant, source))
                _pair(pairs, [hant], [hans])
            if isinstance(en, str) and en != hans and en != hant and en.strip():
                name_docs.append((len(en), code, 2, 0, rank, en, None))
        aliases = item.get("aliases")
        if type(aliases) is dict:
            hans_aliases = aliases.get("zh-Hans")
            seen: set[str] = set()
            for lang_index, lang in enumerate(LANGS):
                texts = aliases.get(lang)
                if not isinstance(texts, list):
                    continue
                aligned = (lang_index == 1 and isinstance(hans_aliases, list)
                           and len(texts) == len(hans_aliases))
                if aligned:
                    _pair(pairs, texts, hans_aliases)
                for ord_, text in enumerate(texts):
                    if isinstance(text, str) and text not in seen and text.strip():
                        seen.add(text)
                        source = hans_aliases[ord_] if aligned else None
                        alias_docs.append((len(text), code, lang_index, ord_, rank, text,
                                           source if isinstance(source, str) else None))
        pieces.add_item(rank, _guide_strings(item), pairs)

    # Static rank order: names before aliases, then length, code, language, position.
    name_docs.sort()
    alias_docs.sort()
    docs = name_docs + alias_docs
    count = len(docs)
    doc_text = _joined([d[5] for d in docs])
    canons = _canonical(doc_text).split(_DOC)
    meta = array("I", [d[4] << 4 | d[2] for d in name_docs])
    meta.extend([d[4] << 4 | 4 | d[2] for d in alias_docs])
    names_of = array("i", [-1]) * (3 * len(entries))  # per item and language: its name's doc
    for doc_id, d in enumerate(name_docs):
        names_of[3 * d[4] + d[2]] = doc_id
    canon_of = ({d[5]: canons[k] for k, d in enumerate(docs) if d[2] == 0}
                if any(d[6] is not None for d in alias_docs) else {})

    # Pinyin of the Chinese documents; English ones have none.
    py, ini, sylls = [""] * count, [""] * count, [""] * count
    document = _Pinyin().document
    first_alias = len(name_docs)
    for doc_id in [k for k, d in enumerate(docs) if d[2] != 2]:
        canon = canons[doc_id]
        source = docs[doc_id][6]
        if source is not None:
            # A Traditional text shaped like its Simplified original reads the same: reuse the
            # Simplified pinyin (pypinyin's phrase data is Simplified: 重慶 is chongqing).
            if doc_id < first_alias:
                hans_doc = names_of[3 * docs[doc_id][4]]
                source = canons[hans_doc] if hans_doc >= 0 else None
            else:
                source = canon_of.get(source)
            if source is not None and (source == canon or _same_shape(canon, source)):
                sylls[doc_id] = document(source)[2]
                if doc_id < first_alias:
                    # The Simplified name is found by the same pinyin, for the same item and
                    # score: a second copy would only make every pinyin search longer.
                    continue
                canon = source
        py[doc_id], ini[doc_id], sylls[doc_id] = document(canon)

    parts: dict[str, object] = {
        "generation": os.urandom(16).hex(),
        "codes": json.dumps([e[1] for e in entries], ensure_ascii=False),
        "name_len": array("I", [e[0] for e in entries]).tobytes(),
        "doc_meta": meta.tobytes(),
        "name_docs": names_of.tobytes(),
        "doc_text": doc_text,
        "doc_sylls": _DOC.join(sylls),
        "doc_canon": _DOC.join(canons),
        "doc_py": _DOC.join(py),
        "doc_ini": _DOC.join(ini),
        "piece_text": _joined(pieces.texts),
        "piece_first": pieces.first.tobytes(),
        "item_pieces": "".join(pieces.item_pieces),
        "item_offsets": array("I", accumulate(map(len, pieces.item_pieces), initial=0)).tobytes(),
        "t2s": _learn_t2s(pairs),
    }
    return parts


def write_index(db: sqlite_utils.Database, parts: dict[str, object]) -> None:
    """Store an index made by build_index, inside the caller's transaction."""
    conn = db.conn
    conn.execute("DELETE FROM search_index")
    conn.executemany("INSERT INTO search_index (part, data) VALUES (?, ?)", list(parts.items()))


def _pair(pairs: set[tuple], hant: list, hans: list) -> None:
    """Add the (zh-Hant, zh-Hans) values at the same positions; _learn_t2s keeps the texts."""
    try:
        pairs.update(filter(all, zip(hant, hans, strict=True)))  # in C, without (None, text)
    except TypeError:  # a value that cannot be hashed (a bundle that was not validated)
        pairs.update(p for p in zip(hant, hans, strict=True) if type(p[0]) is str and type(p[1]) is str)


def _learn_t2s(pairs: set[tuple]) -> str:
    """Traditional -> Simplified characters, as pairs 'TsTs...', from aligned texts.

    ``pairs`` holds the distinct (zh-Hant, zh-Hans) values given for the same thing; texts of
    equal length are compared character by character. A Traditional character seen with
    several Simplified ones takes the one it was paired with most often.
    """
    aligned = [(hant, hans) for hant, hans in pairs
               if type(hant) is str and type(hans) is str and len(hant) == len(hans) and hant != hans]
    # Joined, the texts stay aligned character for character, and the set is built in C.
    hant_all, hans_all = "".join(p[0] for p in aligned), "".join(p[1] for p in aligned)
    best: dict[str, str] = {}
    ambiguous: set[str] = set()
    for hant_char, hans_char in sorted(set(zip(hant_all, hans_all, strict=True))):
        if hant_char != hans_char and _DENSE_CHAR(hant_char) and _DENSE_CHAR(hans_char):
            if hant_char in best:
                ambiguous.add(hant_char)
            else:
                best[hant_char] = hans_char
    if ambiguous:
        counts = Counter(p for p in zip(hant_all, hans_all, strict=True)
                         if p[0] in ambiguous and p[0] != p[1])
        for (hant_char, hans_char), n in sorted(counts.items()):
            if n > counts[hant_char, best[hant_char]]:
                best[hant_char] = hans_char
    return "".join(t + s for t, s in sorted(best.items()))


# --- the index in memory ---------------------------------------------------------------------


class _Finder:
    """A literal or a compiled pattern, searched for in a joined string."""

    __slots__ = ("literal", "pattern")

    def __init__(self, literal: str | None = None, pattern: re.Pattern | None = None) -> None:
        self.literal = literal
        self.pattern = pattern

    def find(self, text: str, start: int, end: int | None = None) -> int:
        """Where the literal or pattern first occurs in text[start:end], or -1."""
        if end is None:
            end = len(text)
        if self.literal is not None:
            return text.find(self.literal, start, end)
        m = self.pattern.search(text, start, end)
        return m.start() if m else -1


class _UnitFinder(_Finder):
    """Letters starting on a pinyin unit: found in the lower-case copy, checked in the original.

    The original has each unit's first letter in upper case (see doc_py); a plain ``str.find``
    in the lower-case copy is faster than any case-insensitive pattern.
    """

    __slots__ = ("marked",)

    def __init__(self, letters: str, marked: str) -> None:
        super().__init__(letters)
        self.marked = marked

    def find(self, text: str, start: int, end: int | None = None) -> int:
        literal, marked = self.literal, self.marked
        if end is None:
            end = len(text)
        while True:
            hit = text.find(literal, start, end)
            if hit < 0 or marked[hit].isupper():
                return hit
            start = hit + 1


class _Joined:
    """Documents joined into one string, each between two separators, and where each starts.

    One string and an array of offsets take a fraction of the memory of a list of strings,
    and ``str.find`` or a pattern searches every document at once.
    """

    __slots__ = ("text", "starts")

    def __init__(self, joined: str, parts: list[str] | None = None) -> None:
        self.text = _DOC + joined + _DOC
        parts = joined.split(_DOC) if parts is None else parts
        # starts[k] = 1 + k + (length of parts before k); one more entry: the length of text
        self.starts = array("I", accumulate(map(add, map(len, parts), repeat(1)), initial=1))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, k: int) -> str:
        return self.text[self.starts[k]:self.starts[k + 1] - 1]


class _Sorted:
    """Documents in order of their text: those equal to, or starting with, a key by bisection."""

    def __init__(self, docs: _Joined, parts: list[str]) -> None:
        self.docs = docs
        self.ids = array("I", sorted((k for k, part in enumerate(parts) if part),
                                     key=parts.__getitem__))

    def matching(self, key: str, *, exact: bool) -> list[int]:
        """Ids, ascending, of the documents whose text is ``key`` (or starts with it)."""
        text = self.docs.__getitem__
        lo = bisect_left(self.ids, key, key=text)
        hi = bisect_right(self.ids, key, lo, key=text) if exact else \
            bisect_left(self.ids, key + "\U0010ffff", lo, key=text)
        return sorted(self.ids[lo:hi])


def _scan(docs: _Joined, finder: _Finder,
          others: tuple[tuple[_Joined, _Finder], ...] = ()) -> Iterator[int]:
    """Ids, ascending, of the documents where ``finder`` (and each of ``others``) match."""
    text, starts = docs.text, docs.starts
    pos = 0
    while True:
        hit = finder.find(text, pos)
        if hit < 0:
            return
        doc = bisect_right(starts, hit) - 1
        if all(f.find(d.text, d.starts[doc], d.starts[doc + 1] - 1) >= 0 for d, f in others):
            yield doc
        pos = starts[doc + 1]  # the next document


def _distinct(streams: list[Iterable[int]]) -> Iterator[int]:
    last = -1
    for value in heapq.merge(*streams) if len(streams) > 1 else (streams[0] if streams else ()):
        if value != last:
            yield value
            last = value


class _Index:
    """One applied catalog's search index, as loaded from ``search_index``."""

    def __init__(self, parts: dict[str, object]) -> None:
        self.codes: list[str] = json.loads(parts["codes"])
        self.name_len = _uints(parts["name_len"])
        self.doc_meta = _uints(parts["doc_meta"])
        self.name_docs = array("i")
        self.name_docs.frombytes(parts["name_docs"])
        self.doc_text = _Joined(parts["doc_text"])
        self.doc_sylls = _Joined(parts["doc_sylls"])
        canons = parts["doc_canon"].split(_DOC)
        self.canon = _Joined(parts["doc_canon"], canons)
        self.canon_sorted = _Sorted(self.canon, canons)
        # Words only, each Chinese run one character: a shorter string to scan for words, and
        # one byte a character where the words are Latin.
        self.canon_words = _Joined(_DENSE_RUN_RE.sub(_CJK, parts["doc_canon"]))
        # Pinyin and initials: as stored (unit starts upper-case), and in lower case to search.
        self.pinyin: list[tuple[str, _Joined, _Sorted]] = []
        for part in ("doc_py", "doc_ini"):
            marked: str = parts[part]
            lower = marked.lower()
            if len(lower) != len(marked):  # not from the index build: keep offsets aligned
                lower = marked.translate(_ASCII_LOWER)
            docs = lower.split(_DOC)
            joined = _Joined(lower, docs)
            self.pinyin.append((_DOC + marked + _DOC, joined, _Sorted(joined, docs)))
        t2s = parts["t2s"]
        self.t2s = dict(zip(t2s[::2], t2s[1::2], strict=True))
        lines = _SPACES_RE.sub(" ", parts["piece_text"])
        self.piece_text = _Joined(lines.replace(" " + _DOC, _DOC).replace(_DOC + " ", _DOC).strip(" "))
        normalized = _norm_long(parts["piece_text"])
        self.piece_norm = _Joined(normalized)
        folded = _fold(normalized)
        self.pieces = _Joined(folded)
        # For words: Chinese runs as _CJK (a word then starts and ends at a [^\W_] boundary)
        # and other non-Latin punctuation as spaces, so the string is one byte a character.
        self.pieces_words = _Joined(_NOT_LATIN1_GAP_RE.sub(" ", _DENSE_RUN_RE.sub(_CJK, folded)))
        self.piece_first = _uints(parts["piece_first"])
        self.item_pieces: str = parts["item_pieces"]
        self.item_offsets = _uints(parts["item_offsets"])

    def doc(self, doc_id: int) -> tuple[int, str, str, str, str | None]:
        """(item rank, field, lang, text, syllables) of a short document."""
        m = self.doc_meta[doc_id]
        lang = m & 3
        return m >> 4, FIELDS[m >> 2 & 3], LANGS[lang], self.doc_text[doc_id], \
            (self.doc_sylls[doc_id] if lang != 2 else None)

    def name(self, rank: int, lang: str) -> tuple[str, str | None]:
        """The item's name in ``lang`` (else Simplified, else its code) and its syllables."""
        base = 3 * rank
        doc_id = self.name_docs[base + LANGS.index(lang)]
        if doc_id < 0:
            doc_id = self.name_docs[base]
        if doc_id < 0:
            return self.codes[rank], None
        return self.doc(doc_id)[3:]

    def short_docs(self, q: _Query, tier: int) -> Iterator[int]:
        """Names and aliases matching ``q`` at ``tier``, best first."""
        streams: list[Iterable[int]] = []
        for segments, groups in q.matching:
            if tier == _SUBSTRING:
                finders = [(self.canon if g.cjk else self.canon_words, g.short_finder()) for g in groups]
                streams.append(_scan(*finders[0], tuple(finders[1:])))
            else:
                streams.append(self.canon_sorted.matching(_SEG.join(segments), exact=tier == _EXACT))
        if q.pinyin:
            for marked, lower, by_key in self.pinyin:
                if tier == _SUBSTRING:
                    streams.append(_scan(lower, _UnitFinder(q.pinyin, marked)))
                else:
                    streams.append(by_key.matching(q.pinyin, exact=tier == _EXACT))
        return _distinct(streams)

    def text_items(self, q: _Query, need: int, taken: set[str]) -> list[int]:
        """Ranks of the first ``need`` items, not coded in ``taken``, whose guide text matches."""
        single: list[Iterator[int]] = []
        found: set[int] = set()
        for _, groups in q.matching:
            finders = [(self.pieces if g.cjk else self.pieces_words, f)
                       for g in groups if (f := g.text_finder()) is not None]
            if len(finders) == 1:
                single.append(_scan(*finders[0]))
            elif finders:
                found.update(self._items_with_all(finders, need, taken))
        if single:
            found.update(self._first_items(_distinct(single), need, taken))
        return sorted(found)[:need]

    def _ranks_with(self, piece: int, end_rank: int) -> Iterator[int]:
        """Ranks, ascending and below ``end_rank``, of the items that use ``piece``."""
        text, offsets = self.item_pieces, self.item_offsets
        ch = _piece_char(piece)
        pos = offsets[3 * self.piece_first[piece]]
        end = offsets[3 * end_rank]
        while (hit := text.find(ch, pos, end)) >= 0:
            rank = (bisect_right(offsets, hit) - 1) // 3
            yield rank
            pos = offsets[3 * rank + 3]

    def _first_items(self, pieces: Iterator[int], need: int, taken: set[str]) -> set[int]:
        """The ``need`` lowest ranks among the items that use ``pieces``, skipping ``taken`` codes.

        Pieces come in order of their first item's rank, so the scan stops at the first piece
        whose first item cannot improve on what was found.
        """
        codes, first, count = self.codes, self.piece_first, len(self.codes)
        heap: list[int] = []  # negated ranks: -heap[0] is the worst kept
        kept: set[int] = set()
        for piece in pieces:
            full = len(heap) >= need
            if full and first[piece] >= -heap[0]:
                break
            for rank in self._ranks_with(piece, -heap[0] if full else count):
                if len(heap) >= need and rank >= -heap[0]:
                    break
                if rank in kept or codes[rank] in taken:
                    continue
                kept.add(rank)
                heapq.heappush(heap, -rank)
                if len(heap) > need:
                    kept.discard(-heapq.heappop(heap))
        return kept

    def _items_with_all(self, finders: list[tuple[_Joined, _Finder]], need: int,
                        taken: set[str]) -> list[int]:
        """The first ``need`` items (not in ``taken``) whose guide has a match for every finder."""
        wanted = []
        for docs, finder in finders:
            pieces = list(_scan(docs, finder))
            if not pieces:
                return []
            wanted.append(({_piece_char(p) for p in pieces}, min(self.piece_first[p] for p in pieces)))
        text, offsets, codes = self.item_pieces, self.item_offsets, self.codes
        out = []
        for rank in range(max(lowest for _, lowest in wanted), len(codes)):
            used = text[offsets[3 * rank]:offsets[3 * rank + 3]]
            if all(not chars.isdisjoint(used) for chars, _ in wanted) and codes[rank] not in taken:
                out.append(rank)
                if len(out) >= need:
                    break
        return out

    def item_lines(self, rank: int, lang: str) -> list[int]:
        """The item's guide-text pieces in one language, in guide order."""
        k = 3 * rank + LANGS.index(lang)
        pieces = self.item_pieces[self.item_offsets[k]:self.item_offsets[k + 1]]
        return [_piece_number(ch) for ch in pieces]


def _uints(blob: bytes) -> array:
    values = array("I")
    values.frombytes(blob)
    return values


_CACHE: dict[str, _Index] = {}
_CACHE_LOCK = threading.Lock()


def _index(db: sqlite_utils.Database) -> _Index | None:
    """The index of the catalog applied in ``db``, loaded once per generation."""
    try:
        row = db.conn.execute("SELECT data FROM search_index WHERE part = 'generation'").fetchone()
    except sqlite3.OperationalError as exc:  # a store made before search_index existed
        log.error("search: cannot read the search index (%s); recreate the store", exc)
        return None
    if row is None:
        return None
    with _CACHE_LOCK:
        index = _CACHE.get(row[0])
        if index is None:
            # One statement reads one snapshot, even if a new catalog was applied since.
            parts = dict(db.conn.execute("SELECT part, data FROM search_index").fetchall())
            if "generation" not in parts:
                return None
            index = _Index(parts)
            _CACHE.clear()  # one catalog at a time: a kiosk has one store
            _CACHE[parts["generation"]] = index
    return index


# --- querying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    code: str  # item code
    field: str  # what matched best: "name" | "alias" | "text"
    score: float  # higher is better
    name: str  # item name in the requested language
    name_spans: tuple[tuple[int, int], ...]  # [start, end) ranges of `name` to highlight
    matched_text: str  # for alias/text hits: a short snippet (<= 60 chars) of what matched
    snippet_spans: tuple[tuple[int, int], ...]  # highlight ranges within matched_text


@dataclass(frozen=True)
class _Group:
    """Part of a query: a run of Chinese characters, or words typed with spaces between them."""

    cjk: str = ""
    words: tuple[str, ...] = ()

    def short_finder(self) -> _Finder:
        """Substring match in names and aliases: a Chinese run anywhere, or word prefixes."""
        if self.cjk:
            return _Finder(self.cjk)
        first = re.escape(self.words[0])
        rest = "".join(f"[^{_DOC}{_SEG}]*{_SEG}{re.escape(w)}" for w in self.words[1:])
        # The literal first, its start checked behind it: re then scans for the literal quickly.
        return _Finder(pattern=re.compile(f"{first}(?<=[{_DOC}{_SEG}]{first}){rest}"))

    def text_finder(self) -> _Finder | None:
        """Match in guide text (None: a single Chinese character, too common to look up).

        Words are searched where each Chinese run is one _CJK character (see _Index), so a word's
        edges are plain ``[^\\W_]`` boundaries: a class that compiles in microseconds, where
        one that excludes Chinese takes milliseconds for every query.
        """
        if self.cjk:
            return _Finder(self.cjk) if len(self.cjk) > 1 else None
        # Short prefixes of English words would match nearly everything: 1-2 letters are words.
        parts = []
        for k, word in enumerate(self.words):
            w = re.escape(word)
            if k == 0:
                w += f"(?<![^\\W_]{w})"  # the literal first: re scans for it quickly
            if len(word) < 3:
                w += "(?![^\\W_])"
            elif k < len(self.words) - 1:
                w += "[^\\W_]*"
            parts.append(w)
        return _Finder(pattern=re.compile(_TEXT_GAP.join(parts)))

    def finditer(self, normalized: str) -> Iterator[list[tuple[int, int]]]:
        """Each match in normalized text: the span of the run, or of each word (word prefixes)."""
        first = self.cjk or self.words[0]
        pos = 0
        while (start := normalized.find(first, pos)) >= 0:
            pos = start + 1
            if self.cjk:
                yield [(start, start + len(first))]
                pos = start + len(first)
                continue
            if start and _WORDCHAR_AT(normalized, start - 1):
                continue
            end = start + len(first)
            spans = [(start, end)]
            for word in self.words[1:]:
                gap = _GAP_AT(normalized, _WORD_TAIL_AT(normalized, end).end())
                if not gap or not normalized.startswith(word, gap.end()):
                    break
                end = gap.end() + len(word)
                spans.append((gap.end(), end))
            else:
                yield spans
                pos = end

    def found_in(self, normalized: str) -> bool:
        return next(self.finditer(normalized), None) is not None


def _groups(text: str) -> list[_Group]:
    groups: list[_Group] = []
    last_end = -1
    for m in _SEG_RE.finditer(text):
        if m.group(1):
            groups.append(_Group(cjk=m.group(1)))
        elif groups and groups[-1].words and text[last_end:m.start()].isspace():
            groups[-1] = _Group(words=(*groups[-1].words, m.group(2)))
        else:
            groups.append(_Group(words=(m.group(2),)))
        last_end = m.end()
    return groups[:MAX_GROUPS]


class _Query:
    """A user's query, parsed once: its groups (per spelling variant) and its pinyin form."""

    def __init__(self, variants: list[str], pinyin: str | None) -> None:
        self.pinyin = pinyin
        self.variants = [groups for groups in map(_groups, variants) if groups]
        # What is matched against the index: diacritics folded, as the index stores text.
        self.matching: list[tuple[list[str], list[_Group]]] = []
        for variant in variants:
            groups = _groups(_fold(variant))
            if groups:
                segments = [s for g in groups for s in ((g.cjk,) if g.cjk else g.words)]
                self.matching.append((segments, groups))

    def __bool__(self) -> bool:
        return bool(self.matching or self.pinyin)

    # highlighting ---------------------------------------------------------------------------

    def direct_spans(self, text: str) -> tuple[tuple[tuple[int, int], ...], int]:
        """Highlight ranges of the query found literally in text, and how many groups matched."""
        normalized, index = _normalize_with_map(text)
        best: tuple[tuple[tuple[int, int], ...], int] = ((), 0)
        for groups in self.variants:
            spans = []
            found = 0
            for group in groups:
                hit = False
                for raw in group.finditer(normalized):
                    hit = True
                    spans.extend(_to_original(s, index, len(text)) for s in raw)
                found += hit
            if found > best[1]:
                best = (_merge(spans), found)
        return best

    def pinyin_spans(self, text: str, syllables: str | None) -> tuple[tuple[int, int], ...]:
        """The Chinese characters whose pinyin (or initials) the query spells, from a syllable on."""
        units = _units(text, syllables) if self.pinyin else None
        if not units or not self.pinyin:
            return ()
        for column in (2, 3):
            parts = [unit[column] for unit in units]
            offsets = list(accumulate(map(len, parts), initial=0))
            unit_at = {offset: k for k, offset in enumerate(offsets[:-1])}
            joined = "".join(parts)
            start = joined.find(self.pinyin)
            while start >= 0:
                k = unit_at.get(start)
                if k is not None:
                    j = bisect_left(offsets, start + len(self.pinyin), k + 1)  # first unit not spelt
                    return _merge((u[0], u[1]) for u in units[k:j])
                start = joined.find(self.pinyin, start + 1)
        return ()

    def spans(self, text: str, syllables: str | None) -> tuple[tuple[int, int], ...]:
        direct, _ = self.direct_spans(text)
        return direct or self.pinyin_spans(text, syllables)


def _units(text: str, syllables: str | None) -> list[tuple[int, int, str, str]] | None:
    """[(start, end, syllable, initials)] for each Chinese char and each word of text.

    ``syllables`` (space-separated, one per Chinese character) is what the index stores; words
    are their own "syllable".
    """
    if syllables is None:
        return None
    sylls = iter(syllables.split(" ") if syllables else ())
    units = []
    for m in _SEG_RE.finditer(text):
        run = m.group(1)
        if run:
            for k, ch in enumerate(run):
                syl = next(sylls, ch) or ch
                units.append((m.start() + k, m.start() + k + 1, syl, syl[0]))
        else:
            word = _norm(m.group(2))
            units.append((m.start(), m.end(), word, word))
    return units


def _parse(query: str, t2s: dict[str, str]) -> _Query:
    text = _norm(_CONTROL_RE.sub(" ", query))[:MAX_QUERY_CHARS]
    variants = [text]
    converted = "".join(t2s.get(ch, ch) for ch in text)
    if converted != text:
        variants.append(converted)
    pinyin = None
    if _PINYIN_QUERY_RE.fullmatch(text):
        letters = re.sub(r"[' \-]", "", text).replace("ü", "v")
        pinyin = letters or None
    return _Query(variants, pinyin)


def _score(field: str, quality: int, length: int) -> float:
    return _FIELD_WEIGHT[field] * 1000 + quality * 100 + 100 / (1 + length)


def search(db: sqlite_utils.Database, query: str, lang: str = "zh-Hans", limit: int = 50) -> list[Hit]:
    """Items matching ``query``, best first; never raises for any query text."""
    if not isinstance(query, str) or not isinstance(limit, int) or limit <= 0:
        return []
    if lang not in LANGS:
        lang = "zh-Hans"
    index = _index(db)
    if index is None:
        return []
    q = _parse(query, index.t2s)
    if not q:
        return []

    # code -> (score, language preference, doc id or item rank, field); preference 0: the user's
    best: dict[str, tuple[float, int, int, str]] = {}
    codes, meta, starts = index.codes, index.doc_meta, index.doc_text.starts
    user_lang = LANGS.index(lang)
    for tier in (_EXACT, _PREFIX, _SUBSTRING):
        seen: set[str] = set()
        for doc_id in index.short_docs(q, tier):
            m = meta[doc_id]
            code = codes[m >> 4]
            if code not in seen:
                if len(seen) >= limit:
                    break  # documents come best-first: nothing later can make the top `limit`
                seen.add(code)
            field = FIELDS[m >> 2 & 3]
            length = starts[doc_id + 1] - starts[doc_id] - 1
            candidate = (_score(field, tier, length), 0 if m & 3 == user_lang else 1, doc_id, field)
            old = best.get(code)
            if old is None or (-candidate[0], candidate[1]) < (-old[0], old[1]):
                best[code] = candidate

    if len(best) < limit:  # guide-text matches rank below every name or alias match
        for rank in index.text_items(q, limit - len(best), set(best)):
            best[codes[rank]] = (_score("text", _SUBSTRING, index.name_len[rank]), 0, rank, "text")

    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    return [_hit(index, q, lang, code, entry) for code, entry in ranked]


def _hit(index: _Index, q: _Query, lang: str, code: str, entry: tuple[float, int, int, str]) -> Hit:
    score, _, ref, field = entry
    rank = ref if field == "text" else index.doc(ref)[0]
    name, name_pinyin = index.name(rank, lang)
    name_spans = q.spans(name, name_pinyin)
    matched, snippet_spans = "", ()
    if field == "text":
        matched, snippet_spans = _text_snippet(index, q, lang, rank)
    else:
        _, _, doc_lang, text, doc_pinyin = index.doc(ref)
        if field == "alias":
            matched, snippet_spans = _window(text, q.spans(text, doc_pinyin))
        elif (not name_spans and doc_lang != lang and doc_lang != "en" and lang != "en"
              and len(text) == len(name)):
            name_spans = q.spans(text, doc_pinyin)  # e.g. a Traditional name matched, Simplified shown
    return Hit(code, field, round(score, 6), name, name_spans, matched, snippet_spans)


def _text_snippet(index: _Index, q: _Query, lang: str,
                  rank: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The guide line that matches most of the query, preferring the user's language."""
    groups = [group for variant in q.variants for group in variant]
    best: tuple[int, str, tuple[tuple[int, int], ...]] = (0, "", ())
    for column in [lang] + [x for x in LANGS if x != lang]:
        for piece in index.item_lines(rank, column):
            normalized = index.piece_norm[piece]
            if not any(group.found_in(normalized) for group in groups):
                continue
            line = index.piece_text[piece]
            spans, found = q.direct_spans(line)
            if found > best[0]:
                best = (found, line, spans)
        if best[0]:
            break
    if not best[0]:
        return "", ()
    return _window(best[1], best[2])


def _window(text: str, spans: tuple[tuple[int, int], ...]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """At most SNIPPET_CHARS of text around the first highlight, spans moved to match."""
    if len(text) <= SNIPPET_CHARS:
        return text, spans
    first = spans[0][0] if spans else 0
    start = max(0, min(first - SNIPPET_CHARS // 4, len(text) - (SNIPPET_CHARS - 1)))
    prefix = "…" if start > 0 else ""
    room = SNIPPET_CHARS - len(prefix)
    end = start + room
    suffix = ""
    if end < len(text):
        end -= 1
        suffix = "…"
    shown = prefix + text[start:end] + suffix
    shift = len(prefix) - start
    moved = tuple(
        (max(a + shift, len(prefix)), min(b + shift, len(prefix) + end - start))
        for a, b in spans
        if b > start and a < end
    )
    return shown, tuple(s for s in moved if s[1] > s[0])
