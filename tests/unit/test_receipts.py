"""Receipt layouts: built from data in three languages, wrapped to the paper, drawn as images."""

import pytest

from kiosk import receipts
from kiosk.i18n import LANGUAGES
from kiosk.receipts import Document, Line, ReceiptError, layout, text_columns, wrap


def all_receipts(lang):
    return [
        receipts.queue_ticket(hall_name="市民服务中心", number="A023", item_name="营业执照",
                              waiting=4, issued_at="2026-12-07 09:30", terminal_id="K01",
                              lang=lang, qr="T:A023"),
        receipts.application_receipt(
            hall_name="市民服务中心", application_no="H0001-K01-20261207-0042",
            item_name="食品经营许可证核发（新办）", applicant=receipts.mask_name("王小明"),
            id_number="1101**********002X", filed_at="2026-12-07 10:32", time_limit_days=10,
            materials=[{"name": "营业执照复印件", "note": "1份"}, {"name": "法定代表人身份证明"}],
            query_url="https://zwfw.example.gov.cn/q/H0001-K01-20261207-0042", phone="12345",
            lang=lang),
        receipts.missing_materials_notice(
            hall_name="市民服务中心", application_no="H0001-K01-20261207-0042",
            item_name="食品经营许可证核发（新办）", applicant="王**",
            missing=[{"name": "经营场所平面图", "reason": "未标明尺寸"},
                     {"name": "食品安全管理制度", "reason": "缺少"}],
            window="5", clerk="李工", issued_at="2026-12-07", phone="12345",
            query_url="https://zwfw.example.gov.cn/q/H0001-K01-20261207-0042", lang=lang),
        receipts.guide_checklist(
            item_code="11440100MB2C92740X", item_name="营业执照", department="市场监管局",
            materials=[{"name": "身份证原件"}, {"name": "公司章程", "note": "原件1份"}],
            place="市民服务中心二楼 B 区", hours="周一至周五 9:00-17:00", phone="12345",
            guide_url="https://zwfw.example.gov.cn/guide/1", lang=lang),
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("columns", [32, 48])
def test_every_layout_fits_the_paper(lang, columns):
    for doc in all_receipts(lang):
        for row in layout(doc, columns):
            if row.kind == "text":
                assert text_columns(row.text) <= columns // row.size, (doc.kind, row.text)


def test_labels_come_in_the_visitors_language():
    zh = "\n".join(ln.text + ln.value for ln in all_receipts("zh-Hans")[2].lines)
    en = "\n".join(ln.text + ln.value for ln in all_receipts("en")[2].lines)
    hant = "\n".join(ln.text + ln.value for ln in all_receipts("zh-Hant")[2].lines)
    assert "一次性告知单" in zh and "经营场所平面图" in zh and "未标明尺寸" in zh
    assert "Notice of missing materials" in en
    assert "一次性告知單" in hant


def test_ticket_number_is_large_and_waiting_count_filled():
    ticket = all_receipts("zh-Hans")[0]
    number = next(ln for ln in ticket.lines if ln.text == "A023")
    assert number.size == 4 and number.align == "center"
    assert any(ln.text == "前面还有 4 人等候" for ln in ticket.lines)


def test_missing_field_is_named():
    with pytest.raises(ReceiptError, match="number"):
        receipts.build("ticket", "A1", {"hall_name": "x"}, "zh-Hans")
    with pytest.raises(ReceiptError, match="unknown receipt kind"):
        receipts.build("poster", "A1", {}, "zh-Hans")


def test_wrap_counts_chinese_as_two_columns_and_keeps_words():
    assert wrap("一二三四五六七八九十", 8) == ["一二三四", "五六七八", "九十"]
    rows = wrap("scan https://example.gov.cn/abc now", 20)
    assert "".join(rows).replace(" ", "") == "scanhttps://example.gov.cn/abcnow"
    assert all(text_columns(r) <= 20 and r[0] not in ".,;:" for r in rows), rows
    assert wrap("hello world again", 11) == ["hello world", "again"]


def test_closing_punctuation_does_not_start_a_row():
    assert wrap("一二三四，五", 8) == ["一二三", "四，五"]
    assert wrap("一二三四。", 8) == ["一二三", "四。"]
    assert wrap("请咨询 12345。", 12) == ["请咨询", "12345。"]  # a number is never split


def test_hanging_indent_for_pairs():
    rows = layout(Document("t", "1", "zh-Hans",
                           (Line("pair", "办理事项", value="食品经营许可证核发（新办）"),)), 32)
    assert rows[0].text.startswith("办理事项：食品")
    assert rows[1].text.startswith(" " * 10)


def test_reprint_banner():
    doc = all_receipts("zh-Hans")[0].as_copy(2)
    assert layout(doc, 48)[0].text == "※ 补打 · 第 2 份 ※"


@pytest.mark.parametrize("dots, columns", [(384, 32), (576, 48)])
def test_raster_image(dots, columns):
    img = receipts.render_image(all_receipts("zh-Hans")[1], dots, columns)
    assert img.mode == "1" and img.width == dots
    assert img.height > 600
    inked = img.convert("L").histogram()[0]
    assert 0.03 < inked / (img.width * img.height) < 0.5


def test_yen_is_normalised():
    assert receipts.normalise_text("¥10") == "￥10"
