"""Catalog updates: only signed, newer, valid bundles are applied; rollback restores the last."""

from __future__ import annotations

import copy
import logging

import pytest
import requests
from sync_support import on, rewrite_json, tiny_bundle

from kiosk import catalog, search
from kiosk.sync import catalog_updater
from kiosk.sync.catalog_updater import (
    check_answer,
    rollback,
    update_catalog,
    update_catalog_isolated,
)
from kiosk.sync.errors import CatalogRefused, NothingToRollBack
from kiosk.sync.signing import canonical_json, generate_keypair, load_private_key, sign_bundle


@pytest.fixture
def started(monkeypatch) -> list:
    """Every catalog helper process started, in order."""
    import subprocess

    processes: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        processes.append(real_popen(*args, **kwargs))
        return processes[-1]

    monkeypatch.setattr(catalog_updater.subprocess, "Popen", recording_popen)
    return processes


def names(db) -> set[str]:
    return {row[0] for row in db.execute("SELECT name_zh_hans FROM items").fetchall()}


def test_new_version_is_applied_with_its_search_index(db, platform, client):
    assert update_catalog(db, client, platform.public_key).state == "none"
    platform.publish(tiny_bundle(1))
    update = update_catalog(db, client, platform.public_key)
    assert (update.state, update.version, update.items) == ("updated", 1, 2)
    platform.publish(tiny_bundle(2, extra_item="电梯使用登记"))
    assert update_catalog(db, client, platform.public_key).version == 2
    assert "电梯使用登记" in names(db)
    assert [r.code for r in search.search(db, "电梯", "zh-Hans")] == ["SCJG-QT-099"]
    assert update_catalog(db, client, platform.public_key).state == "current"  # 304
    assert platform.plan.seen.count("GET /v1/catalog") == 4


@pytest.mark.parametrize("attack, words", [
    (lambda a: a.pop("signature"), "unsigned"),
    (lambda a: a["bundle"]["items"][0]["name"].update({"zh-Hans": "伪造事项"}), "signature"),
    (lambda a: a.update(signature=a["signature"][:-4] + "AAA="), "signature"),
])
def test_tampered_or_unsigned_bundle_is_refused_and_old_catalog_serves(
        db, platform, client, caplog, attack, words):
    platform.publish(tiny_bundle(1))
    update_catalog(db, client, platform.public_key)
    platform.publish(tiny_bundle(2, extra_item="电梯使用登记"))
    platform.plan.rules.append(on("GET", "/v1/catalog", rewrite_json(attack)))
    with caplog.at_level(logging.WARNING), pytest.raises(CatalogRefused, match=words):
        update_catalog(db, client, platform.public_key)
    assert catalog.current_version(db) == 1 and "电梯使用登记" not in names(db)
    assert "伪造事项" not in names(db)
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "version 2" in line and "still serving version 1" in line


def test_bundle_signed_with_another_key_is_refused(db, platform, client, tmp_path):
    other_private, _ = generate_keypair(tmp_path / "other")
    platform.publish(tiny_bundle(1))

    def resign(answer):
        answer["bundle"]["items"][0]["name"]["zh-Hans"] = "伪造事项"
        answer["signature"] = sign_bundle(answer["bundle"], load_private_key(other_private))

    platform.plan.rules.append(on("GET", "/v1/catalog", rewrite_json(resign)))
    with pytest.raises(CatalogRefused, match="another key"):
        update_catalog(db, client, platform.public_key)
    assert catalog.current_version(db) is None


def test_older_or_replayed_bundle_is_refused(db, platform, client):
    platform.publish(tiny_bundle(1))
    replay = {}

    def capture(answer):
        replay.update(copy.deepcopy(answer))

    platform.plan.rules.append(on("GET", "/v1/catalog", rewrite_json(capture), times=1))
    update_catalog(db, client, platform.public_key)
    platform.publish(tiny_bundle(2, extra_item="电梯使用登记"))
    update_catalog(db, client, platform.public_key)
    # a man in the middle answers with the genuine, correctly signed version 1 again
    platform.plan.rules.append(on("GET", "/v1/catalog",
                                  rewrite_json(lambda a: (a.clear(), a.update(replay)))))
    platform.publish(tiny_bundle(3))
    with pytest.raises(CatalogRefused, match="not newer than version 2"):
        update_catalog(db, client, platform.public_key)
    assert catalog.current_version(db) == 2


