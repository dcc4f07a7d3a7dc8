"""What the counter's review panel shows and prints for an application: its scanned pages
and its A4 notice. No Qt here; the panel calls these on its worker thread.

Pages are read through kiosk.applications.read_blob (decrypted with the store's keys) and
scaled down here, so the screen never decodes a full-size scan. The notice that fits an
application follows its status: accepted → 受理通知书; returned → 一次性告知书 listing what the
clerk's return named.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk import atrest, catalog
from kiosk.applications import Application, read_blob, status_history
from kiosk.devices.a4_printer import A4PrintError, open_a4_printer
from kiosk.notice_pdf import NoticeError, notice_for

THUMB_PX = 240  # longest side of a thumbnail on the panel
VIEW_PX = 1600  # longest side of an enlarged page: sharp on a 1080p counter screen


@dataclass(frozen=True)
class ScanPage:
    """One stored page of a material; ``preview`` is JPEG bytes, None when it cannot be shown."""

    material: str
    page: int
    sha256: str
    preview: bytes | None
    names: dict[str, str] = field(default_factory=dict)  # the material's name by language

    def name(self, lang: str) -> str:
        """The material's name in ``lang``; the stored name when the guide has no other."""
        return self.names.get(lang) or self.material


def material_names(item: dict | None, stored: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each stored material name (the guide's zh-Hans name when filed) with its name in every
    language from the item's guide; a name the guide no longer has maps to itself only."""
    guide = {}
    for material in ((item or {}).get("guide") or {}).get("materials", []):
        names = material.get("name") or {}
        if isinstance(names, dict) and names.get("zh-Hans"):
            guide.setdefault(names["zh-Hans"], {k: str(v) for k, v in names.items() if v})
    return {name: guide.get(name, {"zh-Hans": name}) for name in stored}


def blobs_dir_of(db: sqlite_utils.Database) -> Path | None:
    """Where the store's material files are: ``blobs`` beside its database file."""
    data_dir = atrest.data_dir_of(db)
    return data_dir / "blobs" if data_dir is not None else None


def page_preview(db: sqlite_utils.Database, sha256: str, max_side: int) -> bytes:
    """A stored page scaled to fit ``max_side`` pixels, as JPEG bytes. Raises OSError when
    the file is missing or is no image, ValueError-type errors when it cannot be decrypted."""
    from PIL import Image, ImageOps

    blobs = blobs_dir_of(db)
    if blobs is None:
        raise OSError("an in-memory store keeps no material files")
    data = read_blob(blobs, sha256, atrest.keys_for(db))
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at a fraction of full size
        shown = ImageOps.exif_transpose(image).convert("RGB")
    shown.thumbnail((max_side, max_side))
    out = io.BytesIO()
    shown.save(out, "JPEG", quality=88)
    return out.getvalue()


def scan_pages(db: sqlite_utils.Database, application: Application,
               max_side: int = THUMB_PX) -> list[ScanPage]:
    """Every scanned page of the application in filing order, each with its thumbnail and
    its material's name in every language the item's guide has."""
    names = material_names(catalog.get_item(db, application.item_code),
                           [str(m.get("material", "")) for m in application.materials])
    pages = []
    for entry in application.materials:
        sha = entry.get("sha256")
        if not sha:
            continue
        try:
            preview: bytes | None = page_preview(db, sha, max_side)
        except Exception:  # noqa: BLE001 — missing, damaged or undecryptable: show it as such
            preview = None
        material = str(entry.get("material", ""))
        pages.append(ScanPage(material, int(entry.get("page") or 1), sha, preview,
                              names[material]))
    return pages


def notice_kind(db: sqlite_utils.Database, application: Application) -> tuple[str, list[str]]:
    """Which A4 notice the application's status calls for, and the lines it must list."""
    if application.status == "accepted":
        return "acceptance", []
    if application.status == "returned":
        returns = [h for h in status_history(db, application.id) if h["status"] == "returned"]
        detail = returns[-1]["detail"] if returns else {}
        lines = list(detail.get("missing") or [])
        if detail.get("reason"):
            lines.append(str(detail["reason"]))
        return "missing", lines
    raise NoticeError(f"application {application.number} is {application.status}: a notice is "
                      "printed once it is accepted or returned")


def print_notice(db: sqlite_utils.Database, application: Application, config: Any,
                 lang: str) -> str:
    """Make the application's A4 notice in ``lang`` and send it to the configured A4 printer;
    answers the printer's job reference. Raises NoticeError or A4PrintError."""
    data_dir = atrest.data_dir_of(db) or Path(".")
    printer = open_a4_printer(config.a4_printer, data_dir)
    if printer is None:
        raise A4PrintError("no A4 printer is configured ([a4_printer] kind = \"none\")")
    kind, lines = notice_kind(db, application)
    # A temporary file: the notice holds personal data and CUPS keeps its own spool copy.
    with tempfile.TemporaryDirectory(prefix="notice-") as tmp:
        pdf = notice_for(db, application, config, Path(tmp) / f"{application.number}.pdf",
                         kind=kind, lang=lang, missing=lines if kind == "missing" else None)
        return printer.print_pdf(pdf, f"{application.number} {kind} {lang}")
