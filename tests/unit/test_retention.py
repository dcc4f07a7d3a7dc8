"""Retention purge: exactly the acknowledged-and-old applications lose their personal data.

Acknowledgement is real: the outbox is pushed to the reference platform app (in-process), which
answers per item; the time of that answer is what retention counts from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kiosk import audit, print_jobs, progress, receipts, retention
from kiosk.__main__ import main
from kiosk.applications import blob_path, file_application, get_application, status_history
from kiosk.config import Config
from kiosk.sync import outbox

CONFIG = Config(hall_id="H0001", terminal_id="K01")
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
ID_NUMBER = "11010519491231002X"
NAME = "张三丰"


def _file(db, blobs, scan: bytes, name: str = NAME, at: datetime = T0):
    app = file_application(db, CONFIG, "SCJG-XK-001",
                           {"name": name, "id_number": ID_NUMBER, "phone": "13800138000"},
                           {"address": "杭州市西湖区文三路 1 号"},
                           [{"material": "身份证", "data": scan}], blobs, now=at)
    doc = receipts.application_receipt(
        hall_name="市民中心", application_no=app.number, item_name="食品经营许可",
        applicant=receipts.mask_name(name), id_number="1101**********002X", filed_at="2026-10-01",
        time_limit_days=5, materials=[], query_url="", phone="", lang="zh-Hans")
    print_jobs.enqueue(db, doc)
    return app


def _ack(db, client, blobs, at: datetime) -> None:
    """Push everything due to the platform: the per-item answers mark the rows sent at ``at``."""
    result = outbox.push(db, client, blobs, force=True, now=at)
    assert result.error is None and outbox.depth(db) == 0


@pytest.fixture
def hall(db, tmp_path, client):
    """old_acked: acknowledged 40 days ago; recent: acknowledged 5 days ago; unacked: filed 90
    days ago, never acknowledged; shared: acknowledged 40 days ago, its scan shared with recent."""
    blobs = tmp_path / "blobs"
    now = T0 + timedelta(days=90)
    unacked = _file(db, blobs, b"scan unacked", at=T0)
    # Filed but not yet sent: hold its outbox row back from the pushes below.
    db.execute("UPDATE outbox SET next_attempt_at = '9999' WHERE ref = ? OR ref = ?",
               [unacked.id, unacked.materials[0]["sha256"]])
    old = _file(db, blobs, b"scan old", at=T0 + timedelta(days=49))
    shared = _file(db, blobs, b"scan shared", at=T0 + timedelta(days=49))
    outbox.push(db, client, blobs, now=T0 + timedelta(days=50))
    recent = _file(db, blobs, b"scan shared", at=T0 + timedelta(days=84))
    outbox.push(db, client, blobs, now=T0 + timedelta(days=85))
    sent = dict(db.execute("SELECT ref, state FROM outbox WHERE kind = 'application'").fetchall())
    assert sent == {unacked.id: "pending", old.id: "sent", shared.id: "sent", recent.id: "sent"}
    return {"db": db, "blobs": blobs, "now": now, "unacked": unacked, "old": old,
            "shared": shared, "recent": recent}


def _raw(db) -> str:
    """Every row of every table holding personal data, as one text to search."""
    rows = []
    for table in ("applications", "outbox", "print_jobs"):
        rows += [repr(r) for r in db.execute(f"SELECT * FROM {table}").fetchall()]
    return "\n".join(rows)


def test_purges_exactly_the_acknowledged_and_old(hall):
    db, blobs, now = hall["db"], hall["blobs"], hall["now"]
    old_sha = hall["old"].materials[0]["sha256"]
    captured = blob_path(blobs, old_sha).with_name(old_sha + ".jpg")  # the page as captured
    captured.write_bytes(b"page")
    result = retention.purge(db, blobs, 30, now=now)

    assert not captured.exists()
    assert sorted(result.numbers) == sorted([hall["old"].number, hall["shared"].number])
    old, shared = get_application(db, hall["old"].id), get_application(db, hall["shared"].id)
    for app in (old, shared):
        assert retention.purged_at(app) == now.isoformat(timespec="milliseconds")
        assert NAME not in json.dumps(app.applicant, ensure_ascii=False)
        assert "文三路" not in json.dumps(app.form, ensure_ascii=False)
        # what stays: number, item, materials list, status history, times
        assert app.number and app.item_code == "SCJG-XK-001" and app.filed_at
        assert status_history(db, app.id)[0]["status"] == "filed"
    # the blind index of the ID number (encryption at rest) goes too: no card finds them
    index = {r[0]: r[1] for r in db.execute("SELECT id, id_index FROM applications")}
    assert index[old.id] in (None, "") and index[shared.id] in (None, "")
    assert index[hall["recent"].id]
    assert progress.progress_of_person(db, ID_NUMBER) != []
    assert {p.application.id for p in progress.progress_of_person(db, ID_NUMBER)} == {
        hall["unacked"].id, hall["recent"].id}
    for key in ("unacked", "recent"):  # kept whole
        kept = get_application(db, hall[key].id)
        assert retention.purged_at(kept) is None
        assert kept.applicant["id_number"] == ID_NUMBER and kept.form == hall[key].form

    # scan files: the old one deleted, the shared one kept (recent still uses it), others kept
    assert not blob_path(blobs, hall["old"].materials[0]["sha256"]).exists()
    assert blob_path(blobs, hall["shared"].materials[0]["sha256"]).exists()
    assert result.blobs_kept == [hall["shared"].materials[0]["sha256"]]
    assert blob_path(blobs, hall["unacked"].materials[0]["sha256"]).exists()

    # outbox payload and receipt copies of the purged ones hold no personal data
    for key in ("old", "shared"):
        number, app_id = hall[key].number, hall[key].id
        (payload,) = db.execute("SELECT payload FROM outbox WHERE kind = 'application' AND ref = ?",
                                [app_id]).fetchone()
        assert json.loads(payload) == {"id": app_id, "number": number,
                                       "_purged_at": now.isoformat(timespec="milliseconds")}
        (document,) = db.execute("SELECT document FROM print_jobs WHERE receipt_no = ?",
                                 [number]).fetchone()
        assert json.loads(document)["lines"] == []
        with pytest.raises(print_jobs.UnknownReceipt, match="purged"):
            print_jobs.reprint(db, number)
    assert result.print_jobs == 2
    print_jobs.reprint(db, hall["recent"].number)  # a kept receipt still reprints

    # the number still finds the application: progress shows its history, no crash
    found = progress.find_progress(db, hall["old"].number)
    assert found is not None and retention.purged_at(found.application)

    # the run is audited with counts only
    records = audit.records(db)
    assert records[-1]["action"] == "retention.purge"
    assert records[-1]["details"] == {"applications": 2, "files": 1, "print_jobs": 2,
                                      "free_texts": 0, "retention_days": 30}
    assert ID_NUMBER not in json.dumps(records, ensure_ascii=False)


def test_a_purged_application_cannot_be_decided_here(hall):
    from kiosk import review

    retention.purge(hall["db"], hall["blobs"], 30, now=hall["now"])
    with pytest.raises(review.ReviewError, match="purged on this terminal"):
        review.decide(hall["db"], hall["old"].id, "accept", "S001")
    review.decide(hall["db"], hall["recent"].id, "accept", "S001")  # a kept one still can


def test_free_text_goes_with_its_acknowledgement_and_its_application(hall, client):
    """An evaluation comment is purged once the platform acknowledged that evaluation
    retention_days ago; a decision's reason goes with the application it was about; a copy
    the platform has not acknowledged stays."""
    from kiosk import review
    from kiosk.atrest import keys_for
    from kiosk.freetext import open_event

    db, blobs, now = hall["db"], hall["blobs"], hall["now"]
    review.decide(db, hall["old"].id, "return", "S001", (), "请张三丰补交租赁合同",
                  now=T0 + timedelta(days=55))
    review.decide(db, hall["recent"].id, "return", "S001", (), "recent reason",
                  now=T0 + timedelta(days=86))
    old_eval = progress.record_evaluation(db, 2, ["long_wait"], "old comment 张三丰",
                                          now=T0 + timedelta(days=55))
    _ack(db, client, blobs, T0 + timedelta(days=56))
    new_eval = progress.record_evaluation(db, 5, [], "new comment", now=T0 + timedelta(days=80))
    unsent = progress.record_evaluation(db, 1, [], "unsent comment", now=T0 + timedelta(days=56))
    db.execute("UPDATE outbox SET next_attempt_at = '9999' WHERE ref = ?", [unsent])
    outbox.push(db, client, blobs, now=T0 + timedelta(days=81))

    result = retention.purge(db, blobs, 30, now=now)

    assert result.free_texts == 3  # the old comment, the old decision's event and status reason
    keys = keys_for(db)

    def comment(event_id):
        (payload,) = db.execute("SELECT payload FROM events WHERE id = ?", [event_id]).fetchone()
        return open_event(keys, "evaluation", event_id, json.loads(payload))["text"]

    assert comment(old_eval).startswith('{"_purged_at":')
    assert comment(new_eval) == "new comment" and comment(unsent) == "unsent comment"
    (wire,) = db.execute("SELECT payload FROM outbox WHERE ref = ?", [old_eval]).fetchone()
    assert json.loads(wire)["payload"]["text"].startswith('{"_purged_at":')
    assert status_history(db, hall["old"].id)[-1]["detail"]["reason"] == ""
    assert status_history(db, hall["recent"].id)[-1]["detail"]["reason"] == "recent reason"
    events = [json.loads(p) for (p,) in db.execute("SELECT payload FROM outbox WHERE kind = 'event'")]
    decisions = [e for e in events if e["type"] == "decision"]
    reasons = {d["application_id"]: d["body"]["reason"] for d in decisions}
    assert reasons[hall["old"].id].startswith('{"_purged_at":')
    assert reasons[hall["recent"].id].startswith("enc:v1:")  # kept, sealed
    assert audit.records(db)[-1]["details"]["free_texts"] == 3


def test_shared_scan_goes_once_no_application_needs_it(hall):
    db, blobs = hall["db"], hall["blobs"]
    sha = hall["shared"].materials[0]["sha256"]
    retention.purge(db, blobs, 30, now=hall["now"])
    assert blob_path(blobs, sha).exists()
    later = retention.purge(db, blobs, 30, now=hall["now"] + timedelta(days=40))
    assert later.numbers == [hall["recent"].number]
    assert later.blobs_deleted == [sha] and not blob_path(blobs, sha).exists()


def test_never_purges_what_the_platform_did_not_acknowledge(hall):
    db, blobs = hall["db"], hall["blobs"]
    retention.purge(db, blobs, 1, now=hall["now"] + timedelta(days=3650))
    unacked = get_application(db, hall["unacked"].id)
    assert retention.purged_at(unacked) is None and unacked.applicant["name"] == NAME
    # a refused (failed) row is not an acknowledgement either
    db.execute("UPDATE outbox SET state = 'failed' WHERE ref = ?", [hall["unacked"].id])
    retention.purge(db, blobs, 1, now=hall["now"] + timedelta(days=3650))
    assert retention.purged_at(get_application(db, hall["unacked"].id)) is None


def test_purge_is_idempotent(hall):
    db, blobs, now = hall["db"], hall["blobs"], hall["now"]
    first = retention.purge(db, blobs, 30, now=now)
    snapshot, audits = _raw(db), len(audit.records(db))
    again = retention.purge(db, blobs, 30, now=now + timedelta(hours=2))
    assert first.count == 2 and again.count == 0 and not again.blobs_deleted
    assert _raw(db) == snapshot and len(audit.records(db)) == audits


def test_dry_run_changes_nothing(hall):
    db, blobs, now = hall["db"], hall["blobs"], hall["now"]
    before = _raw(db)
    files = sorted(p.name for p in blobs.rglob("*") if p.is_file())
    audits = len(audit.records(db))
    result = retention.purge(db, blobs, 30, now=now, dry_run=True)
    assert sorted(result.numbers) == sorted([hall["old"].number, hall["shared"].number])
    assert result.blobs_deleted == [hall["old"].materials[0]["sha256"]]
    assert _raw(db) == before and len(audit.records(db)) == audits
    assert sorted(p.name for p in blobs.rglob("*") if p.is_file()) == files


def test_runner_hook_runs_at_most_hourly(hall):
    db, blobs, now = hall["db"], hall["blobs"], hall["now"]
    assert retention.purge_if_due(db, blobs, 30, now=now).count == 2
    assert retention.purge_if_due(db, blobs, 30, now=now + timedelta(minutes=10)) is None
    assert retention.purge_if_due(db, blobs, 30, now=now + timedelta(hours=2)).count == 0


def test_cli_purge_and_dry_run(tmp_path, capsys):
    from kiosk.store import open_store

    data = tmp_path / "data"
    db = open_store(data / "kiosk.db")
    app = _file(db, data / "blobs", b"scan cli", at=datetime.now(UTC) - timedelta(days=60))
    db.execute("UPDATE outbox SET state = 'sent', sent_at = ? WHERE ref = ?",
               ["2000-01-01T00:00:00.000+00:00", app.id])
    db.conn.close()
    assert main(["--data-dir", str(data), "admin", "purge", "--dry-run"]) == 0
    assert "would purge: 1 application" in capsys.readouterr().out
    db = open_store(data / "kiosk.db")
    assert retention.purged_at(get_application(db, app.id)) is None
    db.conn.close()
    assert main(["--data-dir", str(data), "admin", "purge"]) == 0
    assert "purged: 1 application" in capsys.readouterr().out
    db = open_store(data / "kiosk.db")
    assert retention.purged_at(get_application(db, app.id))
    assert audit.records(db)[-1]["actor"] == "admin"


def test_retention_days_is_validated(tmp_path):
    from kiosk.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text("[security]\nretention_days = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retention_days"):
        load_config(path)
    path.write_text("[security]\nretention_days = 7\n", encoding="utf-8")
    assert load_config(path).security.retention_days == 7
