"""A4 PDF notices the counter prints: 受理通知书 (acceptance) and 一次性告知书 (missing materials).

Made with reportlab, with WenQuanYi Micro Hei embedded as a TrueType subset: the built-in CID
font STSong-Light is not embedded and shows as boxes where the reader lacks it, and reportlab
refuses Noto CJK's CFF outlines (shared/PLATFORM-NOTES.md). A notice is made in the visitor's
language (zh-Hans, zh-Hant or en). Simplified Chinese is the language of official documents in
the hall, so a Traditional or English notice says it is a translation, names the Chinese title,
and says the Chinese text prevails (the counter prints that one on request). The ID number is
masked as on the receipt. No Qt here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from kiosk.applications import progress_url
from kiosk.i18n import pick
from kiosk.idnumbers import mask_resident_id

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table

# reportlab is imported where it is used: it takes ~0.2 s, and the CLI parser (every start of
# the kiosk) imports this module to register ``kiosk admin notice``.
mm = 72 / 25.4  # points per millimetre (reportlab.lib.units.mm)

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT_NAME = "WQYMicroHei"
LANG = "zh-Hans"  # the language of the authentic text

# Every fixed text of the notices, in each language. {placeholders} are filled by _t.
TEXT: dict[str, dict[str, str]] = {
    "title.acceptance": {"zh-Hans": "受理通知书", "zh-Hant": "受理通知書",
                         "en": "Notice of Acceptance"},
    "title.missing": {"zh-Hans": "一次性告知书", "zh-Hant": "一次性告知書",
                      "en": "Notice of Missing Materials"},
    "translation": {"zh-Hans": "",
                    "zh-Hant": "{title} 繁體中文譯本，以簡體中文文本為準，窗口可打印",
                    "en": "English translation of the {title}; the Chinese text prevails "
                          "(printed at the counter on request)"},
    "number": {"zh-Hans": "编号：{number}", "zh-Hant": "編號：{number}", "en": "No. {number}"},
    "seal": {"zh-Hans": "（盖章）", "zh-Hant": "（蓋章）", "en": "(official seal)"},
    "qr": {"zh-Hans": "扫码查询办理进度", "zh-Hant": "掃碼查詢辦理進度",
           "en": "Scan to follow progress"},
    "url": {"zh-Hans": "查询网址：{url}", "zh-Hant": "查詢網址：{url}", "en": "Progress online: {url}"},
    "label.number": {"zh-Hans": "申请编号", "zh-Hant": "申請編號", "en": "Application no."},
    "label.item": {"zh-Hans": "事项名称", "zh-Hant": "事項名稱", "en": "Service"},
    "label.code": {"zh-Hans": "事项编码", "zh-Hant": "事項編碼", "en": "Service code"},
    "label.applicant": {"zh-Hans": "申请人", "zh-Hant": "申請人", "en": "Applicant"},
    "label.id": {"zh-Hans": "证件号码", "zh-Hant": "證件號碼", "en": "ID number"},
    "label.credit": {"zh-Hans": "统一社会信用代码", "zh-Hant": "統一社會信用代碼",
                     "en": "Credit code"},
    "label.filed": {"zh-Hans": "申请时间", "zh-Hant": "申請時間", "en": "Filed"},
    "label.received": {"zh-Hans": "已收材料", "zh-Hant": "已收材料", "en": "Received"},
    "label.limit": {"zh-Hans": "承诺时限", "zh-Hant": "承諾時限", "en": "Time limit"},
    "label.next": {"zh-Hans": "下一步", "zh-Hant": "下一步", "en": "Next step"},
    "label.place": {"zh-Hans": "办理地点", "zh-Hant": "辦理地點", "en": "Where"},
    "label.hours": {"zh-Hans": "办公时间", "zh-Hant": "辦公時間", "en": "Office hours"},
    "label.phone": {"zh-Hans": "咨询电话", "zh-Hant": "諮詢電話", "en": "Enquiries"},
    "label.missing": {"zh-Hans": "需补正", "zh-Hant": "需補正", "en": "Still needed"},
    "agent": {"zh-Hans": "{company}（经办人：{name}）", "zh-Hant": "{company}（經辦人：{name}）",
              "en": "{company} (agent: {name})"},
    "applicant": {"zh-Hans": "申请人", "zh-Hant": "申請人", "en": "Applicant"},
    "greeting": {"zh-Hans": "{who}：", "zh-Hant": "{who}：", "en": "To {who},"},
    "para.acceptance": {
        "zh-Hans": "你（单位）于{filed}提交的“{item}”申请，经审查，申请材料齐全、符合法定形式，"
                   "本机关决定予以受理。",
        "zh-Hant": "你（單位）於{filed}提交的「{item}」申請，經審查，申請材料齊全、符合法定形式，"
                   "本機關決定予以受理。",
        "en": "Your application for \"{item}\", filed on {filed}, has been examined: the "
              "materials are complete and in the form the law requires, and this office has "
              "accepted it."},
    "para.missing": {
        "zh-Hans": "你（单位）于{filed}提交的“{item}”申请，经审查，尚需补正下列材料或事项。"
                   "现一次性告知如下：",
        "zh-Hant": "你（單位）於{filed}提交的「{item}」申請，經審查，尚需補正下列材料或事項。"
                   "現一次性告知如下：",
        "en": "Your application for \"{item}\", filed on {filed}, has been examined. "
              "The materials or points below are still needed; this notice lists all of them "
              "at once:"},
    "next.acceptance": {
        "zh-Hans": "请保持电话畅通，办理进度可扫描下方二维码或凭申请编号查询；"
                   "办结后请凭本通知书及本人有效身份证件到{place}领取结果。",
        "zh-Hant": "請保持電話暢通，辦理進度可掃描下方二維碼或憑申請編號查詢；"
                   "辦結後請憑本通知書及本人有效身份證件到{place}領取結果。",
        "en": "Please keep your phone on. Follow the progress with the QR code below or the "
              "application number; when it is decided, collect the result at {place} with this "
              "notice and your valid ID."},
    "next.missing": {
        "zh-Hans": "请补齐上述全部材料后，凭本告知书到{place}提交，或在自助终端、网上补充提交；"
                   "补齐后即予受理。",
        "zh-Hant": "請補齊上述全部材料後，憑本告知書到{place}提交，或在自助終端、網上補充提交；"
                   "補齊後即予受理。",
        "en": "When you have everything listed above, bring it with this notice to {place}, or "
              "add it at a self-service kiosk or online; the application is then accepted."},
    "counter": {"zh-Hans": "受理窗口", "zh-Hant": "受理窗口", "en": "the service counter"},
    "scanned": {"zh-Hans": "电子扫描 {pages} 页", "zh-Hant": "電子掃描 {pages} 頁",
                "en": "scanned, {pages} page(s)"},
    "scanned_and_original": {"zh-Hans": "，原件现场核验", "zh-Hant": "，原件現場核驗",
                             "en": ", original checked at the counter"},
    "original": {"zh-Hans": "原件交窗口核验", "zh-Hant": "原件交窗口核驗",
                 "en": "original shown at the counter"},
    "received": {"zh-Hans": "{name}（{how}）", "zh-Hant": "{name}（{how}）", "en": "{name} ({how})"},
    "not_submitted": {"zh-Hans": "未提交：{name}", "zh-Hant": "未提交：{name}",
                      "en": "Not supplied: {name}"},
    "none": {"zh-Hans": "无", "zh-Hant": "無", "en": "None"},
    "limit.unknown": {"zh-Hans": "以窗口告知为准", "zh-Hant": "以窗口告知為準",
                      "en": "as the counter tells you"},
    "limit": {"zh-Hans": "自受理之日起 {days} 个工作日内办结",
              "zh-Hant": "自受理之日起 {days} 個工作日內辦結",
              "en": "decided within {days} working day(s) of acceptance"},
    "limit.legal": {"zh-Hans": "（法定时限 {days} 个工作日）", "zh-Hant": "（法定時限 {days} 個工作日）",
                    "en": " (legal limit: {days} working days)"},
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _t(lang: str, key: str, **values: object) -> str:
    text = TEXT[key].get(lang) or TEXT[key][LANG]
    return text.format(**values) if values else text


class NoticeError(Exception):
    """A notice cannot be made; the message says what is missing and how to get it."""


@cache
def _register_font() -> str:
    """Register the embedded CJK font once per process; returns its reportlab name."""
    if not FONT_PATH.exists():
        raise NoticeError(f"CJK font {FONT_PATH} is missing: install the Debian package "
                          "fonts-wqy-microhei (scripts/setup.sh does)")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0))
    return FONT_NAME



def qr_drawing(data: str, size: float) -> Drawing:
    """A QR code (error correction M) as vector squares, ``size`` points wide: crisp at any
    printer resolution."""
    import qrcode
    from reportlab.graphics.shapes import Drawing, Rect
    from reportlab.lib import colors

    qr = qrcode.QRCode(border=2, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    cell = size / len(matrix)
    drawing = Drawing(size, size, initialFontName=_register_font())  # no stray Helvetica
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                drawing.add(Rect(col * cell, size - (r + 1) * cell, cell, cell,
                                 fillColor=colors.black, strokeColor=None, strokeWidth=0))
    return drawing


def _styles(lang: str = LANG) -> dict[str, ParagraphStyle]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    font = _register_font()
    # CJK wrapping breaks between any two characters; English must break at spaces.
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=17,
                          wordWrap=None if lang == "en" else "CJK")
    return {
        "body": base,
        "hall": ParagraphStyle("hall", parent=base, fontSize=12, alignment=1),
        "title": ParagraphStyle("title", parent=base, fontSize=22, leading=30, alignment=1,
                                spaceAfter=2),
        "number": ParagraphStyle("number", parent=base, fontSize=10.5, alignment=2),
        "para": ParagraphStyle("para", parent=base, firstLineIndent=22),
        "label": ParagraphStyle("label", parent=base, textColor=colors.HexColor("#333333")),
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=13),
        "right": ParagraphStyle("right", parent=base, alignment=2),
        "center": ParagraphStyle("center", parent=base, fontSize=9, leading=12, alignment=1),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    from reportlab.platypus import Paragraph

    # Escaped: names and reasons come from visitors and the catalog, not from us.
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _gap(millimetres: float) -> Any:
    from reportlab.platypus import Spacer

    return Spacer(1, millimetres * mm)


def _as_dict(application: Any) -> dict:
    """Accept kiosk.applications.Application or its dict (asdict / wire)."""
    if is_dataclass(application) and not isinstance(application, type):
        return asdict(application)
    if not isinstance(application, dict) or not application.get("number"):
        raise NoticeError("the application has no number: file it first (kiosk.applications)")
    return application


def _local_time(stamp: str, lang: str = LANG) -> str:
    try:
        moment = datetime.fromisoformat(stamp).astimezone()
    except (TypeError, ValueError):
        return stamp or "—"
    if lang == "en":
        return f"{_long_date(moment.date(), lang)}, {moment:%H:%M}"
    return moment.strftime("%Y年%m月%d日 %H:%M")


def _long_date(day: date, lang: str = LANG) -> str:
    if lang == "en":
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def material_name(name: str, item: dict | None, lang: str) -> str:
    """A material's name in ``lang`` when the item's guide lists it (under any language)."""
    for material in (item or {}).get("guide", {}).get("materials", []):
        names = material.get("name") or {}
        if name in names.values():
            return pick(names, lang)
    return name


def materials_received(application: dict, lang: str = LANG,
                       item: dict | None = None) -> list[tuple[str, str]]:
    """(material name, how it was received) for each material, in filing order:
    scanned pages counted, or the original to be handed to the counter."""
    order: list[str] = []
    pages: dict[str, int] = {}
    originals: set[str] = set()
    for entry in application.get("materials") or []:
        name = str(entry.get("material") or "")
        if not name:
            continue
        if name not in pages:
            order.append(name)
            pages[name] = 0
        if entry.get("sha256"):
            pages[name] += 1
        elif entry.get("original_brought"):
            originals.add(name)
    out = []
    for name in order:
        if pages[name]:
            how = _t(lang, "scanned", pages=pages[name]) + (
                _t(lang, "scanned_and_original") if name in originals else "")
        elif name in originals:
            how = _t(lang, "original")
        else:
            continue  # listed but neither scanned nor brought: not received
        out.append((material_name(name, item, lang), how))
    return out


def missing_items(application: dict, item: dict, lang: str = LANG) -> list[str]:
    """What is missing or wrong: the pre-review's own list when it has one, otherwise every
    required material of the guide that was not received."""
    problems = (application.get("prereview") or {}).get("problems") or []
    listed = [str(p.get("message") or "") for p in problems if p.get("message")]
    if listed:
        return listed
    received = {name for name, _ in materials_received(application, lang, item)}
    out = []
    for material in item.get("guide", {}).get("materials", []):
        name = pick(material["name"], lang)
        if material.get("required") and name not in received:
            out.append(_t(lang, "not_submitted", name=name))
    return out


def _time_limit(item: dict, lang: str = LANG) -> str:
    limit = item.get("guide", {}).get("time_limit") or {}
    committed, legal = limit.get("committed_days"), limit.get("legal_days")
    if committed is None:
        return _t(lang, "limit.unknown")
    text = _t(lang, "limit", days=committed)
    if legal and legal != committed:
        text += _t(lang, "limit.legal", days=legal)
    return text


def _table(rows: list[tuple[str, Any]], styles: dict[str, ParagraphStyle],
           label_mm: float = 32) -> Table:
    from reportlab.lib import colors
    from reportlab.platypus import Flowable, Table, TableStyle

    data = [[_p(label, styles["label"]), value if isinstance(value, Flowable)
             else _p(str(value), styles["body"])] for label, value in rows]
    table = Table(data, colWidths=[label_mm * mm, (170 - label_mm) * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), _register_font()),  # cells default to Helvetica
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return table


def _list(lines: list[str], styles: dict[str, ParagraphStyle], lang: str = LANG) -> Paragraph:
    if not lines:
        return _p(_t(lang, "none"), styles["body"])
    return _p("\n".join(f"{n}. {line}" for n, line in enumerate(lines, 1)), styles["body"])


def _render(out: Path, kind: str, application: dict, item: dict, hall_name: str,
            body: Callable[[dict[str, ParagraphStyle]], list], *, issuer: str,
            issued_on: date, query_url: str, lang: str) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    styles = _styles(lang)
    number = application["number"]
    title = _t(lang, f"title.{kind}")
    story: list = [_p(hall_name, styles["hall"]), _p(title, styles["title"])]
    if lang != LANG:  # a translation says so, naming the authentic document by its title
        story.append(_p(_t(lang, "translation", title=_t(LANG, f"title.{kind}")),
                        styles["center"]))
    story += [_p(_t(lang, "number", number=number), styles["number"]), Spacer(1, 3 * mm)]
    story += body(styles)
    story.append(Spacer(1, 6 * mm))
    qr = qr_drawing(query_url, 32 * mm)
    sign = [_p(f"{issuer}\n{_t(lang, 'seal')}", styles["right"]), Spacer(1, 4 * mm),
            _p(_long_date(issued_on, lang), styles["right"])]
    qr_cell = [qr, _p(_t(lang, "qr"), styles["center"])]
    bottom = Table([[qr_cell, sign]], colWidths=[40 * mm, 130 * mm])
    bottom.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                                ("FONTNAME", (0, 0), (-1, -1), _register_font())]))
    story.append(bottom)
    story.append(Spacer(1, 4 * mm))
    story.append(_p(_t(lang, "url", url=query_url), styles["small"]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title=f"{title} {number}",
                            author=issuer, subject=pick(item.get("name", {}), lang),
                            invariant=1,  # same bytes for the same notice: reprints compare
                            # else every page names Helvetica, a font the PDF does not embed
                            initialFontName=_register_font())
    doc.build(story)
    return out


def _common_rows(application: dict, item: dict, lang: str = LANG) -> list[tuple[str, Any]]:
    applicant = application.get("applicant") or {}
    who = str(applicant.get("company_name") or applicant.get("name") or "—")
    if applicant.get("company_name") and applicant.get("name"):
        who = _t(lang, "agent", company=applicant["company_name"], name=applicant["name"])
    id_number = str(applicant.get("credit_code") or applicant.get("id_number") or "")
    rows: list[tuple[str, Any]] = [
        (_t(lang, "label.number"), application["number"]),
        (_t(lang, "label.item"),
         pick(item.get("name", {}), lang) or application.get("item_code", "")),
        (_t(lang, "label.code"), item.get("code") or application.get("item_code", "")),
        (_t(lang, "label.applicant"), who),
    ]
    if applicant.get("id_number"):
        rows.append((_t(lang, "label.id"), mask_resident_id(str(applicant["id_number"]))))
    elif id_number:
        rows.append((_t(lang, "label.credit"), id_number))
    rows.append((_t(lang, "label.filed"), _local_time(application.get("filed_at", ""), lang)))
    return rows


def render_acceptance_notice(application: Any, item: dict, hall_name: str, out: Path, *,
                             issuer: str = "", issued_on: date | None = None,
                             query_url: str = "", lang: str = LANG) -> Path:
    """Write the 受理通知书 of a filed application to ``out`` (A4 PDF); returns ``out``.

    ``application``: kiosk.applications.Application or its dict; ``item``: the catalog item;
    ``issuer``: the issuing unit (default: the hall); ``query_url``: the progress page the QR
    code points to (default: an ``/progress/<number>`` page on the guide site); ``lang``:
    zh-Hans (the authentic text), zh-Hant or en (a translation that says so).
    """
    app = _as_dict(application)
    guide = item.get("guide", {})
    place = pick(guide.get("place") or {}, lang)

    def body(styles: dict[str, ParagraphStyle]) -> list:
        return _intro(app, item, "acceptance", styles, lang) + [
            _table(_common_rows(app, item, lang) + [
                (_t(lang, "label.received"), _list(_received(app, item, lang), styles, lang)),
                (_t(lang, "label.limit"), _time_limit(item, lang)),
                (_t(lang, "label.next"),
                 _t(lang, "next.acceptance", place=place or _t(lang, "counter"))),
                (_t(lang, "label.place"), place or "—"),
                (_t(lang, "label.hours"), pick(guide.get("hours") or {}, lang) or "—"),
                (_t(lang, "label.phone"), guide.get("phone", "") or "—"),
            ], styles, _label_mm(lang)),
        ]

    return _render(Path(out), "acceptance", app, item, hall_name, body,
                   issuer=issuer or hall_name, issued_on=issued_on or date.today(),
                   query_url=query_url or progress_url(
                       "https://zwfw.example.gov.cn/", app["number"]), lang=lang)


def _addressee(app: dict, lang: str = LANG) -> str:
    """Whom a notice is addressed to: the company when there is one, else the person."""
    applicant = app.get("applicant") or {}
    return applicant.get("company_name") or applicant.get("name") or _t(lang, "applicant")


def _intro(app: dict, item: dict, kind: str, styles: dict[str, ParagraphStyle],
           lang: str) -> list:
    """The greeting and the paragraph that says what was decided."""
    name = pick(item.get("name", {}), lang) or app.get("item_code", "")
    return [
        _p(_t(lang, "greeting", who=_addressee(app, lang)), styles["body"]),
        _p(_t(lang, f"para.{kind}", filed=_local_time(app.get("filed_at", ""), lang), item=name),
           styles["para"]),
        _gap(3),
    ]


def _received(app: dict, item: dict, lang: str) -> list[str]:
    return [_t(lang, "received", name=name, how=how)
            for name, how in materials_received(app, lang, item)]


def _label_mm(lang: str) -> float:
    return 36 if lang == "en" else 32  # "Application no." needs a wider first column


def render_missing_notice(application: Any, item: dict, hall_name: str, out: Path, *,
                          missing: list[str] | None = None, issuer: str = "",
                          issued_on: date | None = None, query_url: str = "",
                          lang: str = LANG) -> Path:
    """Write the 一次性告知书 (everything missing or wrong, said once) to ``out`` (A4 PDF).

    ``missing``: the lines to list (a counter's decision; material names of the item's guide
    are put into ``lang``); default: the application's pre-review problems, or the guide's
    required materials not received.
    """
    app = _as_dict(application)
    lines = list(missing) if missing is not None else missing_items(app, item, lang)
    lines = [material_name(line, item, lang) for line in lines]
    if not lines:
        raise NoticeError(f"application {app['number']} lacks nothing: print the acceptance "
                          "notice instead, or name what is missing")
    guide = item.get("guide", {})
    place = pick(guide.get("place") or {}, lang)

    def body(styles: dict[str, ParagraphStyle]) -> list:
        return _intro(app, item, "missing", styles, lang) + [
            _table(_common_rows(app, item, lang) + [
                (_t(lang, "label.received"), _list(_received(app, item, lang), styles, lang)),
                (_t(lang, "label.missing"), _list(lines, styles, lang)),
                (_t(lang, "label.next"),
                 _t(lang, "next.missing", place=place or _t(lang, "counter"))),
                (_t(lang, "label.hours"), pick(guide.get("hours") or {}, lang) or "—"),
                (_t(lang, "label.phone"), guide.get("phone", "") or "—"),
            ], styles, _label_mm(lang)),
        ]

    return _render(Path(out), "missing", app, item, hall_name, body,
                   issuer=issuer or hall_name, issued_on=issued_on or date.today(),
                   query_url=query_url or progress_url(
                       "https://zwfw.example.gov.cn/", app["number"]), lang=lang)


# ---------------------------------------------------------------------------------------------
# kiosk admin notice NUMBER --out FILE.pdf

def notice_for(db: Any, application: Any, config: Any, out: Path, *, kind: str = "acceptance",
               lang: str = LANG, missing: list[str] | None = None) -> Path:
    """Write the notice of a stored application with its catalog item, issued by the item's
    department, the QR pointing at ``config``'s progress page. ``kind``: acceptance | missing."""
    from kiosk import catalog
    from kiosk.i18n import tr

    item = catalog.get_item(db, application.item_code)
    if item is None:
        raise NoticeError(f"item {application.item_code} of {application.number} is not in the "
                          "current catalog; apply a catalog that has it (kiosk catalog apply)")
    department = catalog.get_department(db, item.get("department", "")) or {}
    hall_name = tr("app.hall_name", lang)
    issuer = pick(department.get("name") or {}, lang) or hall_name
    url = progress_url(config.guide_url_template, application.number)
    if kind == "missing":
        return render_missing_notice(application, item, hall_name, out, missing=missing,
                                     issuer=issuer, query_url=url, lang=lang)
    return render_acceptance_notice(application, item, hall_name, out, issuer=issuer,
                                    query_url=url, lang=lang)


