"""Server answers the sync client parses: per-item outbox answers, status pages, errors.

Properties: only kiosk.sync.errors escape; after garbled answers every outbox row is still
there, a row is marked sent only if the garbled server really answered "accepted"/"duplicate"
for it (or 200/201 for a file), and a later push to a well-behaved server sends exactly the rows
still unsent, so each record is sent exactly once; status pages never remove or alter a stored
status.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import pytest
import requests
from fuzz_support import (
    BASE_URL,
    FUZZ,
    AnswerAnything,
    count,
    fuzz_client,
    json_bytes,
    json_values,
    statuses,
)
from hypothesis import given
from hypothesis import strategies as st

from kiosk.applications import file_application, record_event
from kiosk.config import Config
from kiosk.store import get_setting, open_store
from kiosk.sync import outbox, status
from kiosk.sync.errors import SyncError
from kiosk.sync.http import PlatformClient, make_session

CONFIG = Config(hall_id="H0001", terminal_id="K01")


def _file_some(db, blobs) -> list[str]:
    apps = [file_application(db, CONFIG, "SCJG-XK-001", {"name": f"甲{i}"}, {"n": i},
                             [{"material": "身份证", "data": f"scan {i}".encode()}], blobs)
            for i in range(2)]
    events = [record_event(db, "evaluation", {"stars": i}) for i in range(2)]
    return [a.id for a in apps] + events


@st.composite
def batch_answer(draw, refs):
    """A POST answer: mostly {"results": [...]} about our records, sometimes anything."""
    if draw(st.integers(0, 4)) == 0:
        return draw(statuses), draw(st.binary(max_size=60) | st.builds(json_bytes, json_values))
    items = draw(st.lists(st.fixed_dictionaries(
        {"id": st.sampled_from(refs) | json_values,
         "result": st.sampled_from(["accepted", "duplicate", "rejected"]) | json_values},
        optional={"reason": json_values}) | json_values, max_size=6))
    body = {"results": items} if draw(st.integers(0, 5)) else {"results": draw(json_values)}
    return draw(statuses | st.just(200)), json_bytes(body)


def _accepted(answers: list[tuple[int, bytes]]) -> set:
    """Every record id a garbled answer said was accepted or a duplicate."""
    found = set()
    for _, body in answers:
        try:
            results = json.loads(body).get("results")
        except (ValueError, AttributeError):
            continue
        for item in results if isinstance(results, list) else []:
            if isinstance(item, dict) and item.get("result") in ("accepted", "duplicate"):
                with contextlib.suppress(TypeError):
                    found.add(item.get("id"))
    return found


class GoodServer(AnswerAnything):
    """A platform that accepts everything once; remembers what it was sent."""

    def __init__(self) -> None:
        super().__init__([])
        self.sent: list[str] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        path = request.path_url
        if request.method == "PUT":
            self.sent.append(path.rsplit("/", 1)[1])
            self.answers = [(201, b"{}")]
        elif request.method == "POST" and path in ("/v1/applications", "/v1/events"):
            records = next(iter(json.loads(request.body).values()))
            self.sent += [r["id"] for r in records]
            self.answers = [(200, json_bytes({"results": [
                {"id": r["id"], "result": "accepted"} for r in records]}))]
        else:
            self.answers = [(200, b"{}")]
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def store():
    """One store for all cases of a test; each case starts from empty tables (see _fresh)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "kiosk.db")
        yield db, Path(tmp) / "blobs"
        db.conn.close()


def _fresh(db) -> None:
    for table in ("outbox", "applications", "application_status", "events", "audit_log"):
        db.execute(f"DELETE FROM {table}")
    db.execute("DELETE FROM settings WHERE key = ?", [status.CURSOR])


