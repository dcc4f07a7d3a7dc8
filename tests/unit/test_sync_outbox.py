"""The outbox push against the real platform app (in-process), with faults injected.

After every fault: nothing lost (every record reaches the server once the fault is gone) and
nothing duplicated (the server holds each record once, with the content filed).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sync_support import on

from kiosk.applications import blob_path, file_application, iso, record_event, utc_now
from kiosk.config import Config
from kiosk.sync import outbox
from kiosk.sync.errors import AuthRejected, PlatformFailed, PlatformUnreachable
from kiosk.sync.outbox import Backoff, push

CONFIG = Config(hall_id="H0001", terminal_id="K01")


def file_some(db, blobs, n_apps=3, n_events=2, with_files=True):
    apps = []
    for i in range(n_apps):
        materials = [{"material": "身份证", "data": f"scan {i}".encode()}] if with_files else []
        apps.append(file_application(db, CONFIG, "SCJG-XK-001", {"name": f"申请人{i}"},
                                     {"n": i}, materials, blobs))
    [record_event(db, "evaluation", {"score": i}) for i in range(n_events)]
    # Every event written, including the audit record each filing appends (kiosk.audit).
    events = [row[0] for row in db.execute("SELECT id FROM events ORDER BY rowid").fetchall()]
    return apps, events


def states(db) -> dict[str, int]:
    return dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())


def assert_exactly_once(platform, db, apps, events):
    """The server holds every application and event once, with the content filed here."""
    server_apps = {row[0]: json.loads(row[1])
                   for row in platform.query("SELECT id, data FROM applications")}
    assert sorted(server_apps) == sorted(a.id for a in apps)
    for app in apps:
        assert server_apps[app.id] == json.loads(json.dumps(app.wire()))
    assert platform.count("applications") == len(apps)
    server_events = [row[0] for row in platform.query("SELECT id FROM events")]
    assert sorted(server_events) == sorted(events)
    assert outbox.depth(db) == 0


def test_push_sends_everything_once(db, tmp_path, platform, client):
    apps, events = file_some(db, tmp_path / "blobs")
    result = push(db, client, tmp_path / "blobs")
    assert result.error is None
    assert result.sent == {"blob": 3, "application": 3, "event": 2 + 3}  # + 3 audit records
    assert_exactly_once(platform, db, apps, events)
    assert platform.count("blobs") == 3
    # order on the wire: blobs one by one, then the applications batch, then events
    assert [s if s.startswith("POST") else s[:14] for s in platform.plan.seen] == [
        "PUT /v1/blobs/", "PUT /v1/blobs/", "PUT /v1/blobs/",
        "POST /v1/applications", "POST /v1/events"]
    again = push(db, client, tmp_path / "blobs")
    assert again.total_sent == 0 and platform.plan.seen[-1].startswith("POST /v1/events")


def test_batches_respect_the_batch_size(db, tmp_path, platform, client):
    apps, events = file_some(db, tmp_path / "blobs", n_apps=7, n_events=0, with_files=False)
    push(db, client, tmp_path / "blobs", batch_size=3)
    assert platform.plan.seen == ["POST /v1/applications"] * 3 + ["POST /v1/events"] * 3
    assert_exactly_once(platform, db, apps, events)


def test_answer_lost_after_the_server_stored_it(db, tmp_path, platform, client):
    """GIVEN the server stores a batch but its answer is lost WHEN we push again
    THEN the server says duplicate, we mark them sent, and it holds each record once."""
    apps, events = file_some(db, tmp_path / "blobs")
    platform.plan.rules.append(on("POST", "/v1/applications", "lose", times=1))
    first = push(db, client, tmp_path / "blobs")
    assert isinstance(first.error, PlatformUnreachable)
    assert platform.count("applications") == 3  # stored, though we never heard so
    assert states(db) == {"sent": 3, "pending": 5 + 3}  # + 3 audit records
    second = push(db, client, tmp_path / "blobs", force=True)
    assert second.duplicates["application"] == 3 and second.sent["application"] == 3
    assert_exactly_once(platform, db, apps, events)


def test_timeout_after_the_server_stored_events(db, tmp_path, platform, client):
    apps, events = file_some(db, tmp_path / "blobs", n_apps=0, n_events=4)
    platform.plan.rules.append(on("POST", "/v1/events", "timeout", times=1))
    assert isinstance(push(db, client, tmp_path / "blobs").error, PlatformUnreachable)
    push(db, client, tmp_path / "blobs", force=True)
    assert_exactly_once(platform, db, apps, events)


def test_500_backs_off_and_later_delivers(db, tmp_path, platform, client):
    apps, events = file_some(db, tmp_path / "blobs", with_files=False)
    platform.plan.rules.append(on("POST", "/v1/applications", "500", times=1))
    now = utc_now()
    first = push(db, client, tmp_path / "blobs", now=now, backoff=Backoff(10, 60))
    assert isinstance(first.error, PlatformFailed)
    rows = db.execute("SELECT attempts, next_attempt_at, last_error FROM outbox "
                      "WHERE kind = 'application'").fetchall()
    for attempts, next_at, error in rows:
        assert attempts == 1 and "500" in error
        assert iso(now + timedelta(seconds=5)) <= next_at <= iso(now + timedelta(seconds=10))
    # not due yet: nothing is sent (events were never reached: the push stopped at the 500)
    assert push(db, client, tmp_path / "blobs", now=now + timedelta(seconds=1)).sent[
        "application"] == 0
    later = push(db, client, tmp_path / "blobs", now=now + timedelta(seconds=11))
    assert later.sent["application"] == 3
    assert_exactly_once(platform, db, apps, events)


def test_offline_changes_nothing_but_attempts(db, tmp_path, platform, client):
    apps, events = file_some(db, tmp_path / "blobs")
    platform.plan.rules.append(on("PUT", "/v1/blobs", "refuse"))
    result = push(db, client, tmp_path / "blobs")
    assert isinstance(result.error, PlatformUnreachable)
    assert states(db) == {"pending": 8 + 3}  # + 3 audit records
    assert platform.plan.seen == [platform.plan.seen[0]]  # stopped at the first refusal
    platform.plan.rules.clear()
    push(db, client, tmp_path / "blobs", force=True)
    assert_exactly_once(platform, db, apps, events)


def test_application_waits_for_its_files(db, tmp_path, platform, client):
    """A blob that could not be sent holds back the applications that reference it."""
    apps, events = file_some(db, tmp_path / "blobs", n_apps=2, n_events=0)
    platform.plan.rules.append(on("PUT", "/v1/blobs/", "500", times=1))
    push(db, client, tmp_path / "blobs")
    assert platform.count("applications") == 0
    push(db, client, tmp_path / "blobs", force=True)
    assert_exactly_once(platform, db, apps, events)


def test_blob_whose_bytes_do_not_match_its_hash(db, tmp_path, platform, client):
    """GIVEN a stored scan corrupted on disk WHEN pushing THEN the file is not sent, it and its
    application are kept as failed with the reason, and everything else arrives once."""
    blobs = tmp_path / "blobs"
    apps, events = file_some(db, blobs, n_apps=3, n_events=1)
    bad = apps[1]
    path = blob_path(blobs, bad.materials[0]["sha256"])
    path.write_bytes(b"bit rot")
    result = push(db, client, blobs)
    assert result.failed == {"blob": 1, "application": 1, "event": 0}
    assert platform.count("blobs") == 2
    failed = {r.kind: r for r in outbox.failed_records(db)}
    assert "hash_mismatch" in failed["blob"].error
    assert failed["application"].error == f"blob_failed:{bad.materials[0]['sha256']}"
    assert failed["application"].label == bad.number
    server_apps = sorted(r[0] for r in platform.query("SELECT id FROM applications"))
    assert server_apps == sorted(a.id for a in apps if a is not bad)
    assert outbox.depth(db) == 0 and outbox.failed_count(db) == 2


def test_rejected_records_are_kept_as_failed_with_the_reason(db, tmp_path, platform):
    """A terminal configured for another hall than its token: the server rejects (wrong_hall)."""
    client = platform.client(platform.enroll("H0002", "K01"))
    apps, _ = file_some(db, tmp_path / "blobs", n_apps=2, n_events=0, with_files=False)
    result = push(db, client, tmp_path / "blobs")
    assert result.failed["application"] == 2
    assert {r.error for r in outbox.failed_records(db)} == {"rejected: wrong_hall"}
    assert db.execute("SELECT COUNT(*) FROM applications").fetchone()[0] == 2  # kept here
    assert platform.count("applications") == 0
    assert outbox.retry_failed(db) == 2 and outbox.depth(db) == 2


def test_one_malformed_record_does_not_hold_back_the_batch(db, tmp_path, platform, client):
    """A batch refused as a whole (422) is halved until the bad record is found and failed."""
    apps, events = file_some(db, tmp_path / "blobs", n_apps=0, n_events=5)
    with db.atomic():
        db.execute("UPDATE outbox SET payload = json_set(payload, '$.at', 'not a time') "
                   "WHERE ref = ?", [events[2]])
    result = push(db, client, tmp_path / "blobs")
    assert result.sent["event"] == 4 and result.failed["event"] == 1
    (failed,) = outbox.failed_records(db)
    assert failed.ref == events[2] and failed.error.startswith("invalid")
    assert sorted(r[0] for r in platform.query("SELECT id FROM events")) == sorted(
        e for e in events if e != events[2])


def test_unauthorised_terminal_changes_nothing(db, tmp_path, platform):
    client = platform.client("not-a-token")
    file_some(db, tmp_path / "blobs", with_files=False)
    with pytest.raises(AuthRejected):
        push(db, client, tmp_path / "blobs")
    assert states(db) == {"pending": 5 + 3}  # + 3 audit records
    assert db.execute("SELECT MAX(attempts) FROM outbox").fetchone()[0] == 0


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(base_s=2, max_s=60)
    rng = random.Random(7)
    for attempts, cap in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (30, 60)]:
        delays = [backoff.delay(attempts, rng) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 10  # jittered, not one fixed value


def test_heartbeats_are_pruned_once_old_and_sent(db, tmp_path, platform, client):
    hb = record_event(db, "heartbeat", {"version": "0.1.0", "catalog_version": None,
                                        "outbox_depth": 0, "devices": []})
    ev = record_event(db, "audit", {"what": "login"})
    push(db, client, tmp_path)
    assert outbox.prune_heartbeats(db, keep_days=7) == 0
    assert outbox.prune_heartbeats(db, keep_days=7, now=utc_now() + timedelta(days=8)) == 1
    assert [r[0] for r in db.execute("SELECT id FROM events").fetchall()] == [ev]
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE ref = ?", [hb]).fetchone()[0] == 0
