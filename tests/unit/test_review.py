"""Counter review: decisions, refusals, idempotence, the outbox row and its trip to the platform."""

from __future__ import annotations

import json

import pytest
from sync_support import InProcessPlatform

from kiosk.applications import file_application, get_application, status_history
from kiosk.atrest import keys_for
from kiosk.config import Config
from kiosk.freetext import open_wire
from kiosk.review import ReviewError, decide, find
from kiosk.sync.outbox import push

CONFIG = Config(hall_id="H0001", terminal_id="K01")


@pytest.fixture
def app(db, tmp_path):
    return file_application(db, CONFIG, "SCJG-XK-001", {"name": "张三"}, {"shop": "小吃"},
                            [{"material": "身份证", "data": b"scan"}], tmp_path / "blobs")


def decision_rows(db) -> list[dict]:
    """The decision rows of the outbox as the platform receives them (reason opened)."""
    rows = db.execute("SELECT ref, payload, state FROM outbox WHERE kind = 'event'").fetchall()
    rows = [{"ref": ref, "state": state, **open_wire(keys_for(db), json.loads(payload))}
            for ref, payload, state in rows]
    return [r for r in rows if r["type"] == "decision"]  # not the audit records (kiosk.audit)


@pytest.mark.parametrize(("decision", "missing", "reason", "status"), [
    ("accept", (), "", "accepted"),
    ("return", ("营业执照", " 租赁合同 ", "营业执照"), "", "returned"),
    ("return", (), "照片模糊，请重新提交", "returned"),
    ("reject", (), "不属于本事项受理范围", "rejected"),
])
def test_each_decision_changes_status_history_and_queues_the_call(db, app, decision, missing,
                                                                  reason, status):
    made = decide(db, app.id, decision, "窗口3 李四", missing, reason)
    assert made.status == status
    if reason:  # free text a clerk wrote: sealed at rest wherever it is stored
        for table, column in (("events", "payload"), ("outbox", "payload"),
                              ("application_status", "detail")):
            stored = [r[0] for r in db.execute(f"SELECT {column} FROM {table}")]
            assert not any(reason in text for text in stored), table
    assert get_application(db, app.id).status == status
    last = status_history(db, app.id)[-1]
    assert last["status"] == status and last["source"] == "local"
    assert last["detail"]["decision_id"] == made.decision_id
    [row] = decision_rows(db)
    assert row["ref"] == made.decision_id and row["state"] == "pending"
    assert row["type"] == "decision" and row["application_id"] == app.id
    assert row["body"] == {"decision_id": made.decision_id, "decision": decision,
                           "missing": list(dict.fromkeys(m.strip() for m in missing)),
                           "reason": reason, "clerk": "窗口3 李四"}


@pytest.mark.parametrize(("decision", "missing", "reason", "words"), [
    ("return", (), "  ", "missing materials or a reason"),
    ("reject", ("身份证",), "", "needs a reason"),
    ("approve", (), "x", "unknown decision"),
])
def test_incomplete_decisions_are_refused_and_write_nothing(db, app, decision, missing, reason,
                                                            words):
    with pytest.raises(ReviewError, match=words):
        decide(db, app.id, decision, "李四", missing, reason)
    assert get_application(db, app.id).status == "filed"
    assert decision_rows(db) == []


def test_final_decisions_cannot_be_changed_but_a_return_can(db, app):
    decide(db, app.id, "return", "李四", ["营业执照"])
    decide(db, app.id, "accept", "李四")
    with pytest.raises(ReviewError, match="already accepted"):
        decide(db, app.id, "reject", "李四", reason="改判")
    assert [h["status"] for h in status_history(db, app.id)] == ["filed", "returned", "accepted"]
    assert len(decision_rows(db)) == 2


def test_unknown_application_and_missing_clerk_are_refused(db, app):
    with pytest.raises(ReviewError, match="no application"):
        decide(db, "not-an-id", "accept", "李四")
    with pytest.raises(ReviewError, match="clerk"):
        decide(db, app.id, "accept", " ")


def test_the_same_decision_id_decides_once(db, app):
    first = decide(db, app.id, "return", "李四", ["营业执照"], decision_id="d-1")
    again = decide(db, app.id, "return", "李四", ["营业执照"], decision_id="d-1")
    assert again == first
    assert len(decision_rows(db)) == 1
    assert [h["status"] for h in status_history(db, app.id)] == ["filed", "returned"]
    with pytest.raises(ReviewError, match="different decision"):
        decide(db, app.id, "reject", "李四", reason="x", decision_id="d-1")


def test_find_by_number_typed_loosely_or_by_receipt_qr(db, app):
    assert find(db, app.number) == app
    assert find(db, app.number.replace("-", "").lower()) == app
    assert find(db, f"https://zwfw.example.gov.cn/progress/{app.number}") == app
    assert find(db, f"https://zwfw.example.gov.cn/progress/{app.number}/?from=qr#top") == app
    assert find(db, "https://zwfw.example.gov.cn/progress/H0001-K01-19990101-0001") is None
    assert find(db, "") is None


def test_decisions_reach_the_platform_decision_endpoint_once(db, app, tmp_path):
    platform = InProcessPlatform(tmp_path / "platform")
    try:
        client = platform.client(platform.enroll("H0001", "K01"))
        returned = decide(db, app.id, "return", "李四", ["营业执照"])
        accepted = decide(db, app.id, "accept", "李四")
        result = push(db, client, tmp_path / "blobs", force=True)
        # 2 decisions + 3 audit records (the filing and the two decisions)
        assert result.error is None and result.sent["event"] == 2 + 3
        assert {r["state"] for r in decision_rows(db)} == {"sent"}
        stored = platform.query("SELECT decision_id FROM decisions ORDER BY decision_id")
        assert sorted(r[0] for r in stored) == sorted([returned.decision_id, accepted.decision_id])
        # not sent to /v1/events (only the audit records are)
        assert platform.query("SELECT count(*) FROM events WHERE type != 'audit'") == [(0,)]
        changes = client.get_status(None)["changes"]
        assert [c["status"] for c in changes if c["id"] == app.id][-1] == "accepted"
        assert push(db, client, tmp_path / "blobs", force=True).total_sent == 0
    finally:
        platform.close()


def test_a_decision_the_platform_refuses_stays_failed_for_the_administrator(db, app, tmp_path):
    platform = InProcessPlatform(tmp_path / "platform")
    try:
        client = platform.client(platform.enroll("H0001", "K01"))
        push(db, client, tmp_path / "blobs", force=True)
        decide(db, app.id, "reject", "李四", reason="重复申请")
        # Another counter already accepted it on the platform: our reject is a 409 conflict.
        platform_client = platform.client(platform.enroll("H0001", "K02"))
        platform_client.post_decision(app.id, json.dumps(
            {"decision_id": "6f1c1f0e-6d5e-4c0e-9a77-1b0f0f0f0f0f", "decision": "accept",
             "missing": [], "reason": "", "clerk": "王五"}))
        result = push(db, client, tmp_path / "blobs", force=True)
        assert result.failed["event"] == 1
        [row] = decision_rows(db)
        assert row["state"] == "failed"
    finally:
        platform.close()
