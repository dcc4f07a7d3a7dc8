"""Catalog bundles from outside: validation, and the signed-bundle path of the sync updater.

Properties: validation raises CatalogError and nothing else, and whatever it accepts can be
turned into rows; a garbled, unsigned, re-signed-but-invalid or older bundle from the platform
raises only kiosk.sync.errors and leaves the catalog that was serving serving, unchanged.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from fuzz_support import FUZZ, count, fuzz_client, json_bytes, json_values, mutated, statuses
from hypothesis import given
from hypothesis import strategies as st
from sync_support import tiny_bundle

from kiosk import catalog
from kiosk.store import open_store
from kiosk.sync import catalog_updater
from kiosk.sync.errors import SyncError
from kiosk.sync.signing import generate_keypair, load_private_key, load_public_key, sign_bundle

VALID = tiny_bundle(7)


@FUZZ
@given(bundle=mutated(VALID) | json_values)
def test_validate_bundle_raises_only_catalog_error(bundle):
    count("catalog bundle: validate (kiosk.catalog)")
    try:
        catalog.validate_bundle(bundle)
    except catalog.CatalogError as exc:
        assert str(exc)
        return
    catalog.prepare_bundle(bundle)  # accepted means usable


@FUZZ
@given(data=st.binary(max_size=300) | st.builds(json_bytes, mutated(VALID)))
def test_parse_bundle_bytes(data):
    count("catalog bundle: parse bytes (kiosk.catalog)")
    with contextlib.suppress(catalog.CatalogError):
        catalog.parse_bundle(data)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    private_path, public_path = generate_keypair(tmp_path_factory.mktemp("keys"))
    return load_private_key(private_path), load_public_key(public_path)


@pytest.fixture
def serving(tmp_path):
    db = open_store(tmp_path / "kiosk.db")
    catalog.apply_bundle(db, tiny_bundle(5), source="test")
    yield db
    db.conn.close()


def _snapshot(db) -> tuple:
    return (catalog.current_version(db),
            db.execute("SELECT code, data FROM items ORDER BY code").fetchall())


def _sign(bundle, private_key) -> str | None:
    try:
        return sign_bundle(bundle, private_key)
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8: nobody can sign that
        return None


@st.composite
def catalog_answers(draw, private_key, floor=0):
    """What GET /v1/catalog might bring: garbage, or a bundle (mutated or not, newer or not)
    signed correctly, signed by nobody, or with a broken signature."""
    kind = draw(st.sampled_from(["bytes", "json", "signed", "signed", "unsigned", "bad_sig"]))
    if kind == "bytes":
        return draw(statuses), draw(st.binary(max_size=200))
    if kind == "json":
        return draw(statuses), json_bytes(draw(json_values))
    bundle = draw(mutated(VALID) if draw(st.booleans()) else st.just(json.loads(json.dumps(VALID))))
    if isinstance(bundle, dict) and draw(st.booleans()):
        bundle["version"] = floor + draw(st.integers(-2, 3))
    answer = {"version": bundle.get("version") if isinstance(bundle, dict) else None,
              "bundle": bundle}
    if kind == "signed":
        answer["signature"] = _sign(bundle, private_key)
    elif kind == "bad_sig":
        answer["signature"] = draw(st.text(max_size=90))
    return 200, json_bytes(answer)


@FUZZ
@given(data=st.data())
def test_sync_updater_keeps_the_serving_catalog(serving, keys, data):
    private_key, public_key = keys
    catalog.apply_bundle(serving, tiny_bundle(5), source="test")  # each case starts alike
    status, body = data.draw(catalog_answers(private_key, 5))
    count("catalog bundle: sync updater (kiosk.sync.catalog_updater)")
    before = _snapshot(serving)
    client, _ = fuzz_client([(status, body)])
    try:
        update = catalog_updater.update_catalog(serving, client, public_key)
    except SyncError:
        assert _snapshot(serving) == before  # refused: the old catalog still serves, unchanged
        return
    if update.state == "updated":  # a signed, newer, valid bundle: served whole
        assert update.version > before[0] == catalog_updater.previous_version(serving)
        catalog.validate_bundle(json.loads(body)["bundle"])
    else:
        assert _snapshot(serving) == before
    assert catalog.get_item(serving, _snapshot(serving)[1][0][0]) is not None


@FUZZ
@given(data=st.data())
def test_downloaded_answer_bytes(serving, keys, data):
    """The app's path: raw bytes read_answer verifies before parsing, then apply_answer."""
    private_key, public_key = keys
    catalog.apply_bundle(serving, tiny_bundle(5), source="test")
    _, body = data.draw(catalog_answers(private_key, 5))
    if data.draw(st.booleans()):
        body = data.draw(st.binary(max_size=40)) + body[data.draw(st.integers(0, len(body))):]
    count("catalog bundle: downloaded bytes (kiosk.sync.catalog_updater)")
    before = _snapshot(serving)
    try:
        read = catalog_updater.read_answer(body, public_key)
        catalog_updater.apply_answer(serving, read.answer, public_key, "fuzz", signed=read.signed)
    except SyncError:
        assert _snapshot(serving) == before
