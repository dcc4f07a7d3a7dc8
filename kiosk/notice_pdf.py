"""A4 PDF notices the counter prints: 受理通知书 (acceptance) and 一次性告知书 (missing materials).

Made with reportlab, with WenQuanYi Micro Hei embedded as a TrueType subset: the built-in CID
font STSong-Light is not embedded and shows as boxes where the reader lacks it, and reportlab
refuses Noto CJK's CFF outlines (shared/PLATFORM-NOTES.md). The text is Simplified Chinese, the
language of official documents in the hall; the visitor's own language is on the thermal
receipt (kiosk.receipts). The ID number is masked as on the receipt. No Qt here.
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
LANG = "zh-Hans"


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
    drawing = Drawing(size, size)
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                drawing.add(Rect(col * cell, size - (r + 1) * cell, cell, cell,
                                 fillColor=colors.black, strokeColor=None, strokeWidth=0))
    return drawing


def _styles() -> dict[str, ParagraphStyle]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    font = _register_font()
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
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


def _local_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y年%m月%d日 %H:%M")
    except (TypeError, ValueError):
        return stamp or "—"


def _long_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def materials_received(application: dict) -> list[tuple[str, str]]:
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
            how = f"电子扫描 {pages[name]} 页" + ("，原件现场核验" if name in originals else "")
        elif name in originals:
            how = "原件交窗口核验"
        else:
            continue  # listed but neither scanned nor brought: not received
        out.append((name, how))
    return out


def missing_items(application: dict, item: dict) -> list[str]:
    """What is missing or wrong: the pre-review's own list when it has one, otherwise every
    required material of the guide that was not received."""
    problems = (application.get("prereview") or {}).get("problems") or []
    listed = [str(p.get("message") or "") for p in problems if p.get("message")]
    if listed:
        return listed
    received = {name for name, _ in materials_received(application)}
    out = []
    for material in item.get("guide", {}).get("materials", []):
        name = pick(material["name"], LANG)
        if material.get("required") and name not in received:
            out.append(f"未提交：{name}")
    return out


def _time_limit(item: dict) -> str:
    limit = item.get("guide", {}).get("time_limit") or {}
    committed, legal = limit.get("committed_days"), limit.get("legal_days")
    if committed is None:
        return "以窗口告知为准"
    text = f"自受理之日起 {committed} 个工作日内办结"
    if legal and legal != committed:
        text += f"（法定时限 {legal} 个工作日）"
    return text


def _table(rows: list[tuple[str, Any]], styles: dict[str, ParagraphStyle]) -> Table:
    from reportlab.lib import colors
    from reportlab.platypus import Flowable, Table, TableStyle

    data = [[_p(label, styles["label"]), value if isinstance(value, Flowable)
             else _p(str(value), styles["body"])] for label, value in rows]
    table = Table(data, colWidths=[32 * mm, 138 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return table


def _list(lines: list[str], styles: dict[str, ParagraphStyle]) -> Paragraph:
    if not lines:
        return _p("无", styles["body"])
    return _p("\n".join(f"{n}. {line}" for n, line in enumerate(lines, 1)), styles["body"])


def _render(out: Path, title: str, application: dict, item: dict, hall_name: str,
            body: Callable[[dict[str, ParagraphStyle]], list], *, issuer: str,
            issued_on: date, query_url: str) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    styles = _styles()
    number = application["number"]
    story: list = [
        _p(hall_name, styles["hall"]),
        _p(title, styles["title"]),
        _p(f"编号：{number}", styles["number"]),
        Spacer(1, 3 * mm),
    ]
    story += body(styles)
    story.append(Spacer(1, 6 * mm))
    qr = qr_drawing(query_url, 32 * mm)
    sign = [_p(f"{issuer}\n（盖章）", styles["right"]), Spacer(1, 4 * mm),
            _p(_long_date(issued_on), styles["right"])]
    qr_cell = [qr, _p("扫码查询办理进度", styles["center"])]
    bottom = Table([[qr_cell, sign]], colWidths=[40 * mm, 130 * mm])
    bottom.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story.append(bottom)
    story.append(Spacer(1, 4 * mm))
    story.append(_p(f"查询网址：{query_url}", styles["small"]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title=f"{title} {number}",
                            author=issuer, subject=pick(item.get("name", {}), LANG),
                            invariant=1)  # same bytes for the same notice: reprints compare
    doc.build(story)
    return out


def _common_rows(application: dict, item: dict) -> list[tuple[str, Any]]:
    applicant = application.get("applicant") or {}
    who = str(applicant.get("company_name") or applicant.get("name") or "—")
    if applicant.get("company_name") and applicant.get("name"):
        who = f"{applicant['company_name']}（经办人：{applicant['name']}）"
    id_number = str(applicant.get("credit_code") or applicant.get("id_number") or "")
    rows: list[tuple[str, Any]] = [
        ("申请编号", application["number"]),
        ("事项名称", pick(item.get("name", {}), LANG) or application.get("item_code", "")),
        ("事项编码", item.get("code") or application.get("item_code", "")),
        ("申请人", who),
    ]
    if applicant.get("id_number"):
        rows.append(("证件号码", mask_resident_id(str(applicant["id_number"]))))
    elif id_number:
        rows.append(("统一社会信用代码", id_number))
    rows.append(("申请时间", _local_time(application.get("filed_at", ""))))
    return rows


def render_acceptance_notice(application: Any, item: dict, hall_name: str, out: Path, *,
                             issuer: str = "", issued_on: date | None = None,
                             query_url: str = "") -> Path:
    """Write the 受理通知书 of a filed application to ``out`` (A4 PDF); returns ``out``.

    ``application``: kiosk.applications.Application or its dict; ``item``: the catalog item;
    ``issuer``: the issuing unit (default: the hall); ``query_url``: the progress page the QR
    code points to (default: an ``/progress/<number>`` page on the guide site).
    """
    app = _as_dict(application)
    guide = item.get("guide", {})
    received = [f"{name}（{how}）" for name, how in materials_received(app)]
    place = pick(guide.get("place") or {}, LANG)
    hours = pick(guide.get("hours") or {}, LANG)
    phone = guide.get("phone", "")
    name = pick(item.get("name", {}), LANG)

    def body(styles: dict[str, ParagraphStyle]) -> list:
        who = _addressee(app)
        return [
            _p(f"{who}：", styles["body"]),
            _p(f"你（单位）于{_local_time(app.get('filed_at', ''))}提交的“{name}”申请，"
               "经审查，申请材料齐全、符合法定形式，本机关决定予以受理。", styles["para"]),
            _gap(3),
            _table(_common_rows(app, item) + [
                ("已收材料", _list(received, styles)),
                ("承诺时限", _time_limit(item)),
                ("下一步", "请保持电话畅通，办理进度可扫描下方二维码或凭申请编号查询；"
                           f"办结后请凭本通知书及本人有效身份证件到{place or '受理窗口'}领取结果。"),
                ("办理地点", place or "—"),
                ("办公时间", hours or "—"),
                ("咨询电话", phone or "—"),
            ], styles),
        ]

    return _render(Path(out), "受理通知书", app, item, hall_name, body,
                   issuer=issuer or hall_name, issued_on=issued_on or date.today(),
                   query_url=query_url or progress_url(
                       "https://zwfw.example.gov.cn/", app["number"]))


def _addressee(app: dict) -> str:
    """Whom a notice is addressed to: the company when there is one, else the person."""
    applicant = app.get("applicant") or {}
    return applicant.get("company_name") or applicant.get("name") or "申请人"


def render_missing_notice(application: Any, item: dict, hall_name: str, out: Path, *,
                          missing: list[str] | None = None, issuer: str = "",
                          issued_on: date | None = None, query_url: str = "") -> Path:
    """Write the 一次性告知书 (everything missing or wrong, said once) to ``out`` (A4 PDF).

    ``missing``: the lines to list (a counter's decision); default: the application's
    pre-review problems, or the guide's required materials not received.
    """
    app = _as_dict(application)
    lines = list(missing) if missing is not None else missing_items(app, item)
    if not lines:
        raise NoticeError(f"application {app['number']} lacks nothing: print the acceptance "
                          "notice instead, or name what is missing")
    guide = item.get("guide", {})
    place = pick(guide.get("place") or {}, LANG)
    received = [f"{name}（{how}）" for name, how in materials_received(app)]
    name = pick(item.get("name", {}), LANG)

    def body(styles: dict[str, ParagraphStyle]) -> list:
        who = _addressee(app)
        return [
            _p(f"{who}：", styles["body"]),
            _p(f"你（单位）于{_local_time(app.get('filed_at', ''))}提交的“{name}”申请，"
               "经审查，尚需补正下列材料或事项。现一次性告知如下：", styles["para"]),
            _gap(3),
            _table(_common_rows(app, item) + [
                ("已收材料", _list(received, styles)),
                ("需补正", _list(lines, styles)),
                ("下一步", f"请补齐上述全部材料后，凭本告知书到{place or '受理窗口'}提交，"
                           "或在自助终端、网上补充提交；补齐后即予受理。"),
                ("办公时间", pick(guide.get("hours") or {}, LANG) or "—"),
                ("咨询电话", guide.get("phone", "") or "—"),
            ], styles),
        ]

    return _render(Path(out), "一次性告知书", app, item, hall_name, body,
                   issuer=issuer or hall_name, issued_on=issued_on or date.today(),
                   query_url=query_url or progress_url(
                       "https://zwfw.example.gov.cn/", app["number"]))


# ---------------------------------------------------------------------------------------------
# kiosk admin notice NUMBER --out FILE.pdf

def add_notice_commands(adm_sub: Any) -> None:
    """Register ``kiosk admin notice``."""
    notice = adm_sub.add_parser("notice", help="write the A4 PDF acceptance notice (受理通知书) "
                                "or missing-materials notice (一次性告知书) of an application")
    notice.add_argument("number", metavar="NUMBER", help="application number or id")
    notice.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    notice.add_argument("--kind", choices=["acceptance", "missing"], default="acceptance",
                        help="which notice (default: acceptance)")
    notice.add_argument("--missing", action="append", metavar="TEXT",
                        help="a line of the missing-materials notice (repeatable; default: "
                             "the application's pre-review list)")


def cmd_notice(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk import catalog
    from kiosk.applications import get_application
    from kiosk.i18n import tr
    from kiosk.store import open_store

    db = open_store(Path(data_dir) / "kiosk.db")
    application = get_application(db, args.number)
    if application is None:
        print(f"kiosk: no application {args.number!r} in {data_dir / 'kiosk.db'}",
              file=sys.stderr)
        return 1
    item = catalog.get_item(db, application.item_code)
    if item is None:
        print(f"kiosk: item {application.item_code} of {application.number} is not in the "
              "current catalog; apply a catalog that has it (kiosk catalog apply)",
              file=sys.stderr)
        return 1
    department = catalog.get_department(db, item.get("department", "")) or {}
    hall_name = tr("app.hall_name", LANG)
    issuer = pick(department.get("name") or {}, LANG) or hall_name
    url = progress_url(config.guide_url_template, application.number)
    try:
        if args.kind == "missing":
            render_missing_notice(application, item, hall_name, args.out, missing=args.missing,
                                  issuer=issuer, query_url=url)
        else:
            render_acceptance_notice(application, item, hall_name, args.out, issuer=issuer,
                                     query_url=url)
    except NoticeError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


NOTICE_ADMIN_COMMANDS = {"notice": cmd_notice}
