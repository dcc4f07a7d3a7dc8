import copy
import json

import pytest

from kiosk import catalog
from kiosk.catalog import CatalogError


def test_sample_catalog_is_real_sized(sample_bundle):
    items = sample_bundle["items"]
    assert len(items) >= 40
    assert len({i["department"] for i in items}) >= 5
    for item in items:
        g = item["guide"]
        assert g["materials"] and g["steps"] and g["conditions"] and g["faq"] and g["legal_basis"]
        assert all(item["name"][lang].strip() for lang in ("zh-Hans", "zh-Hant", "en"))


def test_sample_codes_are_stable_and_unique(sample_bundle):
    codes = [i["code"] for i in sample_bundle["items"]]
    assert len(codes) == len(set(codes))
    assert all(code.split("-")[0] == item["department"]
               for code, item in zip(codes, sample_bundle["items"], strict=True))


def _broken(bundle, change):
    bad = copy.deepcopy(bundle)
    change(bad)
    return bad


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda b: b["items"][2]["name"].pop("en"), ["item", "field name", "'en' is a required"]),
        (lambda b: b["items"][3]["guide"]["materials"][1].update(required="yes"),
         ["field guide.materials[1].required"]),
        (lambda b: b["items"][0].update(code="bad code"), ["field code"]),
        (lambda b: b["items"][5]["guide"].pop("phone"), ["field guide", "'phone' is a required"]),
        (lambda b: b["items"][1].update(queue_category="AB"), ["field queue_category"]),
        (lambda b: b["items"][4]["guide"]["time_limit"].update(legal_days=1, committed_days=5),
         ["field guide.time_limit.committed_days", "longer than the legal limit"]),
        (lambda b: b["items"][6].update(department="NOPE"), ["field department", "unknown department"]),
        (lambda b: b["items"].append(copy.deepcopy(b["items"][0])), ["field code: used twice"]),
        (lambda b: b.update(version=0), ["bundle, field version"]),
        (lambda b: b.update(published="2026-13-45"), ["bundle, field published"]),
        (lambda b: b["items"][7]["summary"].update({"zh-Hans": "   "}), ["field summary.zh-Hans"]),
    ],
)
def test_bad_catalog_is_refused_naming_item_and_field(sample_bundle, change, words):
    bad = _broken(sample_bundle, change)
    with pytest.raises(CatalogError) as err:
        catalog.validate_bundle(bad)
    message = str(err.value)
    for word in words:
        assert word in message


def test_error_names_the_item_code(sample_bundle):
    bad = _broken(sample_bundle, lambda b: b["items"][2]["name"].pop("en"))
    with pytest.raises(CatalogError, match=f"item {sample_bundle['items'][2]['code']}, field name"):
        catalog.validate_bundle(bad)


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"null", "\ufeff{}".encode(), b"\xff\xfe"])
def test_garbage_is_refused_cleanly(data):
    with pytest.raises(CatalogError):
        catalog.parse_bundle(data)


def test_apply_replaces_catalog_and_keeps_previous(db, sample_bundle):
    catalog.apply_bundle(db, sample_bundle, source="test")
    newer = copy.deepcopy(sample_bundle)
    newer["version"] += 1
    newer["items"] = newer["items"][:10]
    catalog.apply_bundle(db, newer, source="test")
    assert catalog.current_version(db) == newer["version"]
    assert db["items"].count == 10
    states = dict(db.execute("SELECT version, state FROM catalog_versions").fetchall())
    assert states == {sample_bundle["version"]: "previous", newer["version"]: "current"}


def test_refused_bundle_leaves_the_old_catalog_serving(db, sample_bundle):
    catalog.apply_bundle(db, sample_bundle, source="test")
    bad = _broken(sample_bundle, lambda b: b["items"][0]["guide"].pop("steps"))
    with pytest.raises(CatalogError):
        catalog.apply_bundle(db, bad, source="test")
    assert db["items"].count == len(sample_bundle["items"])


def test_apply_failing_midway_rolls_back(db, sample_bundle, monkeypatch):
    """GIVEN a catalog in the store WHEN indexing the new one fails THEN nothing changed."""
    catalog.apply_bundle(db, sample_bundle, source="test")
    newer = copy.deepcopy(sample_bundle)
    newer["version"] += 1
    newer["items"] = newer["items"][:3]

    def boom(db, index):
        raise OSError("disk full")

    monkeypatch.setattr(catalog.search, "write_index", boom)
    with pytest.raises(OSError):
        catalog.apply_bundle(db, newer, source="test")
    assert catalog.current_version(db) == sample_bundle["version"]
    assert db["items"].count == len(sample_bundle["items"])


def test_reading_functions(catalog_db, sample_bundle):
    depts = catalog.departments(catalog_db)
    assert [d.code for d in depts] == [d["code"] for d in sample_bundle["departments"]]
    assert sum(d.item_count for d in depts) == len(sample_bundle["items"])
    first = sample_bundle["items"][0]
    assert catalog.get_item(catalog_db, first["code"]) == first
    assert catalog.get_item(catalog_db, "NOPE-XK-000") is None
    listed = catalog.items_in_department(catalog_db, first["department"])
    assert listed[0].code == first["code"]


def test_cli_validate(tmp_path, sample_bundle, capsys):
    from kiosk.__main__ import main

    good = tmp_path / "good.json"
    good.write_text(json.dumps(sample_bundle, ensure_ascii=False), encoding="utf-8")
    assert main(["--data-dir", str(tmp_path), "catalog", "validate", str(good)]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken(sample_bundle, lambda b: b["items"][0].pop("guide"))),
                   encoding="utf-8")
    assert main(["--data-dir", str(tmp_path), "catalog", "validate", str(bad)]) == 1
    assert "'guide' is a required property" in capsys.readouterr().err


def test_kept_bundle_is_the_bundle(db, sample_bundle):
    """The text kept for rollback is assembled from the item texts; it must read back exactly."""
    catalog.apply_bundle(db, sample_bundle, source="test")
    (kept,) = db.execute("SELECT bundle FROM catalog_versions WHERE state = 'current'").fetchone()
    assert catalog.kept_bundle(kept) == sample_bundle


def test_rollback_reads_a_bundle_kept_as_plain_text(db, sample_bundle):
    """GIVEN a store whose previous version was kept as plain JSON text (before compression)
    THEN kept_bundle still reads it back."""
    text = json.dumps(sample_bundle, ensure_ascii=False)
    assert catalog.kept_bundle(text) == sample_bundle


def test_items_are_stored_as_json_that_reads_back_exactly(db, sample_bundle):
    """GIVEN an item with an integer beyond 64 bits (valid JSON, allowed by the schema) and
    texts with quotes, control characters and right-to-left marks THEN every item reads back
    exactly (orjson writes the item texts; the standard library takes what it cannot)."""
    bundle = copy.deepcopy(sample_bundle)
    first = bundle["items"][0]
    first["guide"]["time_limit"] = {"legal_days": 10**30, "committed_days": 5}
    first["summary"]["en"] = 'He said "ok"\t\u202eevil\u202c \\ end'
    catalog.apply_bundle(db, bundle, source="test")
    for item in bundle["items"]:
        assert catalog.get_item(db, item["code"]) == item
