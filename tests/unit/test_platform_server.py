"""The reference platform server (kiosk.platform), in process through FastAPI's TestClient.

Every endpoint of docs/protocol.md (hall queue aside), the error format, auth, limits, signature
checks and idempotency. "Nothing changed" is checked by counting every table before and after.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import sqlite3
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiosk.platform import db as platform_db
from kiosk.platform import server as server_mod
from kiosk.platform.db import DatabaseURLError, PlatformDB, sqlite_path_from_url
from kiosk.platform.server import BLOB_LIMIT, JSON_LIMIT, blob_path, create_app
from kiosk.sync.signing import (
    KeyFileError,
    canonical_json,
    generate_keypair,
    load_private_key,
    load_public_key,
    sign_bundle,
    verify_bundle,
)

TABLES = ("tokens", "terminals", "catalogs", "blobs", "applications", "status_changes",
          "decisions", "events")


class Platform:
    """A server app on a temp database, with an admin and three terminal tokens."""

    def __init__(self, base: Path) -> None:
        self.priv_path, self.pub_path = generate_keypair(base / "keys")
        self.key = load_private_key(self.priv_path)
        self.db = PlatformDB(base / "platform.db")
        self.app = create_app(self.db, load_public_key(self.pub_path))
        self.client = TestClient(self.app)
        self.admin = self.auth(self.db.issue_admin_token())
        self.k01 = self.auth(self.db.enroll_terminal("H0001", "K01"))
        self.k02 = self.auth(self.db.enroll_terminal("H0001", "K02"))
        self.other_hall = self.auth(self.db.enroll_terminal("H0002", "K01"))

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}

    def put_blob(self, data: bytes, headers: dict | None = None):
        sha = hashlib.sha256(data).hexdigest()
        return sha, self.client.put(f"/v1/blobs/{sha}", content=data,
                                    headers={**(headers or self.k01),
                                             "Content-Type": "application/octet-stream"})

    def file(self, *apps: dict, headers: dict | None = None):
        return self.client.post("/v1/applications", json={"applications": list(apps)},
                                headers=headers or self.k01)

    def publish(self, bundle: dict, key=None, headers: dict | None = None):
        signature = sign_bundle(bundle, key or self.key)
        return self.client.post("/v1/catalog", json={"bundle": bundle, "signature": signature},
                                headers=headers or self.admin)


@pytest.fixture
def platform(tmp_path: Path):
    p = Platform(tmp_path)
    yield p
    p.client.close()
    p.db.close()


def application(**over) -> dict:
    app = {
        "id": str(uuid.uuid4()),
        "number": "H0001-K01-20261102-0001",
        "item_code": "SCDJ-DJ-001",
        "hall_id": "H0001",
        "terminal_id": "K01",
        "filed_at": "2026-11-02T09:30:00+08:00",
        "applicant": {"name": "张三", "id_number": "110101199003071234"},
        "form": {"company_name": "某某商贸有限公司"},
        "materials": [],
        "prereview": {"ok": True, "missing": []},
    }
    app.update(over)
    return app


def event(type_: str = "audit", **over) -> dict:
    ev = {"id": str(uuid.uuid4()), "type": type_, "at": "2026-11-02T09:31:00+08:00",
          "payload": {"what": "printed receipt"}}
    ev.update(over)
    return ev


def heartbeat(at: str, depth: int) -> dict:
    return event("heartbeat", at=at, payload={
        "version": "0.1.0", "catalog_version": 3, "outbox_depth": depth,
        "devices": [{"name": "printer", "kind": "simulated", "ok": True, "detail": ""}]})


def decision(kind: str = "accept", **over) -> dict:
    d = {"decision_id": str(uuid.uuid4()), "decision": kind, "missing": [], "reason": "",
         "clerk": "王五"}
    if kind == "return":
        d["missing"] = ["营业执照复印件"]
    if kind == "reject":
        d["reason"] = "不属于本窗口受理范围"
    d.update(over)
    return d


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code, body
    assert body["detail"]
    return body


# --- service endpoints, errors, auth --------------------------------------------------------

def test_health_and_openapi_are_public(platform):
    assert platform.client.get("/v1/health").json() == {"status": "ok"}
    spec = platform.client.get("/v1/openapi.json").json()
    assert spec["info"]["version"] == "1"
    paths = spec["paths"]
    for path, method in [("/v1/catalog", "get"), ("/v1/catalog", "post"),
                         ("/v1/blobs/{sha256}", "put"), ("/v1/applications", "post"),
                         ("/v1/applications/status", "get"),
                         ("/v1/applications/{application_id}/decision", "post"),
                         ("/v1/events", "post"), ("/v1/terminals", "get"),
                         ("/v1/terminals", "post")]:
        assert method in paths[path], (path, method)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert platform.client.get("/v1/docs").status_code == 200


CALLS = [
    ("GET", "/v1/catalog", None),
    ("POST", "/v1/catalog", {"bundle": {}, "signature": "x"}),
    ("PUT", "/v1/blobs/" + "a" * 64, None),
    ("POST", "/v1/applications", {"applications": []}),
    ("GET", "/v1/applications/status", None),
    ("POST", f"/v1/applications/{uuid.uuid4()}/decision", decision()),
    ("POST", "/v1/events", {"events": []}),
    ("GET", "/v1/terminals", None),
    ("POST", "/v1/terminals", {"hall_id": "H9", "terminal_id": "K9"}),
]


@pytest.mark.parametrize("method,path,body", CALLS, ids=[f"{m} {p[:24]}" for m, p, _ in CALLS])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-real-token", "Basic dXNlcjpwdw==",
                                           "Bearer "])
def test_every_call_needs_a_valid_token(platform, method, path, body, authorization):
    before = platform.counts()
    headers = {"Authorization": authorization} if authorization is not None else {}
    r = platform.client.request(method, path, json=body, headers=headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert platform.counts() == before


def test_unauthenticated_garbage_gets_401_not_422(platform):
    """GIVEN malformed JSON and no token WHEN posted THEN the token is judged first."""
    r = platform.client.post("/v1/applications", content=b"{nope",
                             headers={"Content-Type": "application/json"})
    assert_error(r, 401, "unauthorized")


def test_admin_token_cannot_do_terminal_calls(platform):
    before = platform.counts()
    assert_error(platform.file(application(), headers=platform.admin), 403, "forbidden")
    assert_error(platform.client.post("/v1/events", json={"events": [event()]},
                                      headers=platform.admin), 403, "forbidden")
    assert_error(platform.client.get("/v1/applications/status", headers=platform.admin),
                 403, "forbidden")
    assert_error(platform.put_blob(b"scan", headers=platform.admin)[1], 403, "forbidden")
    assert platform.counts() == before


def test_terminal_token_cannot_do_admin_calls(platform, sample_bundle):
    before = platform.counts()
    assert_error(platform.client.get("/v1/terminals", headers=platform.k01), 403, "forbidden")
    r = platform.client.post("/v1/terminals", json={"hall_id": "H0001", "terminal_id": "K09"},
                             headers=platform.k01)
    assert_error(r, 403, "forbidden")
    assert_error(platform.publish(sample_bundle, headers=platform.k01), 403, "forbidden")
    assert platform.counts() == before


def test_unknown_path_and_method_are_json(platform):
    assert_error(platform.client.get("/v1/nothing-here", headers=platform.k01), 404, "not_found")
    assert_error(platform.client.get("/elsewhere"), 404, "not_found")
    r = platform.client.delete("/v1/applications", headers=platform.k01)
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["allow"]


def test_malformed_json_is_422_and_changes_nothing(platform):
    before = platform.counts()
    for body in (b"{nope", b'{"applications": [', b"\xff\xfe", b""):
        r = platform.client.post("/v1/applications", content=body,
                                 headers={**platform.k01, "Content-Type": "application/json"})
        assert_error(r, 422, "invalid")
    r = platform.client.post("/v1/events", content=b'["a list"]',
                             headers={**platform.k01, "Content-Type": "application/json"})
    assert_error(r, 422, "invalid")
    assert platform.counts() == before


@pytest.mark.parametrize("field,value", [
    ("number", 17),
    ("filed_at", "yesterday"),
    ("filed_at", 1730511000),
    ("id", "not-a-uuid"),
    ("hall_id", ["H0001"]),
    ("applicant", "张三"),
    ("materials", [{"material": "身份证", "sha256": "ABC"}]),
    ("materials", {"material": "身份证"}),
])
def test_wrong_types_refuse_the_whole_batch(platform, field, value):
    before = platform.counts()
    good = application()
    bad = application(**{field: value})
    r = platform.file(good, bad)
    body = assert_error(r, 422, "invalid")
    assert f"applications[1].{field}" in body["detail"]
    assert platform.counts() == before


def test_nan_is_refused_not_a_server_error(platform):
    before = platform.counts()
    body = json.dumps({"applications": [application()]}).replace('"form": {', '"form": {"x": NaN, ', 1)
    r = platform.client.post("/v1/applications", content=body,
                             headers={**platform.k01, "Content-Type": "application/json"})
    assert_error(r, 422, "invalid")
    body = json.dumps({"events": [event()]}).replace('"payload": {', '"payload": {"x": Infinity, ', 1)
    r = platform.client.post("/v1/events", content=body,
                             headers={**platform.k01, "Content-Type": "application/json"})
    assert_error(r, 422, "invalid")
    assert platform.counts() == before


def test_wrong_types_in_events_and_heartbeats(platform):
    before = platform.counts()
    cases = [event(type_="gossip"), event(at="noon"), event(payload=[1, 2]),
             event("heartbeat", payload={"version": "0.1", "catalog_version": 1,
                                         "outbox_depth": "3"}),
             event("heartbeat", payload={"version": "0.1", "catalog_version": 1,
                                         "outbox_depth": -1})]
    for ev in cases:
        r = platform.client.post("/v1/events", json={"events": [ev]}, headers=platform.k01)
        assert_error(r, 422, "invalid")
    assert platform.counts() == before


def test_huge_json_body_is_413_from_content_length(platform, caplog):
    """GIVEN a declared Content-Length over 8 MiB THEN 413 before a byte of the body is read."""
    before = platform.counts()
    filler = "x" * (JSON_LIMIT + 10)
    with caplog.at_level(logging.INFO, logger="kiosk.platform.access"):
        r = platform.client.post("/v1/events", content=json.dumps({"events": [], "pad": filler}),
                                 headers={**platform.k01, "Content-Type": "application/json"})
    assert_error(r, 413, "too_large")
    assert " 413 " in caplog.records[-1].getMessage()
    assert "in=0B" in caplog.records[-1].getMessage()
    assert platform.counts() == before


def test_huge_streamed_body_is_413_while_counting(platform):
    """GIVEN a chunked body with no Content-Length WHEN it grows past 8 MiB THEN 413."""
    def chunks():
        yield b'{"events": [], "pad": "'
        for _ in range(JSON_LIMIT // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    r = platform.client.post("/v1/events", content=chunks(),
                             headers={**platform.k01, "Content-Type": "application/json"})
    assert_error(r, 413, "too_large")


def test_only_admins_may_send_a_catalog_over_8_mib(platform):
    body = b'{"bundle": {}, "pad": "' + b"x" * (JSON_LIMIT + 1) + b'"}'
    headers = {"Content-Type": "application/json"}
    r = platform.client.post("/v1/catalog", content=body, headers={**platform.k01, **headers})
    assert_error(r, 413, "too_large")
    r = platform.client.post("/v1/catalog", content=body, headers={**platform.admin, **headers})
    assert_error(r, 422, "bad_signature")  # read whole and judged, not cut off at 8 MiB


def test_more_than_500_records_is_413(platform):
    before = platform.counts()
    r = platform.file(*[application() for _ in range(501)])
    assert_error(r, 413, "too_large")
    r = platform.client.post("/v1/events", json={"events": [event() for _ in range(501)]},
                             headers=platform.k01)
    assert_error(r, 413, "too_large")
    assert platform.counts() == before


def test_internal_error_is_json_500(platform, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server_mod.service, "list_terminals", boom)
    client = TestClient(platform.app, raise_server_exceptions=False)
    body = assert_error(client.get("/v1/terminals", headers=platform.admin), 500, "internal")
    assert "disk on fire" not in body["detail"]  # internals stay in the server log


def test_access_log_has_one_line_per_request_and_no_token(platform, caplog):
    token = platform.db.enroll_terminal("H0001", "K05")
    with caplog.at_level(logging.INFO, logger="kiosk.platform.access"):
        platform.client.get("/v1/applications/status", headers=platform.auth(token))
        platform.client.get("/v1/applications/status", headers=platform.auth("wrong-token"))
    lines = [r.getMessage() for r in caplog.records if r.name == "kiosk.platform.access"]
    assert len(lines) == 2
    assert "GET /v1/applications/status 200" in lines[0] and "terminal H0001/K05" in lines[0]
    assert " 401 " in lines[1]
    assert all(token not in line and "wrong-token" not in line for line in lines)


# --- tokens and terminals -------------------------------------------------------------------

def test_tokens_are_stored_only_as_hashes(platform, tmp_path):
    token = platform.db.enroll_terminal("H0001", "K07")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("platform.db*"))
    assert token.encode() not in raw
    assert hashlib.sha256(token.encode()).hexdigest().encode() in raw


def test_enroll_over_http_and_reenroll_revokes_the_old_token(platform):
    r = platform.client.post("/v1/terminals", json={"hall_id": "H0003", "terminal_id": "C01"},
                             headers=platform.admin)
    assert r.status_code == 201
    first = r.json()["token"]
    assert r.json()["hall_id"] == "H0003" and len(first) >= 43
    assert platform.client.get("/v1/applications/status",
                               headers=platform.auth(first)).status_code == 200
    second = platform.client.post("/v1/terminals", json={"hall_id": "H0003", "terminal_id": "C01"},
                                  headers=platform.admin).json()["token"]
    assert_error(platform.client.get("/v1/applications/status", headers=platform.auth(first)),
                 401, "unauthorized")
    assert platform.client.get("/v1/applications/status",
                               headers=platform.auth(second)).status_code == 200
    r = platform.client.post("/v1/terminals", json={"hall_id": "H 3", "terminal_id": "C01"},
                             headers=platform.admin)
    assert_error(r, 422, "invalid")


def test_heartbeats_update_the_terminal_list(platform):
    terminals = platform.client.get("/v1/terminals", headers=platform.admin).json()["terminals"]
    assert [(t["hall_id"], t["terminal_id"]) for t in terminals] == [
        ("H0001", "K01"), ("H0001", "K02"), ("H0002", "K01")]
    assert terminals[0]["last_seen"] is None and terminals[0]["heartbeat"] is None

    newer, older = heartbeat("2026-11-02T10:00:00+08:00", 5), heartbeat("2026-11-02T01:00:00Z", 9)
    for ev in (newer, older):  # the older one arrives last (replayed from an outbox)
        r = platform.client.post("/v1/events", json={"events": [ev]}, headers=platform.k01)
        assert r.json()["results"][0]["result"] == "accepted"
    k01 = platform.client.get("/v1/terminals", headers=platform.admin).json()["terminals"][0]
    assert k01["heartbeat"]["outbox_depth"] == 5
    assert k01["heartbeat_at"] == "2026-11-02T02:00:00.000+00:00"
    assert k01["heartbeat"]["devices"][0]["name"] == "printer"
    assert k01["last_seen"] is not None


# --- blobs ----------------------------------------------------------------------------------

def test_blob_put_stores_atomically_and_is_idempotent(platform):
    data = "身份证正面".encode() * 1000
    sha, r = platform.put_blob(data)
    assert r.status_code == 201 and r.json() == {"sha256": sha, "size": len(data)}
    path = blob_path(platform.db.blob_dir, sha)
    assert path.read_bytes() == data
    sha, r = platform.put_blob(data)
    assert r.status_code == 200
    assert platform.counts()["blobs"] == 1
    assert not list(platform.db.blob_dir.glob(".incoming-*"))


def test_blob_whose_file_was_lost_is_stored_again(platform):
    data = b"photo bytes"
    sha, r = platform.put_blob(data)
    blob_path(platform.db.blob_dir, sha).unlink()
    sha, r = platform.put_blob(data)
    assert r.status_code == 201
    assert blob_path(platform.db.blob_dir, sha).read_bytes() == data
    assert platform.counts()["blobs"] == 1


def test_blob_hash_mismatch_stores_nothing(platform):
    before = platform.counts()
    claimed = hashlib.sha256(b"the real scan").hexdigest()
    r = platform.client.put(f"/v1/blobs/{claimed}", content=b"something else",
                            headers=platform.k01)
    assert_error(r, 422, "hash_mismatch")
    assert not blob_path(platform.db.blob_dir, claimed).exists()
    assert not list(platform.db.blob_dir.glob(".incoming-*"))
    assert platform.counts() == before


def test_blob_bad_address_and_too_large(platform):
    before = platform.counts()
    assert_error(platform.client.put("/v1/blobs/XYZ", content=b"a", headers=platform.k01),
                 422, "invalid")
    assert_error(platform.client.put("/v1/blobs/" + "A" * 64, content=b"a", headers=platform.k01),
                 422, "invalid")
    big = b"\0" * (BLOB_LIMIT + 1)
    sha, r = platform.put_blob(big)
    assert_error(r, 413, "too_large")

    def chunks():
        for _ in range(BLOB_LIMIT // (1 << 20) + 1):
            yield b"\1" * (1 << 20)

    r = platform.client.put(f"/v1/blobs/{'b' * 64}", content=chunks(), headers=platform.k01)
    assert_error(r, 413, "too_large")
    assert not list(platform.db.blob_dir.glob(".incoming-*"))
    assert platform.counts() == before


# --- applications ---------------------------------------------------------------------------

def test_applications_accepted_then_duplicate_nothing_doubled(platform):
    batch = [application(number=f"H0001-K01-20261102-{n:04d}") for n in range(1, 51)]
    r = platform.file(*batch)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["id"] for x in results] == [a["id"] for a in batch]
    assert {x["result"] for x in results} == {"accepted"}
    assert all(x["reason"] is None for x in results)
    after_first = platform.counts()

    again = platform.file(*batch).json()["results"]  # the answer was lost; the terminal retries
    assert [x["result"] for x in again] == ["duplicate"] * 50
    assert platform.counts() == after_first
    assert after_first["applications"] == 50 and after_first["status_changes"] == 50


def test_application_content_is_stored_as_sent(platform):
    app = application(extra_field={"kept": True})
    platform.file(app)
    with platform.db.read() as conn:
        stored = json.loads(conn.execute("SELECT data FROM applications WHERE id = ?",
                                         (app["id"],)).fetchone()[0])
    assert stored == app


def test_application_results_per_item(platform):
    scan = b"scan of a business licence"
    sha, _ = platform.put_blob(scan)
    missing_sha = hashlib.sha256(b"never uploaded").hexdigest()
    known = application()
    platform.file(known)
    before = platform.counts()
    batch = [
        application(materials=[{"material": "营业执照", "sha256": sha, "copies": 1}]),
        application(materials=[{"material": "身份证", "sha256": missing_sha}]),
        {**known, "form": {"company_name": "changed"}},
        application(hall_id="H0002"),
        application(terminal_id="K02"),
        known,
        application(materials=[{"material": "照片", "sha256": None}]),
    ]
    results = platform.file(*batch).json()["results"]
    assert [(x["result"], x["reason"]) for x in results] == [
        ("accepted", None),
        ("rejected", f"missing_blob:{missing_sha}"),
        ("rejected", "conflict"),
        ("rejected", "wrong_hall"),
        ("rejected", "wrong_terminal"),
        ("duplicate", None),
        ("accepted", None),
    ]
    assert platform.counts()["applications"] == before["applications"] + 2


def test_another_halls_token_cannot_file_for_this_hall(platform):
    before = platform.counts()
    results = platform.file(application(), headers=platform.other_hall).json()["results"]
    assert results[0]["result"] == "rejected" and results[0]["reason"] == "wrong_hall"
    assert platform.counts() == before


# --- status and decisions -------------------------------------------------------------------

def _status(platform, since=None, headers=None, **params):
    if since is not None:
        params["since"] = since
    r = platform.client.get("/v1/applications/status", params=params,
                            headers=headers or platform.k01)
    assert r.status_code == 200, r.text
    return r.json()


def test_status_cursor_received_then_decisions(platform):
    a, b = application(number="N-1"), application(number="N-2")
    platform.file(a, b)
    page = _status(platform)
    assert [(c["number"], c["status"]) for c in page["changes"]] == [("N-1", "received"),
                                                                      ("N-2", "received")]
    assert page["changes"][0]["detail"] == {"filed_at": a["filed_at"]}
    assert page["more"] is False
    cursor = page["cursor"]
    assert _status(platform, cursor) == {"changes": [], "cursor": cursor, "more": False}

    d = decision("return")
    r = platform.client.post(f"/v1/applications/{a['id']}/decision", json=d, headers=platform.k02)
    assert r.status_code == 200 and r.json() == {"status": "returned"}
    page = _status(platform, cursor)
    assert [(c["id"], c["status"]) for c in page["changes"]] == [(a["id"], "returned")]
    assert page["changes"][0]["detail"]["missing"] == ["营业执照复印件"]
    assert int(page["cursor"]) > int(cursor)
    # the other hall sees none of it
    assert _status(platform, headers=platform.other_hall)["changes"] == []


def test_status_pages_with_limit_and_more(platform):
    platform.file(*[application(number=f"N-{n}") for n in range(7)])
    seen, cursor, pages = [], None, 0
    while True:
        page = _status(platform, cursor, limit=3)
        seen += [c["number"] for c in page["changes"]]
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
    assert seen == [f"N-{n}" for n in range(7)] and pages == 3


def test_status_bad_cursor_is_invalid(platform):
    for since in ("abc", "-1", "1.5"):
        r = platform.client.get("/v1/applications/status", params={"since": since},
                                headers=platform.k01)
        assert_error(r, 422, "invalid")


def test_decision_is_idempotent_by_decision_id(platform):
    app = application()
    platform.file(app)
    d = decision("accept")
    url = f"/v1/applications/{app['id']}/decision"
    assert platform.client.post(url, json=d, headers=platform.k02).json() == {"status": "accepted"}
    before = platform.counts()
    r = platform.client.post(url, json=d, headers=platform.k02)  # retry after a lost answer
    assert r.status_code == 200 and r.json() == {"status": "accepted"}
    assert platform.counts() == before
    assert_error(platform.client.post(url, json={**d, "clerk": "someone else"},
                                      headers=platform.k02), 409, "conflict")
    # accepted is final
    assert_error(platform.client.post(url, json=decision("reject"), headers=platform.k02),
                 409, "conflict")
    assert platform.counts() == before


def test_decision_rules(platform):
    app = application()
    platform.file(app)
    url = f"/v1/applications/{app['id']}/decision"
    before = platform.counts()
    assert_error(platform.client.post(url, json=decision("return", missing=[]),
                                      headers=platform.k01), 422, "invalid")
    assert_error(platform.client.post(url, json=decision("reject", reason=" "),
                                      headers=platform.k01), 422, "invalid")
    assert_error(platform.client.post(url, json=decision("approve"), headers=platform.k01),
                 422, "invalid")
    assert_error(platform.client.post(f"/v1/applications/{uuid.uuid4()}/decision",
                                      json=decision(), headers=platform.k01), 404, "not_found")
    assert_error(platform.client.post(url, json=decision(), headers=platform.other_hall),
                 403, "forbidden")
    assert platform.counts() == before
    # returned, then the materials come and it is accepted
    assert platform.client.post(url, json=decision("return"),
                                headers=platform.k01).json()["status"] == "returned"
    assert platform.client.post(url, json=decision("accept"),
                                headers=platform.k01).json()["status"] == "accepted"
    with platform.db.read() as conn:
        assert conn.execute("SELECT status FROM applications WHERE id = ?",
                            (app["id"],)).fetchone()[0] == "accepted"


# --- events ---------------------------------------------------------------------------------

def test_events_idempotent_by_id(platform):
    batch = [event("ticket", payload={"number": f"A{n:03d}"}) for n in range(20)]
    r = platform.client.post("/v1/events", json={"events": batch}, headers=platform.k01)
    assert [x["result"] for x in r.json()["results"]] == ["accepted"] * 20
    before = platform.counts()
    r = platform.client.post("/v1/events", json={"events": batch}, headers=platform.k01)
    assert [x["result"] for x in r.json()["results"]] == ["duplicate"] * 20
    assert platform.counts() == before
    changed = {**batch[0], "payload": {"number": "B999"}}
    other_terminal = platform.client.post("/v1/events", json={"events": [batch[1]]},
                                          headers=platform.k02).json()["results"][0]
    r = platform.client.post("/v1/events", json={"events": [changed]}, headers=platform.k01)
    assert r.json()["results"][0] == {"id": changed["id"], "result": "rejected",
                                      "reason": "conflict"}
    assert other_terminal["result"] == "rejected"
    assert platform.counts() == before


# --- catalog --------------------------------------------------------------------------------

def test_catalog_publish_and_get(platform, sample_bundle):
    assert_error(platform.client.get("/v1/catalog", headers=platform.k01), 404, "not_found")
    bundle = copy.deepcopy(sample_bundle)
    r = platform.publish(bundle)
    assert r.status_code == 201 and r.json() == {"version": bundle["version"]}

    got = platform.client.get("/v1/catalog", headers=platform.k01)
    assert got.status_code == 200
    body = got.json()
    assert body["version"] == bundle["version"] and body["bundle"] == bundle
    assert verify_bundle(body["bundle"], body["signature"], load_public_key(platform.pub_path))
    assert canonical_json(bundle).decode() in got.text  # served exactly as signed

    v = bundle["version"]
    assert platform.client.get("/v1/catalog", params={"since": v},
                               headers=platform.k01).status_code == 304
    assert platform.client.get("/v1/catalog", params={"since": v - 1},
                               headers=platform.k01).status_code == 200
    assert platform.client.get("/v1/catalog", headers=platform.admin).status_code == 200
    assert_error(platform.client.get("/v1/catalog", params={"since": "new"},
                                     headers=platform.k01), 422, "invalid")
    # the same publication again is fine and changes nothing
    before = platform.counts()
    r = platform.publish(bundle)
    assert r.status_code == 200 and r.json() == {"version": v}
    assert platform.counts() == before


def test_catalog_refuses_unsigned_tampered_and_foreign_key(platform, sample_bundle, tmp_path):
    bundle = copy.deepcopy(sample_bundle)
    before = platform.counts()
    for signature in (None, ""):
        r = platform.client.post("/v1/catalog", json={"bundle": bundle, "signature": signature},
                                 headers=platform.admin)
        assert_error(r, 422, "bad_signature")
    r = platform.client.post("/v1/catalog", json={"bundle": bundle}, headers=platform.admin)
    assert_error(r, 422, "bad_signature")

    signature = sign_bundle(bundle, platform.key)
    tampered = copy.deepcopy(bundle)
    tampered["items"][0]["guide"]["fees"]["charged"] = not tampered["items"][0]["guide"]["fees"]["charged"]
    r = platform.client.post("/v1/catalog", json={"bundle": tampered, "signature": signature},
                             headers=platform.admin)
    assert_error(r, 422, "bad_signature")
    r = platform.client.post("/v1/catalog", json={"bundle": bundle, "signature": "@@not base64"},
                             headers=platform.admin)
    assert_error(r, 422, "bad_signature")

    other_priv, _ = generate_keypair(tmp_path / "other-keys")
    assert_error(platform.publish(bundle, key=load_private_key(other_priv)), 422, "bad_signature")
    assert platform.counts() == before


def test_catalog_refuses_older_and_reused_versions(platform, sample_bundle):
    v5 = {**copy.deepcopy(sample_bundle), "version": 5}
    assert platform.publish(v5).status_code == 201
    before = platform.counts()
    body = assert_error(platform.publish({**v5, "version": 4}), 409, "stale_version")
    assert "5" in body["detail"]
    changed = copy.deepcopy(v5)
    changed["published"] = "2030-01-01"
    assert_error(platform.publish(changed), 409, "stale_version")
    assert platform.counts() == before
    assert platform.publish({**v5, "version": 6}).status_code == 201
    assert platform.client.get("/v1/catalog", headers=platform.k01).json()["version"] == 6


def test_catalog_refuses_a_signed_but_invalid_bundle(platform, sample_bundle):
    bad = copy.deepcopy(sample_bundle)
    code = bad["items"][0]["code"]
    del bad["items"][0]["name"]["en"]
    body = assert_error(platform.publish(bad), 422, "invalid")
    assert f"item {code}" in body["detail"] and "name" in body["detail"]
    assert platform.counts()["catalogs"] == 0


# --- storage --------------------------------------------------------------------------------

def test_data_survives_reopening_and_migrations_run_once(tmp_path):
    db = PlatformDB(tmp_path / "p.db")
    token = db.enroll_terminal("H0001", "K01")
    every = [name for name, _ in platform_db.MIGRATIONS]
    assert db.applied_migrations() == every
    db.close()
    db = PlatformDB(tmp_path / "p.db")
    assert db.principal_for(token).terminal_id == "K01"
    assert db.applied_migrations() == every
    mode = db.conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()


def test_database_urls(tmp_path):
    assert sqlite_path_from_url("sqlite:///rel/p.db") == Path("rel/p.db")
    assert sqlite_path_from_url(f"sqlite:///{tmp_path}/p.db") == tmp_path / "p.db"
    assert sqlite_path_from_url("plain/path.db") == Path("plain/path.db")
    with pytest.raises(DatabaseURLError, match="PostgreSQL backend is not built"):
        PlatformDB.from_url("postgresql://kiosk@db.example/platform")
    for url in ("mysql://x/y", "sqlite://host/p.db", "sqlite:///:memory:", ""):
        with pytest.raises(DatabaseURLError):
            sqlite_path_from_url(url)


# --- signing helpers and CLI (no server needed) ---------------------------------------------

def test_signing_helpers(tmp_path):
    priv_path, pub_path = generate_keypair(tmp_path)
    assert priv_path.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in priv_path.read_bytes() and b"PUBLIC KEY" in pub_path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate_keypair(tmp_path)
    with pytest.raises(KeyFileError):
        load_private_key(pub_path)
    with pytest.raises(KeyFileError):
        load_public_key(tmp_path / "missing.pem")
    key, pub = load_private_key(priv_path), load_public_key(pub_path)
    bundle = {"b": 1, "a": "办事指南", "n": [1, 2.5]}
    assert canonical_json(bundle) == '{"a":"办事指南","b":1,"n":[1,2.5]}'.encode()
    sig = sign_bundle(bundle, key)
    assert verify_bundle({"n": [1, 2.5], "a": "办事指南", "b": 1}, sig, pub)  # key order irrelevant
    assert not verify_bundle({**bundle, "b": 2}, sig, pub)
    assert not verify_bundle(bundle, None, pub)
    assert not verify_bundle(bundle, "!!!", pub)
    assert not verify_bundle(bundle, sig[:-4], pub)


def test_cli_keygen_admin_token_and_publish_refusal(tmp_path, capsys):
    from kiosk.__main__ import main

    assert main(["--data-dir", str(tmp_path), "admin", "keygen", "--out",
                 str(tmp_path / "keys")]) == 0
    priv = tmp_path / "keys" / "catalog_signing_key.pem"
    assert priv.stat().st_mode & 0o777 == 0o600
    capsys.readouterr()

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["--data-dir", str(tmp_path), "platform", "admin-token", "--db", url]) == 0
    token = capsys.readouterr().out.strip()
    assert PlatformDB(tmp_path / "p.db").principal_for(token).role == "admin"

    assert main(["--data-dir", str(tmp_path), "platform", "serve", "--db",
                 "postgresql://h/db"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path), "platform", "serve", "--db", url]) == 2
    assert "--catalog-key" in capsys.readouterr().err

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1, "version": 1}), encoding="utf-8")
    rc = main(["--data-dir", str(tmp_path), "admin", "publish", str(bad), "--key", str(priv),
               "--server", "http://127.0.0.1:9", "--admin-token", "x"])
    assert rc == 1
    assert "catalog refused" in capsys.readouterr().err


def test_storage_is_plain_sqlite_readable_by_others(platform):
    """The schema is reachable with nothing but sqlite3 (for backups and reports)."""
    platform.file(application())
    conn = sqlite3.connect(platform.db.path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM applications").fetchone()[0] == 1
    finally:
        conn.close()