def test_signed_but_invalid_bundle_is_refused(platform):
    bad = tiny_bundle(5)
    bad["items"][0]["guide"]["time_limit"] = {"legal_days": 1, "committed_days": 9}
    signature = sign_bundle(bad, load_private_key(platform.private_key_path))
    with pytest.raises(CatalogRefused, match="SCJG-XK-001.*committed_days"):
        check_answer({"version": 5, "bundle": bad, "signature": signature}, platform.public_key, 1)
    with pytest.raises(CatalogRefused, match="no catalog bundle"):
        check_answer({"version": 5}, platform.public_key, 1)
    good = tiny_bundle(5)
    signature = sign_bundle(good, load_private_key(platform.private_key_path))
    with pytest.raises(CatalogRefused, match="says version 6"):
        check_answer({"version": 6, "bundle": good, "signature": signature}, platform.public_key, 1)
    assert check_answer({"version": 5, "bundle": good, "signature": signature},
                        platform.public_key, 4) == good


def test_rollback_restores_the_previous_version_and_sticks(db, platform, client):
    with pytest.raises(NothingToRollBack):
        rollback(db)
    platform.publish(tiny_bundle(1))
    update_catalog(db, client, platform.public_key)
    platform.publish(tiny_bundle(2, extra_item="电梯使用登记"))
    update_catalog(db, client, platform.public_key)
    assert rollback(db) == 1
    assert catalog.current_version(db) == 1 and "电梯使用登记" not in names(db)
    assert search.search(db, "电梯", "zh-Hans") == []
    # the bad version 2 is not pulled again; a fixed version 3 is
    assert update_catalog(db, client, platform.public_key).state == "current"
    assert catalog.current_version(db) == 1
    platform.publish(tiny_bundle(3))
    assert update_catalog(db, client, platform.public_key).version == 3
    assert catalog_updater.previous_version(db) == 1


def test_isolated_update_applies_in_a_helper_process(db, tmp_path, platform, client, caplog):
    """The app's path: the answer is streamed to a file, a child process checks and applies it
    to the same store; the parent sees the new version and the search index."""
    key_path = platform.public_key_path
    assert update_catalog_isolated(db, client, key_path, tmp_path / "work").state == "none"
    platform.publish(tiny_bundle(1))
    platform.publish(tiny_bundle(2, extra_item="电梯使用登记"))
    update = update_catalog_isolated(db, client, key_path, tmp_path / "work")
    assert (update.state, update.version, update.items) == ("updated", 2, 3)
    assert set(update.timings) == {"parse", "verify", "validate", "prepare", "write", "helper"}
    assert catalog.current_version(db) == 2
    assert [r.code for r in search.search(db, "电梯", "zh-Hans")] == ["SCJG-QT-099"]
    assert list((tmp_path / "work").iterdir()) == []  # the download is not left behind
    assert update_catalog_isolated(db, client, key_path, tmp_path / "work").state == "current"
    platform.publish(tiny_bundle(3, extra_item="伪造事项"))
    platform.plan.rules.append(on("GET", "/v1/catalog", rewrite_json(
        lambda a: a["bundle"]["items"][0]["name"].update({"zh-Hans": "被篡改"}))))
    with caplog.at_level(logging.WARNING), pytest.raises(CatalogRefused, match="signature"):
        update_catalog_isolated(db, client, key_path, tmp_path / "work")
    assert catalog.current_version(db) == 2
    assert any("still serving version 2" in r.getMessage() for r in caplog.records)


def reference_answer(bundle: dict, signature: str) -> bytes:
    """GET /v1/catalog laid out as kiosk.platform.server sends it: the signed bytes verbatim."""
    return (f'{{"version":{bundle["version"]},"bundle":'.encode() + canonical_json(bundle)
            + f',"signature":"{signature}"}}'.encode())


def test_read_answer_verifies_the_signed_bytes_as_they_came(platform):
    """GIVEN the reference server's layout THEN the signature is checked over the raw bytes
    (no re-serialising); a changed byte, or any other layout, goes the slow way and a
    tampered bundle is still refused."""
    import json

    from kiosk.sync.catalog_updater import read_answer

    good = tiny_bundle(4, extra_item="电梯使用登记")
    signature = sign_bundle(good, load_private_key(platform.private_key_path))
    raw = reference_answer(good, signature)
    read = read_answer(raw, platform.public_key)
    assert read.answer == {"version": 4, "bundle": good, "signature": signature}
    assert read.signed == canonical_json(good)
    assert check_answer(read.answer, platform.public_key, 3, signature_checked=True) == good

    tampered = raw.replace("电梯使用登记".encode(), "电梯使用注销".encode())
    read = read_answer(tampered, platform.public_key)
    assert read.signed is None
    with pytest.raises(CatalogRefused, match="signature does not match"):
        check_answer(read.answer, platform.public_key, 3)

    pretty = json.dumps({"signature": signature, "bundle": good, "version": 4}, indent=2).encode()
    read = read_answer(pretty, platform.public_key)
    assert read.signed is None and check_answer(read.answer, platform.public_key, 3) == good

    with pytest.raises(CatalogRefused, match="not readable JSON"):
        read_answer(raw[:-40], platform.public_key)


