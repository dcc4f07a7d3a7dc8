"""Receipts: layouts as data, rendered to device-independent rows, then to an image if needed.

A receipt is a ``Document``: its kind, its number (what the counter types to reprint it), the
visitor's language and a list of ``Line``s. The layouts below (queue ticket, application receipt,
one-time missing-materials notice 一次性告知单, guide checklist) are small templates of data: a
label is a ui.json key (so every receipt exists in zh-Hans, zh-Hant and en) and values are
``{placeholders}`` filled from a dict. ``layout`` wraps a document to the paper's columns
(ASCII one column, every other character two, as on Chinese thermal printers); the printer
turns those rows into ESC/POS bytes, and ``render_image`` draws them with Pillow for printers
without a Chinese font, for the simulated printer's PNG and for previews. No Qt here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from kiosk.i18n import tr

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_INDEX = 1  # "WenQuanYi Micro Hei Mono": Latin letters of even width
DOT_COLUMN = 12  # a 12 x 24 dot cell (font A of 58/80 mm printers); CJK takes two cells
ROW_HEIGHT = 30  # dots per text row at size 1 (24-dot glyph + the printer's default spacing)
KINDS = ("ticket", "receipt", "notice", "checklist", "test")


class ReceiptError(ValueError):
    """A receipt cannot be built: a template field is missing or a document is malformed."""


@dataclass(frozen=True)
class Line:
    """One element of a receipt. ``kind``: text | pair | check | rule | qr | feed."""

    kind: str
    text: str = ""
    value: str = ""  # pair: the value after the label; check: a note; qr: caption
    align: str = "left"  # left | center | right
    bold: bool = False
    size: int = 1  # character magnification 1-4 (GS !)


@dataclass(frozen=True)
class Document:
    """A receipt ready to print in any printer's language."""

    kind: str
    receipt_no: str
    lang: str
    lines: tuple[Line, ...]
    copy: int = 1  # 1 = the original, 2 and up = reprints

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Document:
        try:
            data = json.loads(text)
            lines = tuple(Line(**ln) for ln in data.pop("lines"))
            return cls(lines=lines, **data)
        except (ValueError, TypeError, KeyError) as exc:
            raise ReceiptError(f"stored receipt document is malformed: {exc}") from exc

    def as_copy(self, copy: int) -> Document:
        """This document as reprint number ``copy`` (the banner is added when it is laid out)."""
        return replace(self, copy=copy)


# ---------------------------------------------------------------------------------------------
# Templates. Each entry: (kind, text, options). "@key" = a ui.json label; "{x}" = data["x"];
# ("each", list_name, entry) repeats entry for every dict in data[list_name].

Spec = tuple[Any, ...]

TICKET: tuple[Spec, ...] = (
    ("text", "{hall_name}", {"align": "center", "bold": True}),
    ("text", "@receipt.ticket.title", {"align": "center"}),
    ("text", "{number}", {"align": "center", "bold": True, "size": 4}),
    ("text", "{item_name}", {"align": "center", "bold": True}),
    ("text", "@receipt.ticket.waiting", {"align": "center"}),
    ("rule", "", {}),
    ("pair", "@receipt.issued_at", {"value": "{issued_at}"}),
    ("pair", "@receipt.terminal", {"value": "{terminal_id}"}),
    ("qr", "{qr}", {}),
    ("text", "@receipt.ticket.footer", {}),
)

APPLICATION_RECEIPT: tuple[Spec, ...] = (
    ("text", "{hall_name}", {"align": "center", "bold": True}),
    ("text", "@receipt.application.title", {"align": "center", "bold": True, "size": 2}),
    ("rule", "", {}),
    ("pair", "@receipt.application_no", {"value": "{application_no}", "bold": True}),
    ("pair", "@receipt.item", {"value": "{item_name}"}),
    ("pair", "@receipt.applicant", {"value": "{applicant}"}),
    ("pair", "@receipt.id_number", {"value": "{id_number}"}),
    ("pair", "@receipt.filed_at", {"value": "{filed_at}"}),
    ("pair", "@receipt.status", {"value": "@receipt.application.pending"}),
    ("pair", "@receipt.time_limit", {"value": "@receipt.days"}),
    ("rule", "", {}),
    ("text", "@receipt.materials", {"bold": True}),
    ("each", "materials", ("check", "{name}", {"value": "{note}"})),
    ("rule", "", {}),
    ("qr", "{query_url}", {"value": "@receipt.query_hint"}),
    ("text", "@receipt.phone", {}),
)

