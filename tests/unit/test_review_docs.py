"""What the counter shows and prints of an application (kiosk.review_docs): page previews read
through the encrypted blob store, and the A4 notice its status calls for."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from kiosk import review, review_docs
from kiosk.applications import file_application
from kiosk.config import A4PrinterConfig, Config
from kiosk.devices.a4_printer import A4PrintError
from kiosk.notice_pdf import NoticeError

CONFIG = Config(hall_id="H0001", terminal_id="K01",
                a4_printer=A4PrinterConfig(kind="simulated"))


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#0b4f9c").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def filed(catalog_db, tmp_path):
    db = catalog_db
    return db, file_application(
        db, CONFIG, "SCDJ-XK-001", {"name": "张三"}, {},
        [{"material": "公司章程", "data": jpeg(2480, 3508), "page": 1},
         {"material": "公司章程", "data": b"damaged", "page": 2},
         {"material": "住所使用证明", "original_brought": True}],
        review_docs.blobs_dir_of(db))


@pytest.fixture
def catalog_db(tmp_path, sample_bundle):
    from kiosk import catalog
    from kiosk.store import open_store

    db = open_store(tmp_path / "kiosk.db")
    catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
    yield db
    db.conn.close()


def test_each_scanned_page_gets_a_small_preview(filed):
    db, app = filed
    pages = review_docs.scan_pages(db, app)
    assert [(p.material, p.page) for p in pages] == [("公司章程", 1), ("公司章程", 2)]
    with Image.open(io.BytesIO(pages[0].preview)) as thumb:
        assert max(thumb.size) == review_docs.THUMB_PX and thumb.format == "JPEG"
    assert pages[1].preview is None  # damaged: shown as such, never an exception on screen


def test_pages_carry_their_materials_name_in_every_language(filed):
    db, app = filed
    page = review_docs.scan_pages(db, app)[0]
    assert (page.name("zh-Hans"), page.name("zh-Hant"), page.name("en")) == (
        "公司章程", "公司章程", "Articles of association")


def test_material_names_match_the_guide_by_the_stored_name(catalog_db):
    from kiosk import catalog

    item = catalog.get_item(catalog_db, "SCDJ-XK-001")
    names = review_docs.material_names(item, ["住所使用证明", "旧版材料"])
    assert names["住所使用证明"] == {"zh-Hans": "住所使用证明", "zh-Hant": "住所使用證明",
                                   "en": "Proof of the right to use the domicile"}
    assert names["旧版材料"] == {"zh-Hans": "旧版材料"}  # the guide no longer lists it
    assert review_docs.material_names(None, ["公司章程"]) == {"公司章程": {"zh-Hans": "公司章程"}}
    page = review_docs.ScanPage("旧版材料", 1, "0" * 64, None)
    assert page.name("en") == "旧版材料"  # falls back to the stored name


def test_a_page_enlarged_for_the_viewer(filed):
    db, app = filed
    data = review_docs.page_preview(db, app.materials[0]["sha256"], review_docs.VIEW_PX)
    with Image.open(io.BytesIO(data)) as page:
        assert max(page.size) == review_docs.VIEW_PX
    with pytest.raises(OSError):
        review_docs.page_preview(db, "0" * 64, 100)


def test_the_notice_follows_the_status(filed):
    db, app = filed
    with pytest.raises(NoticeError, match="accepted or returned"):
        review_docs.notice_kind(db, app)
    review.decide(db, app.id, "return", "王芳", ["公司章程"], "盖章不清")
    returned = review.find(db, app.number)
    assert review_docs.notice_kind(db, returned) == ("missing", ["公司章程", "盖章不清"])
    review.decide(db, app.id, "accept", "王芳")
    assert review_docs.notice_kind(db, review.find(db, app.number)) == ("acceptance", [])


def test_print_notice_sends_the_pdf_to_the_a4_printer(filed, tmp_path):
    db, app = filed
    review.decide(db, app.id, "accept", "王芳")
    accepted = review.find(db, app.number)
    job = review_docs.print_notice(db, accepted, CONFIG, "zh-Hant")
    assert job.endswith(".pdf") and (tmp_path / "printed-a4").is_dir()
    assert Path(job).read_bytes().startswith(b"%PDF-")
    none = Config(a4_printer=A4PrinterConfig(kind="none"))
    with pytest.raises(A4PrintError, match="no A4 printer"):
        review_docs.print_notice(db, accepted, none, "en")
