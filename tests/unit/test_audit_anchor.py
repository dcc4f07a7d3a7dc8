"""The platform's anchor of a terminal's audit chain (kiosk.platform.audit_anchor), in process.

The records are real ones, written by kiosk.audit into a kiosk store, sent as the outbox sends
them (as 'audit' events) to the real platform app through FastAPI's TestClient.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiosk import audit
from kiosk.platform.db import PlatformDB
from kiosk.platform.server import create_app
from kiosk.store import open_store

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ANCHOR = "/v1/terminals/H0001/K01/audit-anchor"


@pytest.fixture
def platform(tmp_path: Path):
    db = PlatformDB(tmp_path / "platform.db")
    client = TestClient(create_app(db, None))
    tokens = {"admin": db.issue_admin_token(), "k01": db.enroll_terminal("H0001", "K01"),
              "k02": db.enroll_terminal("H0001", "K02")}
    client.tokens = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    yield client
    client.close()
    db.close()


def _records(n: int) -> list[dict]:
    db = open_store(":memory:")
    try:
        return [audit.append(db, "S001", "test.action", f"s{i}", {"i": i},
                             now=T0 + timedelta(seconds=i)) for i in range(n)]
    finally:
        db.conn.close()


def _send(platform, *records: dict, who: str = "k01") -> list[dict]:
    events = [{"id": str(uuid.uuid4()), "type": "audit", "at": T0.isoformat(), "payload": r}
              for r in records]
    answer = platform.post("/v1/events", json={"events": events}, headers=platform.tokens[who])
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def _anchor(platform, who: str = "k01") -> dict:
    answer = platform.get(ANCHOR, headers=platform.tokens[who])
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_anchor_follows_the_chain_link_by_link(platform):
    chain = _records(5)
    assert (_anchor(platform)["seq"], _anchor(platform)["hash"]) == (0, None)
    _send(platform, chain[0], chain[2])  # 2 is missing: the anchor stops at 1
    held = _anchor(platform)
    assert (held["seq"], held["hash"], held["records"]) == (1, chain[0]["hash"], 2)
    _send(platform, chain[4], chain[1], chain[3])  # out of order across batches
    held = _anchor(platform)
    assert (held["seq"], held["hash"], held["records"]) == (5, chain[4]["hash"], 5)
    assert held["conflict_seq"] is None


def test_a_record_with_a_wrong_own_hash_anchors_nothing(platform):
    chain = _records(2)
    bad = {**chain[0], "actor": "S999"}  # hash no longer matches the fields
    _send(platform, bad, chain[1])
    assert _anchor(platform)["seq"] == 0


def test_a_rewritten_record_sent_again_is_a_conflict_and_never_taken(platform):
    chain = _records(3)
    _send(platform, *chain)
    forged = {**chain[1], "actor": "S999"}
    forged["hash"] = audit.record_hash(forged)
    _send(platform, forged)
    held = _anchor(platform)
    assert (held["seq"], held["hash"], held["conflict_seq"]) == (3, chain[2]["hash"], 2)


def test_only_that_terminal_or_an_admin_reads_its_anchor(platform):
    _send(platform, *_records(1))
    assert _anchor(platform, "admin")["seq"] == 1
    assert platform.get(ANCHOR, headers=platform.tokens["k02"]).status_code == 403
    assert platform.get(ANCHOR).status_code == 401
    # Records K02 sends never move K01's anchor.
    _send(platform, *_records(2), who="k02")
    assert _anchor(platform)["seq"] == 1
    own = platform.get("/v1/terminals/H0001/K02/audit-anchor", headers=platform.tokens["k02"])
    assert own.status_code == 200 and own.json()["seq"] == 2


def test_a_non_record_audit_payload_is_stored_but_anchors_nothing(platform):
    results = _send(platform, {"what": "printed receipt"})  # type: ignore[arg-type]
    assert results[0]["result"] == "accepted"
    assert _anchor(platform)["seq"] == 0


def test_any_audit_payload_is_answered_and_anchors_only_true_records(tmp_path):
    """Hypothesis: audit events with arbitrary payloads (wrong types, huge numbers, missing or
    forged fields) never make the server fail, and never move the anchor."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    db = PlatformDB(tmp_path / "fuzz.db")
    client = TestClient(create_app(db, None))
    auth = {"Authorization": f"Bearer {db.enroll_terminal('H0001', 'K01')}"}
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=70) | st.floats(
        allow_nan=False, allow_infinity=False)
    fields = st.sampled_from(["seq", "id", "at", "actor", "action", "subject", "details",
                              "prev_hash", "hash"])
    payloads = st.dictionaries(fields, scalars | st.dictionaries(st.text(max_size=5), scalars,
                                                                 max_size=3), max_size=9)

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(payload=payloads)
    def check(payload):
        event = {"id": str(uuid.uuid4()), "type": "audit", "at": T0.isoformat(),
                 "payload": payload}
        answer = client.post("/v1/events", json={"events": [event]}, headers=auth)
        assert answer.status_code in (200, 422), answer.text
        assert client.get(ANCHOR, headers=auth).json()["seq"] == 0

    try:
        check()
    finally:
        client.close()
        db.close()