MISSING_MATERIALS_NOTICE: tuple[Spec, ...] = (
    ("text", "{hall_name}", {"align": "center", "bold": True}),
    ("text", "@receipt.notice.title", {"align": "center", "bold": True, "size": 2}),
    ("rule", "", {}),
    ("pair", "@receipt.application_no", {"value": "{application_no}", "bold": True}),
    ("pair", "@receipt.item", {"value": "{item_name}"}),
    ("pair", "@receipt.applicant", {"value": "{applicant}"}),
    ("text", "@receipt.notice.intro", {}),
    ("each", "missing", ("check", "{name}", {"value": "{reason}"})),
    ("rule", "", {}),
    ("pair", "@receipt.notice.window", {"value": "{window}"}),
    ("pair", "@receipt.notice.clerk", {"value": "{clerk}"}),
    ("pair", "@receipt.notice.date", {"value": "{issued_at}"}),
    ("text", "@receipt.notice.footer", {}),
    ("qr", "{query_url}", {"value": "@receipt.query_hint"}),
)

GUIDE_CHECKLIST: tuple[Spec, ...] = (
    ("text", "@receipt.checklist.title", {"align": "center", "bold": True, "size": 2}),
    ("text", "{item_name}", {"align": "center", "bold": True}),
    ("text", "{department}", {"align": "center"}),
    ("rule", "", {}),
    ("each", "materials", ("check", "{name}", {"value": "{note}"})),
    ("rule", "", {}),
    ("pair", "@receipt.checklist.place", {"value": "{place}"}),
    ("pair", "@receipt.checklist.hours", {"value": "{hours}"}),
    ("pair", "@receipt.checklist.phone", {"value": "{phone}"}),
    ("qr", "{guide_url}", {"value": "@receipt.checklist.qr_hint"}),
)

TEST_PAGE: tuple[Spec, ...] = (
    ("text", "@receipt.test.title", {"align": "center", "bold": True, "size": 2}),
    ("pair", "@receipt.test.model", {"value": "{model}"}),
    ("pair", "@receipt.test.paper", {"value": "{paper_mm} mm"}),
    ("text", "中文打印测试：政务服务 ￥0.00 【一次性告知】", {}),
    ("text", "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789", {}),
    ("rule", "", {}),
    ("qr", "{qr}", {}),
)

TEMPLATES: dict[str, tuple[Spec, ...]] = {
    "ticket": TICKET,
    "receipt": APPLICATION_RECEIPT,
    "notice": MISSING_MATERIALS_NOTICE,
    "checklist": GUIDE_CHECKLIST,
    "test": TEST_PAGE,
}


def _fill(text: str, data: dict[str, Any], lang: str) -> str:
    try:
        if text.startswith("@"):
            return tr(text[1:], lang, **{k: v for k, v in data.items() if not isinstance(v, list)})
        return text.format(**data)
    except KeyError as exc:
        raise ReceiptError(f"receipt field {exc} is missing for {text!r}") from None


def _expand(specs: tuple[Spec, ...], data: dict[str, Any], lang: str) -> list[Line]:
    lines: list[Line] = []
    for spec in specs:
        if spec[0] == "each":
            _, list_name, entry = spec
            for element in data.get(list_name) or []:
                lines += _expand((entry,), {**data, **element}, lang)
            continue
        kind, text, options = spec
        opts = dict(options)
        if "value" in opts:
            opts["value"] = _fill(opts["value"], data, lang)
        line = Line(kind, _fill(text, data, lang) if text else "", **opts)
        if line.kind == "qr" and not line.text:
            continue  # no QR data: leave the code out rather than print an empty one
        lines.append(line)
    return lines