def add_notice_commands(adm_sub: Any) -> None:
    """Register ``kiosk admin notice``."""
    notice = adm_sub.add_parser("notice", help="write the A4 PDF acceptance notice (受理通知书) "
                                "or missing-materials notice (一次性告知书) of an application")
    notice.add_argument("number", metavar="NUMBER", help="application number or id")
    notice.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    notice.add_argument("--kind", choices=["acceptance", "missing"], default="acceptance",
                        help="which notice (default: acceptance)")
    notice.add_argument("--lang", choices=["zh-Hans", "zh-Hant", "en"], default=LANG,
                        help="language (default zh-Hans, the authentic text; the others are "
                             "translations that say so)")
    notice.add_argument("--missing", action="append", metavar="TEXT",
                        help="a line of the missing-materials notice (repeatable; default: "
                             "the application's pre-review list)")


def cmd_notice(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk.applications import get_application
    from kiosk.store import open_store

    db = open_store(Path(data_dir) / "kiosk.db")
    application = get_application(db, args.number)
    if application is None:
        print(f"kiosk: no application {args.number!r} in {data_dir / 'kiosk.db'}",
              file=sys.stderr)
        return 1
    try:
        notice_for(db, application, config, args.out, kind=args.kind,
                   lang=getattr(args, "lang", LANG), missing=args.missing)
    except NoticeError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


NOTICE_ADMIN_COMMANDS = {"notice": cmd_notice}