def test_signed_bytes_that_are_not_json_are_refused(platform):
    import base64

    from kiosk.sync.catalog_updater import read_answer

    junk = b'{"items": [1, 2'
    signature = base64.b64encode(load_private_key(platform.private_key_path).sign(junk)).decode()
    raw = b'{"version":7,"bundle":' + junk + f',"signature":"{signature}"}}'.encode()
    with pytest.raises(CatalogRefused, match="signed bundle is not JSON"):
        read_answer(raw, platform.public_key)


@pytest.mark.parametrize("fork", [True, False])
def test_validation_beside_the_index_build_applies_good_and_refuses_bad(db, platform, fork):
    """GIVEN signed bytes in the reference layout, applied as the helper process does (the
    validation in a forked child, started from the verified bytes, while this process parses
    and indexes) THEN a valid bundle is applied and kept for rollback from the signed bytes; a
    signed but invalid one is refused with the item and field named and the store is unchanged;
    an older one is refused and its forked validation stopped."""
    from kiosk.sync.catalog_updater import Validation, apply_answer, read_answer

    key = load_private_key(platform.private_key_path)

    def apply(bundle: dict, timings: dict | None = None):
        started: list[Validation] = []
        read = read_answer(reference_answer(bundle, sign_bundle(bundle, key)), platform.public_key,
                           on_verified=(lambda b: started.append(Validation.forked(b))) if fork
                           else None)
        try:
            return apply_answer(db, read.answer, platform.public_key, "test", timings,
                                signed=read.signed, validation=started[0] if fork else None)
        finally:
            assert all(v._outcome is not None for v in started)  # no child left behind

    good = tiny_bundle(2, extra_item="电梯使用登记")
    timings: dict[str, float] = {}
    update = apply(good, timings)
    assert (update.state, update.version) == ("updated", 2) and timings["validate"] > 0
    (kept,) = db.execute("SELECT bundle FROM catalog_versions WHERE state = 'current'").fetchone()
    assert catalog.kept_bundle(kept) == good
    assert [r.code for r in search.search(db, "电梯", "zh-Hans")] == ["SCJG-QT-099"]

    bad = tiny_bundle(3)
    bad["items"][0]["guide"]["time_limit"] = {"legal_days": 1, "committed_days": 9}
    with pytest.raises(CatalogRefused, match="version 3: .*SCJG-XK-001.*committed_days"):
        apply(bad)
    with pytest.raises(CatalogRefused, match="not newer"):
        apply(tiny_bundle(1))
    assert catalog.current_version(db) == 2 and "电梯使用登记" in names(db)


def test_download_broken_after_the_helper_started_applies_nothing(db, tmp_path, platform, client,
                                                                  started):
    """GIVEN a newer catalog whose download breaks half-way, after the helper process was
    started to warm up THEN the helper is stopped without applying anything, the download is
    removed and the error is the transport error."""
    from kiosk.sync.errors import PlatformUnreachable


    def broken_stream(response):
        def chunks(chunk_size=1, decode_unicode=False):
            yield response.content[: len(response.content) // 2]
            raise requests.ConnectionError("connection reset mid-body (simulated)")
        response.iter_content = chunks
        return response

    platform.publish(tiny_bundle(1))
    platform.plan.rules.append(on("GET", "/v1/catalog", broken_stream, times=1))
    with pytest.raises(PlatformUnreachable, match="download broken"):
        update_catalog_isolated(db, client, platform.public_key_path, tmp_path / "work")
    assert len(started) == 1 and started[0].poll() is not None
    assert catalog.current_version(db) is None
    assert list((tmp_path / "work").iterdir()) == []
    # the next round downloads it whole and applies it
    assert update_catalog_isolated(db, client, platform.public_key_path,
                                   tmp_path / "work").version == 1


def test_a_warm_helper_waits_between_rounds_and_applies_the_next_update(
        db, tmp_path, platform, client, started):
    """GIVEN a WarmHelper, as the app's sync agent keeps one THEN a round with nothing new
    leaves one helper started and waiting, the next update is applied by that same process,
    the round after starts a new one, and close() ends it."""

    warm = catalog_updater.WarmHelper()
    key_path, work = platform.public_key_path, tmp_path / "work"
    assert update_catalog_isolated(db, client, key_path, work, warm=warm).state == "none"
    assert len(started) == 1 and started[0].poll() is None  # waiting, warmed up
    platform.publish(tiny_bundle(1))
    assert update_catalog_isolated(db, client, key_path, work, warm=warm).version == 1
    assert started[0].returncode == 0 and len(started) == 1  # the waiting helper did the work
    assert update_catalog_isolated(db, client, key_path, work, warm=warm).state == "current"
    assert len(started) == 2 and started[1].poll() is None  # the next round starts a new one
    warm.close()
    assert started[1].returncode == catalog_updater.ABANDONED