def build(kind: str, receipt_no: str, data: dict[str, Any], lang: str) -> Document:
    """The receipt ``kind`` (ticket, receipt, notice, checklist, test) filled from ``data``."""
    if kind not in TEMPLATES:
        raise ReceiptError(f"unknown receipt kind {kind!r}; one of {', '.join(TEMPLATES)}")
    return Document(kind, receipt_no, lang, tuple(_expand(TEMPLATES[kind], data, lang)))


def queue_ticket(*, hall_name: str, number: str, item_name: str, waiting: int, issued_at: str,
                 terminal_id: str, lang: str, qr: str = "") -> Document:
    """A queue ticket: the number large, the item, how many wait ahead."""
    return build("ticket", number, {"hall_name": hall_name, "number": number,
                                    "item_name": item_name, "waiting": waiting,
                                    "issued_at": issued_at, "terminal_id": terminal_id,
                                    "qr": qr}, lang)


def application_receipt(*, hall_name: str, application_no: str, item_name: str, applicant: str,
                        id_number: str, filed_at: str, time_limit_days: int,
                        materials: list[dict[str, str]], query_url: str, phone: str,
                        lang: str) -> Document:
    """The receipt a visitor takes home after filing: number, item, masked identity, materials.

    ``applicant`` and ``id_number`` should already be masked (kiosk.idnumbers.mask_resident_id).
    """
    return build("receipt", application_no, {
        "hall_name": hall_name, "application_no": application_no, "item_name": item_name,
        "applicant": applicant, "id_number": id_number, "filed_at": filed_at,
        "n": time_limit_days, "materials": [{"note": "", **m} for m in materials],
        "query_url": query_url, "phone": phone}, lang)


def missing_materials_notice(*, hall_name: str, application_no: str, item_name: str,
                             applicant: str, missing: list[dict[str, str]], window: str,
                             clerk: str, issued_at: str, phone: str, query_url: str,
                             lang: str) -> Document:
    """一次性告知单: everything still missing, said once, with the reason for each material."""
    return build("notice", application_no, {
        "hall_name": hall_name, "application_no": application_no, "item_name": item_name,
        "applicant": applicant, "missing": [{"reason": "", **m} for m in missing],
        "window": window, "clerk": clerk, "issued_at": issued_at, "phone": phone,
        "query_url": query_url}, lang)


def guide_checklist(*, item_code: str, item_name: str, department: str,
                    materials: list[dict[str, str]], place: str, hours: str, phone: str,
                    guide_url: str, lang: str) -> Document:
    """A take-away checklist of an item's materials, with where and when, and the guide's QR."""
    return build("checklist", item_code, {
        "item_name": item_name, "department": department,
        "materials": [{"note": "", **m} for m in materials], "place": place, "hours": hours,
        "phone": phone, "guide_url": guide_url}, lang)


