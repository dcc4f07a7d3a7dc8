"""A4 PDF notices (受理通知书, 一次性告知书): embedded CJK font, content, QR code, CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from kiosk.applications import file_application, progress_url
from kiosk.config import Config
from kiosk.notice_pdf import (
    NoticeError,
    materials_received,
    missing_items,
    render_acceptance_notice,
    render_missing_notice,
)

CONFIG = Config(hall_id="H0001", terminal_id="K01")
ID_NUMBER = "110101199003074514"
ITEM_CODE = "SCDJ-XK-001"
URL = "https://zwfw.example.gov.cn/progress/H0001-K01-20261207-0042"


@pytest.fixture
def item(sample_bundle) -> dict:
    return next(i for i in sample_bundle["items"] if i["code"] == ITEM_CODE)


@pytest.fixture
def application(item) -> dict:
    first = item["guide"]["materials"][0]["name"]["zh-Hans"]
    second = item["guide"]["materials"][1]["name"]["zh-Hans"]
    return {
        "number": "H0001-K01-20261207-0042", "item_code": ITEM_CODE,
        "filed_at": "2026-12-07T06:30:00.000+00:00",
        "applicant": {"name": "张三", "id_number": ID_NUMBER},
        "materials": [
            {"material": first, "sha256": "a" * 64, "page": 1},
            {"material": first, "sha256": "b" * 64, "page": 2},
            {"material": second, "original_brought": True},
        ],
        "prereview": {"ok": True, "problems": []},
    }


def pdf_text(path: Path) -> str:
    """The PDF's text as a reader extracts it (poppler's pdftotext): proves the font maps
    its glyphs back to Chinese characters, not just that something was drawn."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None or
                                   shutil.which("pdftoppm") is None,
                                   reason="apt poppler-utils not installed (scripts/setup.sh)")
needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None,
                                reason="apt zbar-tools not installed (scripts/setup.sh)")


def test_acceptance_notice_is_a4_with_the_cjk_font_embedded(tmp_path, application, item):
    out = render_acceptance_notice(application, item, "市民服务中心", tmp_path / "a.pdf",
                                   issued_on=date(2026, 12, 7), query_url=URL)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data  # the TrueType subset is inside the file
    assert b"WQYMicroHei" in data or b"WenQuanYi" in data
    assert b"STSong" not in data  # the non-embedded CID font would show boxes elsewhere
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box and (round(float(box[1])), round(float(box[2]))) == (595, 842)  # A4 in points


def test_same_notice_gives_the_same_bytes(tmp_path, application, item):
    a = render_acceptance_notice(application, item, "大厅", tmp_path / "1.pdf",
                                 issued_on=date(2026, 12, 7), query_url=URL)
    b = render_acceptance_notice(application, item, "大厅", tmp_path / "2.pdf",
                                 issued_on=date(2026, 12, 7), query_url=URL)
    assert a.read_bytes() == b.read_bytes()


@needs_poppler
def test_acceptance_notice_says_everything_and_masks_the_id(tmp_path, application, item):
    out = render_acceptance_notice(application, item, "市民服务中心", tmp_path / "a.pdf",
                                   issuer="市场监督管理局", issued_on=date(2026, 12, 7),
                                   query_url=URL)
    text = re.sub(r"\s+", "", pdf_text(out))
    for expected in ("受理通知书", "市民服务中心", "H0001-K01-20261207-0042", "有限责任公司设立登记",
                     ITEM_CODE, "张三", "1101**********4514", "电子扫描2页", "原件交窗口核验",
                     "1个工作日内办结", "法定时限3个工作日", "市场监督管理局", "2026年12月7日",
                     "0571-87651101"):
        assert expected in text, expected
    assert ID_NUMBER not in text


@needs_poppler
@needs_zbar
def test_the_qr_code_decodes_to_the_progress_page(tmp_path, application, item):
    out = render_acceptance_notice(application, item, "大厅", tmp_path / "a.pdf", query_url=URL)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(out),
                    str(tmp_path / "page")], check=True)
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(tmp_path / "page.png")],
                             capture_output=True, text=True)
    assert decoded.stdout.strip() == URL


@needs_poppler
def test_missing_notice_lists_the_prereview_problems(tmp_path, application, item):
    application["prereview"] = {"ok": False, "problems": [
        {"kind": "material", "ref": "2", "message": "缺少材料：公司章程"},
        {"kind": "field", "ref": "phone", "message": "手机号码格式不对"}]}
    out = render_missing_notice(application, item, "大厅", tmp_path / "m.pdf", query_url=URL)
    text = re.sub(r"\s+", "", pdf_text(out))
    assert "一次性告知书" in text
    assert "1.缺少材料：公司章程" in text and "2.手机号码格式不对" in text


def test_missing_defaults_to_required_materials_not_received(application, item):
    required = [m["name"]["zh-Hans"] for m in item["guide"]["materials"] if m["required"]]
    lines = missing_items(application, item)
    # The first two materials were received; every other required one is listed.
    assert lines == [f"未提交：{n}" for n in required[2:]]
    assert lines, "the sample item should have more required materials than two"


def test_missing_notice_refuses_when_nothing_is_missing(tmp_path, application, item):
    with pytest.raises(NoticeError, match="lacks nothing"):
        render_missing_notice(application, item, "大厅", tmp_path / "m.pdf", missing=[])


