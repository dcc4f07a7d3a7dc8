"""Catalog search: Chinese substrings, pinyin, initials, aliases, English, Traditional, odd input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import catalog, search
from kiosk.search import Hit
from kiosk.store import open_store


def t3(hans: str, hant: str, en: str) -> dict:
    return {"zh-Hans": hans, "zh-Hant": hant, "en": en}


def item(code: str, name: dict, aliases: list[str], *, text: str = "办理相关业务",
         kind: str = "licence", hant_aliases: list[str] | None = None) -> dict:
    aliases_obj: dict = {"zh-Hans": aliases}
    if hant_aliases:
        aliases_obj["zh-Hant"] = hant_aliases
    return {
        "code": code,
        "department": code.split("-")[0],
        "queue_category": "A",
        "kind": kind,
        "online_level": 3,
        "name": name,
        "aliases": aliases_obj,
        "summary": t3(f"{name['zh-Hans']}。", f"{name['zh-Hant']}。", f"{name['en']}."),
        "guide": {
            "legal_basis": [{"zh-Hans": "《中华人民共和国行政许可法》"}],
            "conditions": [{"zh-Hans": f"申请人具有完全民事行为能力；{text}"}],
            "materials": [{"name": t3("申请人身份证原件", "申請人身份證原件", "Applicant's identity card"),
                           "required": True, "form": "original", "copies": 1}],
            "steps": [{"title": t3("窗口受理", "窗口受理", "Acceptance at the counter"),
                       "detail": {"zh-Hans": "工作人员当场审核材料"}}],
            "time_limit": {"legal_days": 20, "committed_days": 5},
            "fees": {"charged": False},
            "place": t3("市民中心二楼", "市民中心二樓", "Citizen Centre, 2nd floor"),
            "hours": t3("工作日 9:00-17:00", "工作日 9:00-17:00", "Weekdays 9:00-17:00"),
            "phone": "0571-12345",
            "faq": [{"q": {"zh-Hans": "可以委托他人办理吗？"}, "a": {"zh-Hans": "可以，需携带授权委托书。"}}],
        },
    }


ITEMS = [
    item("SCJ-XK-001", t3("营业执照遗失补领", "營業執照遺失補領", "Business licence: replacement after loss"),
         ["执照丢了", "补营业执照"]),
    item("SCJ-DJ-001", t3("有限责任公司设立登记", "有限責任公司設立登記", "Limited liability company registration"),
         ["开公司", "注册公司"], text="设立后领取营业执照", kind="other"),
    item("SCJ-XK-002", t3("药品经营许可证核发（零售）", "藥品經營許可證核發（零售）",
                          "Drug business licence: new issue (retail)"),
         ["开药店", "药店"]),
    item("SCJ-DJ-002", t3("特种设备使用登记（电梯）", "特種設備使用登記（電梯）",
                          "Special equipment use registration (lifts)"),
         ["电梯登记"], kind="filing",
         text="使用单位应当在特种设备投入使用前或者投入使用后三十日内向负责特种设备安全监督管理的部门"
              "办理使用登记，取得使用登记证书，并与取得相应资质的维保单位签订维护保养合同"),
    item("GAJ-XK-001", t3("普通护照签发", "普通護照簽發", "Ordinary passport issue"), ["办护照", "出国"]),
    item("GAJ-XK-002", t3("护照加注", "護照加註", "Passport endorsement"), ["护照改名"]),
    item("RSJ-DJ-001", t3("社会保险登记", "社會保險登記", "Social insurance registration"),
         ["社保", "五险"], hant_aliases=["社保", "五險"], kind="filing"),
    item("RSJ-XK-001", t3("社保卡申领", "社保卡申領", "Social security card application"), ["社会保障卡"],
         kind="public_service"),
    item("RSJ-QR-001", t3("失业保险金申领", "失業保險金申領", "Unemployment benefit claim"), ["失业金"],
         text="需已参加社保满一年", kind="confirmation"),
]

BUNDLE = {
    "format": 1,
    "version": 7,
    "published": "2026-11-01",
    "departments": [
        {"code": "SCJ", "name": t3("市场监督管理局", "市場監督管理局", "Market Regulation Bureau")},
        {"code": "GAJ", "name": t3("公安局", "公安局", "Public Security Bureau")},
        {"code": "RSJ", "name": t3("人力资源和社会保障局", "人力資源和社會保障局",
                                   "Human Resources and Social Security Bureau")},
    ],
    "items": ITEMS,
}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = open_store(tmp_path_factory.mktemp("search") / "kiosk.db")
    catalog.apply_bundle(database, BUNDLE, source="test", validate=False)
    yield database
    database.conn.close()


def codes(hits: list[Hit]) -> list[str]:
    return [h.code for h in hits]


def hit(hits: list[Hit], code: str) -> Hit:
    return next(h for h in hits if h.code == code)


def test_bundle_is_valid():
    catalog.validate_bundle(BUNDLE)


def test_initials_find_item_first_and_highlight_the_characters(db):
    hits = search.search(db, "yyzz")
    assert hits[0].code == "SCJ-XK-001"
    assert hits[0].field == "name"
    assert hits[0].name == "营业执照遗失补领"
    assert hits[0].name_spans == ((0, 4),)
    assert search.search(db, "YYZZ")[0].code == "SCJ-XK-001"


@pytest.mark.parametrize("query", ["yingyezhizhao", "ying ye zhi zhao", "Ying Ye Zhi Zhao", "yingyezhi"])
def test_full_pinyin_with_or_without_spaces(db, query):
    hits = search.search(db, query)
    assert hits[0].code == "SCJ-XK-001"
    assert hits[0].field == "name"
    assert hits[0].name_spans[0][0] == 0


def test_pinyin_inside_a_name_highlights_those_characters(db):
    hits = search.search(db, "buling")
    top = hit(hits, "SCJ-XK-001")
    assert top.field == "name"
    assert top.name_spans == ((6, 8),)


def test_pinyin_of_an_alias(db):
    hits = search.search(db, "shebao")
    assert hits[0].code == "RSJ-XK-001"  # 社保卡申领: the name itself
    alias = hit(hits, "RSJ-DJ-001")
    assert alias.field == "alias"
    assert alias.matched_text == "社保"
    assert alias.snippet_spans == ((0, 2),)


@pytest.mark.parametrize(
    "query, code, field",
    [("执照", "SCJ-XK-001", "name"), ("电梯", "SCJ-DJ-002", "name"), ("药店", "SCJ-XK-002", "alias"),
     ("护照", "GAJ-XK-002", "name"), ("社保", "RSJ-XK-001", "name")],
)
def test_two_character_chinese_queries(db, query, code, field):
    hits = search.search(db, query)
    assert hits, query
    assert hits[0].code == code
    assert hits[0].field == field


def test_single_character_finds_names(db):
    hits = search.search(db, "梯")
    assert hits[0].code == "SCJ-DJ-002"
    assert hits[0].name_spans == ((10, 11),)


def test_name_beats_alias_beats_guide_text(db):
    hits = search.search(db, "社保")
    fields = {h.code: h.field for h in hits}
    assert fields == {"RSJ-XK-001": "name", "RSJ-DJ-001": "alias", "RSJ-QR-001": "text"}
    assert codes(hits) == ["RSJ-XK-001", "RSJ-DJ-001", "RSJ-QR-001"]
    assert hits[0].score > hits[1].score > hits[2].score
    text = hits[2]
    assert "社保" in text.matched_text and len(text.matched_text) <= 60
    (start, end), = text.snippet_spans
    assert text.matched_text[start:end] == "社保"


def test_guide_text_hit_ranks_below_name(db):
    hits = search.search(db, "营业执照")
    assert codes(hits) == ["SCJ-XK-001", "SCJ-DJ-001"]
    assert [h.field for h in hits] == ["name", "text"]
    assert hits[1].matched_text[slice(*hits[1].snippet_spans[0])] == "营业执照"


def test_long_guide_text_is_cut_around_the_match(db):
    hits = search.search(db, "维保单位")
    assert codes(hits) == ["SCJ-DJ-002"]
    top = hits[0]
    assert top.field == "text"
    assert len(top.matched_text) <= 60
    assert top.matched_text.startswith("…")
    (start, end), = top.snippet_spans
    assert top.matched_text[start:end] == "维保单位"


def test_prefix_beats_substring_and_shorter_names_first(db):
    hits = search.search(db, "护照")
    assert codes(hits)[:2] == ["GAJ-XK-002", "GAJ-XK-001"]  # 护照加注 starts with it
    assert hits[1].name_spans == ((2, 4),)
    hits = search.search(db, "登记")
    names = [h.name for h in hits if h.field == "name"]
    assert names == sorted(names, key=len)


@pytest.mark.parametrize("query", ["busin", "BUSIN", "business lic", "Business licence"])
def test_english_word_prefix_case_insensitive(db, query):
    hits = search.search(db, query, lang="en")
    assert hits[0].code == "SCJ-XK-001"
    assert hits[0].name == "Business licence: replacement after loss"
    assert hits[0].name_spans[0][0] == 0


def test_english_highlight_and_later_word(db):
    hits = search.search(db, "passp", lang="en")
    assert codes(hits) == ["GAJ-XK-002", "GAJ-XK-001"]
    assert hits[0].name_spans == ((0, 5),)
    assert hits[1].name == "Ordinary passport issue"
    assert hits[1].name_spans == ((9, 14),)


def test_traditional_query_finds_item_and_highlights_in_either_script(db):
    hits = search.search(db, "營業執照")
    assert hits[0].code == "SCJ-XK-001"
    assert hits[0].name_spans == ((0, 4),)
    hant = search.search(db, "營業執照", lang="zh-Hant")
    assert hant[0].name == "營業執照遺失補領"
    assert hant[0].name_spans == ((0, 4),)
    simplified_query = search.search(db, "营业执照", lang="zh-Hant")
    assert simplified_query[0].name_spans == ((0, 4),)


def test_traditional_query_finds_simplified_only_alias(db):
    # 藥店 is given only in Simplified (药店); the index learnt 藥 -> 药 from the names.
    hits = search.search(db, "藥店")
    assert hits[0].code == "SCJ-XK-002"
    assert hits[0].field == "alias"


def test_limit_and_determinism(db):
    first = search.search(db, "登记")
    assert first == search.search(db, "登记")
    assert len(search.search(db, "登记", limit=1)) == 1
    assert search.search(db, "登记", limit=0) == []
    scores = [h.score for h in search.search(db, "d")]
    assert scores == sorted(scores, reverse=True)


def test_unknown_language_falls_back_to_simplified(db):
    assert search.search(db, "yyzz", lang="fr")[0].name == "营业执照遗失补领"


def test_reindex_replaces_the_old_index(tmp_path: Path):
    fresh = open_store(tmp_path / "kiosk.db")
    catalog.apply_bundle(fresh, BUNDLE, source="test", validate=False)
    assert search.search(fresh, "电梯")
    smaller = {**BUNDLE, "version": 8, "items": ITEMS[:1]}
    catalog.apply_bundle(fresh, smaller, source="test", validate=False)
    assert search.search(fresh, "电梯") == []
    assert codes(search.search(fresh, "执照")) == ["SCJ-XK-001"]
    fresh.conn.close()


ODD = [
    "", " ", "   \t\n ", "!!!", "？？？", "。，、", "🙂", "🙂🙂🙂营业", "a" * 500, "营" * 500, "x y " * 200,
    '"', '""', "'", "*", "**", "^", "-", "_", "+", "(", ")", "(((", "NEAR(", "NEAR(营业 执照, 2)",
    "AND", "AND OR", "a AND OR b", "NOT 营业", "营业 OR 执照", "body : yyzz", "{py ini} : yyzz",
    "py:yyzz", "'; DROP TABLE items; --", "\"; DROP TABLE search_docs; --", "%", "\\", "\x00",
    "\x00营业\x01执照\x1f", "\x7f\x9f", "\u200b\u200d\ufeff", "\ud800", "营业\udfff执照", "ｙｙｚｚ",
    "\u3000营业执照\u3000", "營", "eü", "lü", "1", "12345", "0571-12345", "é", "ß", "İ", "Ⅻ", "㎡",
    "ｶﾞ", "가나다", "ひらがな", "\U00020000\U0002a700", "😀" * 100,
]


@pytest.mark.parametrize("query", ODD)
@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_odd_input_returns_a_list(db, query, lang):
    hits = search.search(db, query, lang=lang)
    assert isinstance(hits, list)
    assert all(isinstance(h, Hit) for h in hits)
    assert db["items"].count == len(ITEMS)


def test_fullwidth_and_padded_queries_still_match(db):
    assert search.search(db, "ｙｙｚｚ")[0].code == "SCJ-XK-001"
    assert search.search(db, "\u3000营业执照\u3000")[0].code == "SCJ-XK-001"
    assert search.search(db, "\x00营业\x01执照")[0].code == "SCJ-XK-001"


def check_hit(h: Hit) -> None:
    assert h.field in ("name", "alias", "text")
    assert len(h.matched_text) <= 60
    for text, spans in ((h.name, h.name_spans), (h.matched_text, h.snippet_spans)):
        last = 0
        for start, end in spans:
            assert last <= start < end <= len(text)
            last = end
    if h.field == "name":
        assert h.matched_text == "" and h.snippet_spans == ()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=80), lang=st.sampled_from(["zh-Hans", "zh-Hant", "en"]))
def test_arbitrary_text_never_raises(db, query, lang):
    hits = search.search(db, query, lang=lang)
    assert isinstance(hits, list)
    for h in hits:
        check_hit(h)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(alphabet="营业执照社保护电梯药店登记 yzhingbaosDOR\"*()^:-", max_size=20))
def test_catalog_like_text_gives_well_formed_hits(db, query):
    for h in search.search(db, query):
        check_hit(h)


# --- pinyin: pypinyin's own data, read faster ---------------------------------------------------


def lazy_syllables(text: str) -> list[str]:
    """What the index used to store: lazy_pinyin, non-Chinese characters standing for themselves."""
    from pypinyin import lazy_pinyin

    got = lazy_pinyin(text, errors=lambda chars: list(chars))
    assert len(got) == len(text)
    return [search._norm(x).replace(" ", "") or ch for x, ch in zip(got, text, strict=True)]


def test_fast_pinyin_reads_heteronyms_in_phrases():
    pinyin = search._Pinyin()
    assert pinyin.syllables("重庆") == ["chong", "qing"]
    assert pinyin.syllables("银行") == ["yin", "hang"]
    assert pinyin.syllables("长春") == ["chang", "chun"]
    assert pinyin.syllables("行长") == ["hang", "zhang"]
    assert pinyin.syllables("绿色") == ["lv", "se"]


def test_fast_pinyin_equals_lazy_pinyin():
    """GIVEN single characters across the CJK block, dictionary phrases and runs of them
    WHEN converted by the index's converter
    THEN every syllable is the one lazy_pinyin gives (segmentation and heteronyms included)."""
    import random

    from pypinyin.constants import PHRASES_DICT

    rng = random.Random(7)
    phrases = rng.sample(sorted(PHRASES_DICT), 400)
    runs = [chr(c) for c in range(0x4E00, 0xA000, 7)] + phrases
    runs += ["".join(rng.sample(phrases, 3)) for _ in range(200)]
    runs += [run for item in ITEMS for run, _ in search._SEG_RE.findall(item["name"]["zh-Hans"]) if run]
    runs += ["营业执照遗失补领", "住房公积金提取", "〇", "ひらがな", "가나다"]
    pinyin = search._Pinyin()
    for run in runs:
        assert pinyin.syllables(run) == lazy_syllables(run), run


# --- more of the catalog: heteronyms, full-width text, accents ----------------------------------

# 複 -> 复 is taught only by this material's two scripts; the condition is Simplified only.
HOUSEHOLD = item("GAJ-QT-009", t3("户籍证明开具", "戶籍證明開具", "Household registration certificate"),
                 ["户籍证明"], text="提交复印件一份", kind="other")
HOUSEHOLD["guide"]["materials"].append(
    {"name": t3("户口簿复印件", "戶口簿複印件", "Copy of the household register"), "required": True,
     "form": "copy", "copies": 1})

EXTRA = {
    **BUNDLE,
    "departments": BUNDLE["departments"] + [
        {"code": "YHJ", "name": t3("金融工作局", "金融工作局", "Finance Bureau")},
        {"code": "TXJ", "name": t3("通信管理局", "通信管理局", "Communications Bureau")},
    ],
    "items": ITEMS + [
        item("YHJ-BA-001", t3("长春市银行网点备案", "長春市銀行網點備案", "Bank branch filing, Changchun"),
             ["银行网点"], kind="filing"),
        item("YHJ-BA-002", t3("重庆银行开户", "重慶銀行開戶", "Opening an account at a Chongqing bank"),
             ["开户"], kind="other"),
        item("TXJ-BA-001", t3("５G基站建设备案", "５G基站建設備案", "5G base station filing"), ["基站"],
             kind="filing"),
        {**item("SCJ-DJ-003", t3("咖啡店营业登记", "咖啡店營業登記", "Coffee shop registration"), ["咖啡店"]),
         "aliases": {"zh-Hans": ["咖啡店"], "en": ["Café licence"]}},
        HOUSEHOLD,
    ],
}


@pytest.fixture(scope="module")
def extra_db(tmp_path_factory):
    database = open_store(tmp_path_factory.mktemp("search-extra") / "kiosk.db")
    catalog.apply_bundle(database, EXTRA, source="test", validate=False)
    yield database
    database.conn.close()


def test_extra_bundle_is_valid():
    catalog.validate_bundle(EXTRA)


@pytest.mark.parametrize("query, code, span", [
    ("changchun", "YHJ-BA-001", (0, 2)), ("yinhangwang", "YHJ-BA-001", (3, 6)),
    ("chongqing", "YHJ-BA-002", (0, 2)), ("cqyh", "YHJ-BA-002", (0, 4)),
])
def test_heteronyms_are_read_as_in_the_phrase(extra_db, query, code, span):
    hits = search.search(extra_db, query)
    assert hits[0].code == code
    assert hits[0].name_spans == (span,)


def test_traditional_name_takes_the_simplified_reading(extra_db):
    # pypinyin reads 重慶銀行 (Traditional) as zhong qing yin xing; the index uses 重庆银行's reading.
    hits = search.search(extra_db, "chongqingyinhang", lang="zh-Hant")
    assert hits[0].code == "YHJ-BA-002"
    assert hits[0].name == "重慶銀行開戶"
    assert hits[0].name_spans == ((0, 4),)
    assert search.search(extra_db, "zhongqing") == []


def test_full_width_letters_and_digits_match_ascii(extra_db):
    hits = search.search(extra_db, "5g")
    assert hits[0].code == "TXJ-BA-001"
    assert hits[0].name_spans == ((0, 2),)
    assert search.search(extra_db, "jizhan")[0].code == "TXJ-BA-001"


@pytest.mark.parametrize("query", ["cafe", "café", "CAFÉ", "cafe lic"])
def test_accents_are_optional(extra_db, query):
    hits = search.search(extra_db, query, lang="en")
    assert hits[0].code == "SCJ-DJ-003"
    assert hits[0].field == "alias"
    assert hits[0].matched_text == "Café licence"


# --- guide text: shared lines, words, several groups --------------------------------------------


def text_rank(code: str) -> tuple[int, str]:
    entry = next(i for i in ITEMS if i["code"] == code)
    return len(entry["name"]["zh-Hans"]), code


def test_a_line_every_item_shares_lists_items_by_name_length(db):
    hits = search.search(db, "当场审核")
    assert {h.field for h in hits} == {"text"}
    assert codes(hits) == sorted((i["code"] for i in ITEMS), key=text_rank)
    assert all("当场审核" in h.matched_text for h in hits)
    assert codes(search.search(db, "当场审核", limit=3)) == codes(hits)[:3]


def test_english_guide_text_prefers_the_visitors_language(db):
    hits = search.search(db, "counter", lang="en")
    assert codes(hits) == sorted((i["code"] for i in ITEMS), key=text_rank)
    assert hits[0].matched_text == "Acceptance at the counter"
    assert hits[0].snippet_spans == ((18, 25),)


def test_english_guide_words_of_two_letters_are_whole_words(db):
    assert {h.field for h in search.search(db, "at", lang="en")} == {"text"}  # "at the counter"
    hits = search.search(db, "co", lang="en")  # no guide word is "co"; "company" is in a name
    assert codes(hits) == ["SCJ-DJ-001"]
    assert hits[0].field == "name"


def test_guide_text_groups_may_match_different_lines(db):
    hits = search.search(db, "维保单位 市民中心")  # a condition and the place
    assert codes(hits) == ["SCJ-DJ-002"]
    assert hits[0].field == "text"
    assert search.search(db, "维保单位 火星") == []


def test_traditional_query_finds_simplified_only_guide_text(extra_db):
    hits = search.search(extra_db, "複印件一份")
    assert codes(hits) == ["GAJ-QT-009"]
    assert hits[0].field == "text"
    assert hits[0].matched_text.endswith("提交复印件一份")


# --- the index's life -----------------------------------------------------------------------


def test_failed_apply_keeps_the_old_index(tmp_path: Path):
    """GIVEN an applied catalog WHEN a later apply fails after the index was rebuilt
    THEN the transaction rolls the index back and search still answers from the old one."""
    import sqlite3

    store = open_store(tmp_path / "kiosk.db")
    catalog.apply_bundle(store, BUNDLE, source="test", validate=False)
    assert codes(search.search(store, "电梯")) == ["SCJ-DJ-002"]
    broken = {**BUNDLE, "version": 9, "items": ITEMS[:1], "published": None}
    with pytest.raises(sqlite3.IntegrityError):
        catalog.apply_bundle(store, broken, source="test", validate=False)
    assert codes(search.search(store, "电梯")) == ["SCJ-DJ-002"]
    store.conn.close()


def test_another_connection_sees_a_new_catalog(tmp_path: Path):
    writer = open_store(tmp_path / "kiosk.db")
    catalog.apply_bundle(writer, BUNDLE, source="test", validate=False)
    reader = open_store(tmp_path / "kiosk.db")
    assert search.search(reader, "电梯")
    catalog.apply_bundle(writer, {**BUNDLE, "version": 8, "items": ITEMS[:1]}, source="test",
                         validate=False)
    assert search.search(reader, "电梯") == []
    assert codes(search.search(reader, "执照")) == ["SCJ-XK-001"]
    reader.conn.close()
    writer.conn.close()


def test_empty_catalog_finds_nothing(tmp_path: Path):
    store = open_store(tmp_path / "kiosk.db")
    assert search.search(store, "营业执照") == []  # nothing applied yet
    catalog.apply_bundle(store, {**BUNDLE, "items": []}, source="test", validate=False)
    assert search.search(store, "营业执照") == []
    store.conn.close()


@pytest.mark.parametrize("n", [0, 1, 0xD800 - 0x101, 0xD800 - 0x100, 0xD800 - 0xFF, search._MAX_PIECES - 1])
def test_piece_numbers_survive_as_text(n):
    ch = search._piece_char(n)
    assert search._piece_number(ch) == n
    ch.encode("utf-8")  # no surrogates: SQLite stores it as text


def test_odd_items_are_indexed_without_raising(tmp_path: Path):
    """index_items takes a bundle's items as given (apply_bundle(validate=False) passes them on)."""
    store = open_store(tmp_path / "kiosk.db")
    odd = [
        "not an item", {"code": ""}, {"code": "X-1"},
        {"code": "X-2", "name": ["营业执照"], "aliases": {"zh-Hans": "营业执照"}, "guide": []},
        {"code": "X-3", "name": {"zh-Hans": ["营业"], "zh-Hant": "營業"}, "summary": {"zh-Hans": ["x"]},
         "aliases": {"zh-Hans": [["执照"], None, 5, "  ", "执照\x1e\x1f补办"], "zh-Hant": [{}, 1, "a", "b", "c"]},
         "guide": {"materials": [None, {"name": {"zh-Hans": ["原件"], "zh-Hant": {"x": 1}}}],
                   "steps": "受理", "faq": [{"q": {"zh-Hans": "可以委托吗？"}}], "fees": {"items": [{"name": 3}]}}},
        item("SCJ-XK-009", t3("营业执照补办", "營業執照補辦", "Business licence again"), ["执照"]),
        {"code": "X-4", "name": {"zh-Hans": "  ", "zh-Hant": "稅務登記"}},
    ]
    with store.atomic():
        search.index_items(store, odd)
    assert codes(search.search(store, "营业执照")) == ["SCJ-XK-009"]
    assert codes(search.search(store, "补办")) == ["SCJ-XK-009", "X-3"]
    assert codes(search.search(store, "可以委托")) == ["SCJ-XK-009", "X-3"]  # guide text of both
    assert search.search(store, "X-1") == []
    assert codes(search.search(store, "shuiwu")) == ["X-4"]  # its own reading: no Simplified name
    store.conn.close()