def mask_name(name: str) -> str:
    """A name as printed: the first character kept, the rest starred (张** / J*** for Latin)."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


# ---------------------------------------------------------------------------------------------
# Layout: wrap to the paper's columns.

@dataclass(frozen=True)
class Row:
    """One physical row (or block) on paper, after wrapping."""

    kind: str  # text | rule | qr | feed
    text: str = ""
    align: str = "left"
    bold: bool = False
    size: int = 1
    caption: str = ""


def char_columns(ch: str) -> int:
    """Cells a character takes on a Chinese thermal printer: ASCII one, anything else two."""
    return 1 if ord(ch) < 0x80 else 2


def text_columns(text: str) -> int:
    return sum(char_columns(c) for c in text)


def normalise_text(text: str) -> str:
    """Characters Chinese printers get wrong replaced by ones they print (¥ is not in GBK)."""
    return text.replace("¥", "￥").replace("\t", " ").replace("\r", "")


# Closing punctuation never starts a row (避头): the character or word before it moves down
# with it. (A printer wraps anything past the last column itself, so nothing may hang out.)
_NO_ROW_START = set("，。、；：？！）》」』】〕.,;:!?)")


def wrap(text: str, columns: int, indent: int = 0) -> list[str]:
    """Break ``text`` into rows of at most ``columns`` cells; Latin words are kept whole when
    they fit, continuation rows are indented by ``indent`` cells."""
    rows: list[str] = []
    for paragraph in normalise_text(text).split("\n"):
        row, width = "", 0
        i = 0
        while i < len(paragraph):
            ch = paragraph[i]
            # A Latin word moves to the next row whole if it would not fit (but fits a row).
            if ch.isascii() and ch.isalnum() and (i == 0 or not paragraph[i - 1].isalnum()):
                j = i
                while j < len(paragraph) and paragraph[j].isascii() and paragraph[j].isalnum():
                    j += 1
                word_w = j - i
                if width + word_w > columns and word_w <= columns - indent and row.strip():
                    rows.append(row.rstrip())
                    row, width = " " * indent, indent
            w = char_columns(ch)
            if width + w > columns:
                carry = ""
                if ch in _NO_ROW_START and len(row.strip()) > 1 and row[-1] != " ":
                    # Carry the last character down, or the whole Latin word/number it ends.
                    k = len(row) - 1
                    while k > 0 and row[k - 1].isascii() and row[k - 1].isalnum() and \
                            row[k].isascii() and row[k].isalnum():
                        k -= 1
                    if row[:k].strip():
                        carry, row = row[k:], row[:k]
                rows.append(row.rstrip())
                row, width = " " * indent + carry, indent + text_columns(carry)
                if ch == " ":
                    i += 1
                    continue
            row += ch
            width += w
            i += 1
        rows.append(row.rstrip())
    return rows


def layout(doc: Document, columns: int) -> list[Row]:
    """The document as rows for a printer with ``columns`` cells of font A per row."""
    lines = list(doc.lines)
    if doc.copy > 1:
        lines.insert(0, Line("text", tr("receipt.reprint", doc.lang, n=doc.copy),
                             align="center", bold=True))
    colon = "：" if doc.lang.startswith("zh") else ": "
    rows: list[Row] = []
    for ln in lines:
        size = max(1, min(4, ln.size))
        cols = max(1, columns // size)
        if ln.kind == "text":
            rows += [Row("text", t, ln.align, ln.bold, size) for t in wrap(ln.text, cols)]
        elif ln.kind == "pair":
            label = ln.text + colon
            indent = text_columns(label) if text_columns(label) <= cols // 2 else 2
            rows += [Row("text", t, "left", ln.bold, size)
                     for t in wrap(label + ln.value, cols, indent)]
        elif ln.kind == "check":
            body = "□ " + ln.text + (f"（{ln.value}）" if ln.value and doc.lang.startswith("zh")
                                     else f" ({ln.value})" if ln.value else "")
            rows += [Row("text", t, "left", ln.bold, size) for t in wrap(body, cols, 3)]
        elif ln.kind == "rule":
            rows.append(Row("rule"))
        elif ln.kind == "qr":
            rows.append(Row("qr", ln.text, "center"))
            if ln.value:
                rows += [Row("text", t, "center") for t in wrap(ln.value, cols)]
        elif ln.kind == "feed":
            rows.append(Row("feed", size=max(1, ln.size)))
        else:
            raise ReceiptError(f"unknown line kind {ln.kind!r} in receipt {doc.receipt_no}")
    return rows


# ---------------------------------------------------------------------------------------------
# Raster: the rows drawn with Pillow (printers without a Chinese font; previews; the simulator).

@cache
def font(px: int) -> ImageFont.FreeTypeFont:
    """The CJK font at ``px`` pixels (cached: loading a .ttc takes milliseconds)."""
    return ImageFont.truetype(FONT_PATH, px, index=FONT_INDEX)


@cache
def _is_full_width(ch: str, px: int) -> bool:
    return abs(font(px).getlength(ch) - px) < 0.5


def qr_module_dots(dots: int) -> int:
    """QR module size in dots: about a third of the paper width for a short code."""
    return 6 if dots >= 576 else 5


def qr_image(data: str, module: int) -> Image.Image:
    """A QR code (error correction M, quiet zone of 2 modules) as a 1-bit image, black = 0."""
    import qrcode

    # A fixed mask (every mask is valid) skips qrcode's mask scoring, 80% of its time.
    qr = qrcode.QRCode(border=2, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M,
                       mask_pattern=2)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if cell else 1 for row in matrix for cell in row])
    return img.resize((n * module, n * module), Image.Resampling.NEAREST)


def draw_text_row(draw: ImageDraw.ImageDraw, x0: int, baseline: int, text: str, size: int,
                  bold: bool) -> None:
    """Draw ``text`` on the printer's cell grid: ASCII in 12-dot cells, the rest in 24-dot
    cells, scaled by ``size`` (so the image breaks rows exactly as the printer's font would)."""
    cell = DOT_COLUMN * size
    cjk_px, latin_px = 24 * size, 20 * size  # a 20-px Latin glyph is 12 dots wide
    stroke = 1 if bold else 0
    x = x0
    run, run_x, run_ascii = "", x0, True

    def flush() -> None:
        if run:
            draw.text((run_x, baseline), run, font=font(latin_px if run_ascii else cjk_px),
                      fill=0, anchor="ls", stroke_width=stroke, stroke_fill=0)

    for ch in text:
        is_ascii = ord(ch) < 0x80
        if not is_ascii and not _is_full_width(ch, cjk_px):
            # Half-width glyph of a two-cell character (e.g. □ ·): centre it in its cells.
            flush()
            run = ""
            w = font(cjk_px).getlength(ch)
            draw.text((x + (2 * cell - w) / 2, baseline), ch, font=font(cjk_px), fill=0,
                      anchor="ls", stroke_width=stroke, stroke_fill=0)
            x += 2 * cell
            run_x = x
            continue
        if run and is_ascii != run_ascii:
            flush()
            run, run_x = "", x
        run_ascii = is_ascii
        run += ch
        x += cell * (1 if is_ascii else 2)
    flush()


def render_image(doc: Document, dots: int, columns: int) -> Image.Image:
    """The whole receipt as one 1-bit image ``dots`` wide (white = 1), ready for GS v 0."""
    return render_rows(layout(doc, columns), dots)


def render_rows(rows: list[Row], dots: int) -> Image.Image:
    """Laid-out rows drawn as a 1-bit image ``dots`` wide (white = 1)."""
    module = qr_module_dots(dots)
    heights: list[int] = []
    qr_images: dict[int, Image.Image] = {}
    for i, row in enumerate(rows):
        if row.kind == "text":
            heights.append(ROW_HEIGHT * row.size)
        elif row.kind == "rule":
            heights.append(ROW_HEIGHT // 2)
        elif row.kind == "qr":
            qr_images[i] = qr_image(row.text, module)
            heights.append(qr_images[i].height + 8)
        else:
            heights.append(ROW_HEIGHT * row.size)
    top = 6  # the first row's accents and the cutter's edge need a little air
    img = Image.new("1", (dots, top + sum(heights)), 1)
    draw = ImageDraw.Draw(img)
    y = top
    for i, row in enumerate(rows):
        h = heights[i]
        if row.kind == "text":
            width = text_columns(row.text) * DOT_COLUMN * row.size
            x = {"left": 0, "center": (dots - width) // 2, "right": dots - width}[row.align]
            # Baseline about 4/5 down the 24-dot glyph cell, as printer fonts sit.
            draw_text_row(draw, max(0, x), y + 21 * row.size, row.text, row.size, row.bold)
        elif row.kind == "rule":
            draw.line((0, y + h // 2, dots - 1, y + h // 2), fill=0, width=2)
        elif row.kind == "qr":
            q = qr_images[i]
            img.paste(q, ((dots - q.width) // 2, y + 4))
        y += h
    return img
