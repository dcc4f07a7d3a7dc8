"""Pre-review: one list of everything missing or wrong, before filing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kiosk.forms import form_for_item
from kiosk.prereview import MaterialState, prereview

TODAY = date(2026, 12, 7)


@dataclass
class Card:
    valid_from: date
    valid_until: date | None


def _item(sample_bundle, code="SCDJ-XK-004"):
    return next(i for i in sample_bundle["items"] if i["code"] == code)


GOOD = {"applicant_type": "person", "name": "张三", "id_number": "11010519491231002X",
        "phone": "13800138000"}


def _all_materials(item):
    return [MaterialState(n, pages=("a" * 64,)) for n, _ in enumerate(item["guide"]["materials"])]


def test_complete_application_passes(sample_bundle):
    item = _item(sample_bundle)
    review = prereview(item, form_for_item(item), GOOD, _all_materials(item),
                       card=Card(date(2020, 1, 1), None), today=TODAY)
    assert review.ok and review.wire() == {"ok": True, "problems": []}
    assert review.values["id_number"] == "11010519491231002X"


def test_everything_wrong_is_listed_at_once(sample_bundle):
    """GIVEN a bad phone, no name, one required material missing, an expired card
    WHEN pre-reviewed THEN all four appear in one list, in every language."""
    item = _item(sample_bundle)
    required = [n for n, m in enumerate(item["guide"]["materials"]) if m["required"]]
    materials = [MaterialState(n, pages=("p",)) for n in required[1:]]
    # The original brought to the counter counts as provided too.
    materials[0] = MaterialState(materials[0].index, original_brought=True)
    answers = dict(GOOD, name="", phone="123")
    review = prereview(item, form_for_item(item), answers, materials,
                       card=Card(date(2006, 1, 1), date(2026, 1, 1)), today=TODAY)
    kinds = [(p.kind, p.ref) for p in review.problems]
    assert kinds == [("field", "name"), ("field", "phone"), ("material", str(required[0])),
                     ("id_card", "valid_until")]
    zh = review.lines("zh-Hans")
    assert zh[0].startswith("「申请人姓名」") and "2026-01-01" in zh[3]
    assert "缺少材料" in zh[2] and item["guide"]["materials"][required[0]]["name"]["zh-Hans"] in zh[2]
    en = review.lines("en")
    assert en[1].startswith("Phone number:")
    assert review.wire()["problems"][2]["kind"] == "material"


def test_card_not_yet_valid(sample_bundle):
    item = _item(sample_bundle)
    review = prereview(item, form_for_item(item), GOOD, _all_materials(item),
                       card=Card(date(2027, 1, 1), date(2047, 1, 1)), today=TODAY)
    assert [p.key for p in review.problems] == ["prereview.id_not_yet_valid"]


def test_licence_applicant_must_be_adult(sample_bundle):
    item = _item(sample_bundle)
    child = dict(GOOD, id_number="110101201001010015")  # born 2010-01-01
    review = prereview(item, form_for_item(item), child, _all_materials(item), today=TODAY)
    assert [p.key for p in review.problems] == ["prereview.min_age"]
    assert "18" in review.lines("en")[0]
    # A company applying is not a person of some age.
    company = dict(child, applicant_type="company", company_name="某某有限公司",
                   credit_code="91350100M000100Y43")
    assert prereview(item, form_for_item(item), company, _all_materials(item), today=TODAY).ok


def test_optional_materials_are_not_demanded(sample_bundle):
    item = next(i for i in sample_bundle["items"]
                if any(not m["required"] for m in i["guide"]["materials"]))
    required_only = [MaterialState(n, pages=("p",)) for n, m in enumerate(item["guide"]["materials"])
                     if m["required"]]
    answers = dict(GOOD, details="x", incident_date="2026-01-01")
    review = prereview(item, form_for_item(item), answers, required_only, today=TODAY)
    assert not [p for p in review.problems if p.kind == "material"]


def test_file_reviewed_refuses_until_complete_then_stores_pages(catalog_db, sample_bundle, tmp_path):
    """GIVEN a required material missing WHEN filed THEN NotReady and nothing stored;
    GIVEN it added THEN one application whose scans are stored by SHA-256."""
    import hashlib

    import pytest

    from kiosk.applications import get_application, read_blob
    from kiosk.atrest import keys_for
    from kiosk.config import Config
    from kiosk.prereview import NotReady, file_reviewed

    item = _item(sample_bundle)
    pages = []
    for n in range(2):
        path = tmp_path / f"p{n}.jpg"
        path.write_bytes(bytes([n]) * 1000)
        pages.append(str(path))
    states = [MaterialState(0, pages=(pages[0],)), MaterialState(1, pages=(pages[1],))]
    with pytest.raises(NotReady) as info:
        file_reviewed(catalog_db, Config(), item, GOOD, states, tmp_path / "blobs", today=TODAY)
    assert [p.kind for p in info.value.review.problems] == ["material"]
    assert catalog_db.execute("SELECT COUNT(*) FROM applications").fetchone()[0] == 0

    states.append(MaterialState(2, original_brought=True))
    app = file_reviewed(catalog_db, Config(), item, dict(GOOD, phone="138 0013 8000"), states,
                        tmp_path / "blobs", card=Card(date(2020, 1, 1), None), today=TODAY)
    stored = get_application(catalog_db, app.number)
    assert stored.form["phone"] == "13800138000"  # the cleaned answers are what is kept
    assert stored.applicant == {"applicant_type": "person", "name": "张三",
                                "id_number": "11010519491231002X", "phone": "13800138000",
                                "from_card": True}
    assert stored.prereview == {"ok": True, "problems": []}
    scans = [m for m in stored.materials if m.get("sha256")]
    assert [(m["index"], m["page"]) for m in scans] == [(0, 1), (1, 1)]
    for m, page in zip(scans, pages, strict=True):
        data = read_blob(tmp_path / "blobs", m["sha256"], keys_for(catalog_db))
        assert data == Path(page).read_bytes() and hashlib.sha256(data).hexdigest() == m["sha256"]
    assert [m for m in stored.materials if m.get("original_brought")] == [
        {"material": item["guide"]["materials"][2]["name"]["zh-Hans"], "index": 2,
         "original_brought": True, "sha256": None}]