def test_materials_received_counts_pages_and_originals(application):
    first = application["materials"][0]["material"]
    application["materials"].append({"material": "未提供的材料", "sha256": None})
    assert [how for _, how in materials_received(application)] == [
        "电子扫描 2 页", "原件交窗口核验"]
    assert materials_received(application)[0][0] == first


@needs_poppler
def test_hostile_text_is_printed_literally(tmp_path, application, item):
    application["applicant"]["name"] = "<b>李&四</b><br/>\u202e"
    out = render_acceptance_notice(application, item, "大厅", tmp_path / "h.pdf", query_url=URL)
    assert "<b>李&四</b><br/>" in pdf_text(out)


def test_an_application_without_number_is_refused(tmp_path, item):
    with pytest.raises(NoticeError, match="no number"):
        render_acceptance_notice({"item_code": ITEM_CODE}, item, "大厅", tmp_path / "x.pdf")


def test_progress_url_is_on_the_guide_site():
    assert progress_url("https://zwfw.example.gov.cn/guide/{code}", "N1") == \
        "https://zwfw.example.gov.cn/progress/N1"


@needs_poppler
def test_cli_writes_the_notice_of_a_filed_application(catalog_db, tmp_path, capsys):
    from kiosk.__main__ import main

    app = file_application(
        catalog_db, CONFIG, ITEM_CODE, {"name": "王五", "id_number": ID_NUMBER}, {},
        [{"material": "《公司登记（备案）申请书》", "data": b"scan"}], tmp_path / "blobs",
        prereview={"ok": False, "problems": [{"message": "缺少材料：公司章程"}]})
    out = tmp_path / "out" / "notice.pdf"
    assert main(["--data-dir", str(tmp_path), "admin", "notice", app.number,
                 "--out", str(out)]) == 0
    text = pdf_text(out)
    assert app.number in text and "受理通知书" in text
    assert "市场监督管理局" in text or "登记注册科" in text  # the department issues it
    missing = tmp_path / "missing.pdf"
    assert main(["--data-dir", str(tmp_path), "admin", "notice", app.number, "--kind",
                 "missing", "--out", str(missing)]) == 0
    assert "缺少材料：公司章程" in pdf_text(missing)
    assert main(["--data-dir", str(tmp_path), "admin", "notice", "NO-SUCH",
                 "--out", str(tmp_path / "n.pdf")]) == 1
    assert "no application 'NO-SUCH'" in capsys.readouterr().err


needs_pdffonts = pytest.mark.skipif(shutil.which("pdffonts") is None,
                                    reason="apt poppler-utils not installed (scripts/setup.sh)")


def embedded_fonts(path: Path) -> list[tuple[str, str]]:
    """(font name, emb column) of every font in the PDF, as poppler's pdffonts lists them."""
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    return [(line.split()[0], line.split()[-5]) for line in lines if line.strip()]


@needs_poppler
@needs_pdffonts
@pytest.mark.parametrize("lang, expected", [
    ("zh-Hans", ["受理通知书", "申请编号", "电子扫描2页", "1个工作日内办结"]),
    ("zh-Hant", ["受理通知書", "申請編號", "電子掃描2頁", "1個工作日內辦結", "受理通知书",
                 "以簡體中文文本為準"]),
    ("en", ["NoticeofAcceptance", "Applicationno.", "scanned,2page(s)", "受理通知书",
            "theChinesetextprevails", "decidedwithin1workingday(s)"]),
])
def test_acceptance_notice_in_each_language_embeds_its_font(tmp_path, application, item, lang,
                                                            expected):
    out = render_acceptance_notice(application, item, "市民服务中心", tmp_path / f"{lang}.pdf",
                                   issued_on=date(2026, 12, 7), query_url=URL, lang=lang)
    fonts = embedded_fonts(out)
    assert fonts and all(emb == "yes" for _, emb in fonts), fonts
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+1\n", info)  # one sheet of A4
    text = re.sub(r"\s+", "", pdf_text(out))
    for part in expected + ["H0001-K01-20261207-0042", "1101**********4514"]:
        assert part in text, part
    assert ID_NUMBER not in text
    first_material = item["guide"]["materials"][0]["name"][lang]
    assert re.sub(r"\s+", "", first_material) in text  # the guide's own name in that language
    if lang == "en":
        assert "7December2026" in text and "申请编号" not in text


@needs_poppler
@needs_pdffonts
@pytest.mark.parametrize("lang, title", [("zh-Hans", "一次性告知书"), ("zh-Hant", "一次性告知書"),
                                         ("en", "NoticeofMissingMaterials")])
def test_missing_notice_in_each_language_names_the_materials_in_it(tmp_path, application, item,
                                                                   lang, title):
    wanted = item["guide"]["materials"][2]["name"]
    out = render_missing_notice(application, item, "大厅", tmp_path / f"m-{lang}.pdf",
                                missing=[wanted["zh-Hans"], "公章不清晰"], query_url=URL,
                                lang=lang)
    assert all(emb == "yes" for _, emb in embedded_fonts(out))
    text = re.sub(r"\s+", "", pdf_text(out))
    assert title in text
    assert "1." + re.sub(r"\s+", "", wanted[lang]) in text  # the clerk's tick, translated
    assert "2.公章不清晰" in text  # a clerk's own words stay as written