@FUZZ
@given(data=st.data())
def test_garbled_outbox_answers_lose_nothing_and_send_once(store, data):
    count("server JSON: outbox answers (kiosk.sync.outbox + PlatformClient.post_batch)")
    db, blobs = store
    _fresh(db)
    refs = _file_some(db, blobs)
    rows_before = db.execute("SELECT id, kind, ref FROM outbox ORDER BY id").fetchall()
    shas = [r[2] for r in rows_before if r[1] == "blob"]
    answers = [data.draw(st.one_of(batch_answer(refs + shas),
                                   st.tuples(statuses, st.just(b"{}"))))
               for _ in range(data.draw(st.integers(0, 8)))]
    client, adapter = fuzz_client(list(answers))
    with contextlib.suppress(SyncError):
        outbox.push(db, client, blobs, force=True)
    after = db.execute("SELECT id, kind, ref, state FROM outbox ORDER BY id").fetchall()
    assert [r[:3] for r in after] == rows_before  # nothing lost, nothing added
    accepted = _accepted(answers)
    put_ok = {path.rsplit("/", 1)[1] for (method, path, _), (code, _) in
              zip(adapter.requests, answers, strict=False)
              if method == "PUT" and code in (200, 201)}
    for _, kind, ref, state in after:
        assert state in ("pending", "sent", "failed")
        if state == "sent":
            assert ref in (put_ok if kind == "blob" else accepted), (kind, ref)
    # A well-behaved server now gets the rows still unsent, each once, and none sent before
    # (an application whose file was refused for good is failed instead: it cannot go).
    sent_before = {ref for _, _, ref, state in after if state == "sent"}
    good = GoodServer()
    session = make_session("fuzz-token")
    session.mount(BASE_URL, good)
    outbox.push(db, PlatformClient(BASE_URL, session), blobs, force=True)
    final = db.execute("SELECT ref, state, last_error FROM outbox").fetchall()
    assert len(good.sent) == len(set(good.sent)) and not set(good.sent) & sent_before
    assert {ref for ref, state, _ in final if state == "sent"} == sent_before | set(good.sent)
    assert all(error for _, state, error in final if state == "failed")  # with the reason
    assert outbox.depth(db) == 0


@st.composite
def status_pages(draw, ids):
    change = st.fixed_dictionaries(
        {"id": st.sampled_from(ids) | json_values, "status": st.sampled_from(
            ["received", "accepted", "returned"]) | json_values},
        optional={"at": st.sampled_from(["2026-12-07T09:00:00+08:00", "not a time", ""])
                  | json_values, "number": json_values, "detail": json_values}) | json_values
    page = st.fixed_dictionaries({"changes": st.lists(change, max_size=5)},
                                 optional={"cursor": json_values, "more": json_values})
    return [(draw(statuses | st.just(200)),
             draw(st.builds(json_bytes, page | json_values) | st.binary(max_size=40)))
            for _ in range(draw(st.integers(1, 4)))]


@FUZZ
@given(data=st.data())
def test_garbled_status_pages_never_remove_a_status(store, data):
    count("server JSON: status pull (kiosk.sync.status)")
    db, blobs = store
    _fresh(db)
    ids = _file_some(db, blobs)[:2]
    before = db.execute("SELECT * FROM application_status ORDER BY seq").fetchall()
    client, _ = fuzz_client(data.draw(status_pages(ids)))
    with contextlib.suppress(SyncError):
        status.pull_status(db, client)
    after = db.execute("SELECT * FROM application_status ORDER BY seq").fetchall()
    assert after[:len(before)] == before
    cursor = get_setting(db, status.CURSOR)
    assert cursor is None or isinstance(cursor, str)


@FUZZ
@given(status_code=statuses, body=st.binary(max_size=80) | st.builds(json_bytes, json_values),
       call=st.sampled_from(["catalog", "status", "batch", "blob", "decision", "lookup"]))
def test_any_answer_to_any_call_is_a_sync_error_or_a_value(status_code, body, call):
    count("server JSON: every client call (kiosk.sync.http.PlatformClient)")
    client, _ = fuzz_client([(status_code, body)])
    calls = {"catalog": lambda: client.get_catalog(0),
             "status": lambda: client.get_status(None),
             "batch": lambda: client.post_batch("events", ['{"id":"x"}']),
             "blob": lambda: client.put_blob("0" * 64, b"x"),
             "decision": lambda: client.post_decision("a", "{}"),
             "lookup": lambda: client.get_application("H0001-K01-20261207-0001")}
    try:
        calls[call]()
    except SyncError:
        pass
    except requests.RequestException as exc:  # pragma: no cover - would be a bug
        raise AssertionError(f"a requests error escaped: {exc!r}") from exc
