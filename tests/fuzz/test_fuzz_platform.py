"""The platform server's request parsing: random and mutated JSON bodies, bytes, paths, query
strings and tokens against every endpoint that takes input.

Properties: never a 5xx; every 4xx answer is a JSON error ({"error", "detail"}); a refused
request stores nothing (row counts of every table and the blob files are unchanged).
"""

from __future__ import annotations

import json
import uuid

import pytest
from fuzz_support import FUZZ, count, json_bytes, json_values, mutated
from hypothesis import given
from hypothesis import strategies as st
from sync_support import InProcessPlatform, tiny_bundle

from kiosk.sync.signing import load_private_key, sign_bundle


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    server = InProcessPlatform(tmp_path_factory.mktemp("platform"))
    server.terminal_token = server.enroll("H0001", "K01")
    yield server
    server.close()


APPLICATION = {"id": str(uuid.UUID(int=1)), "number": "H0001-K01-20261207-0001",
               "item_code": "SCJG-XK-001", "hall_id": "H0001", "terminal_id": "K01",
               "filed_at": "2026-12-07T01:00:00.000+00:00",
               "applicant": {"name": "张三", "id_number": "11010519491231002X"},
               "form": {"phone": "13800138000"}, "materials": [], "prereview": {"ok": True}}
EVENT = {"id": str(uuid.UUID(int=2)), "type": "evaluation", "at": "2026-12-07T01:00:00Z",
         "payload": {"stars": 5}}
DECISION = {"decision_id": str(uuid.UUID(int=3)), "decision": "return", "missing": ["身份证"],
            "reason": "", "clerk": "S001"}
ENROLL = {"hall_id": "H0001", "terminal_id": "K02"}

# (method, path, template body, token kind)
ENDPOINTS = [
    ("POST", "/v1/applications", {"applications": [APPLICATION]}, "terminal"),
    ("POST", "/v1/events", {"events": [EVENT]}, "terminal"),
    ("POST", f"/v1/applications/{APPLICATION['id']}/decision", DECISION, "terminal"),
    ("PUT", "/v1/blobs/" + "ab" * 32, None, "terminal"),
    ("POST", "/v1/terminals", ENROLL, "admin"),
    ("POST", "/v1/catalog", {"bundle": tiny_bundle(90), "signature": ""}, "admin"),
    ("GET", "/v1/applications/status", None, "terminal"),
    ("GET", "/v1/catalog", None, "terminal"),
    ("GET", "/v1/applications/by-number/H0001-K01-20261207-0001", None, "terminal"),
    ("GET", "/v1/terminals/H0001/K01/audit-anchor", None, "admin"),
]


def _state(platform) -> tuple:
    with platform.db.read() as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        counts = tuple((t, conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0])
                       for t in sorted(tables))
    files = sorted(p.name for p in platform.db.blob_dir.rglob("*") if p.is_file())
    return counts, files


@st.composite
def requests_(draw):
    method, path, template, auth = draw(st.sampled_from(ENDPOINTS))
    if draw(st.integers(0, 4)) == 0:  # a garbled path segment or query string
        path = path.rsplit("/", 1)[0] + "/" + draw(st.text(
            alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="/?#%"),
            max_size=70))
    query = draw(st.none() | st.dictionaries(st.sampled_from(["since", "limit", "x"]),
                                             st.text(max_size=20), max_size=2))
    kind = draw(st.sampled_from(["mutated", "mutated", "json", "bytes"]))
    if kind == "bytes" or template is None:
        body = draw(st.binary(max_size=200))
    elif kind == "json":
        body = json_bytes(draw(json_values))
    else:
        body = json_bytes(draw(mutated(template)))
    token = draw(st.sampled_from([auth, auth, auth, "none", "garbage"]))
    return method, path, query, body, token


@FUZZ
@given(request=requests_())
def test_platform_refuses_bad_requests_cleanly(platform, request):
    method, path, query, body, token = request
    count("platform server: request parsing (kiosk.platform.server)")
    tokens = {"terminal": platform.terminal_token, "admin": platform.admin_token,
              "garbage": "x" * 20}
    headers = {"Content-Type": "application/json"}
    if token in tokens:
        headers["Authorization"] = f"Bearer {tokens[token]}"
    before = _state(platform)
    answer = platform.test_client.request(method, path, params=query, content=body,
                                          headers=headers)
    assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:300])
    count(f"platform server: request parsing: answered {answer.status_code // 100}xx")
    if answer.status_code >= 400:
        error = answer.json()
        assert isinstance(error, dict) and error.get("error"), answer.text[:200]
        assert _state(platform) == before, (method, path, answer.status_code)


def test_a_valid_signed_catalog_still_publishes(platform):
    """(The fuzzing above must not have hidden a broken happy path.)"""
    bundle = tiny_bundle(91)
    signature = sign_bundle(bundle, load_private_key(platform.private_key_path))
    answer = platform.test_client.post("/v1/catalog", content=json.dumps(
        {"bundle": bundle, "signature": signature}), headers={
        "Authorization": f"Bearer {platform.admin_token}", "Content-Type": "application/json"})
    assert answer.status_code in (200, 201), answer.text
