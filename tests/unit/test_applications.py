"""Filing applications and recording events: one transaction with their outbox records."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

import pytest

from kiosk import applications, atrest
from kiosk.applications import ApplicationError, blob_path, file_application, record_event
from kiosk.config import Config

CONFIG = Config(hall_id="H0001", terminal_id="K01")


def outbox_rows(db) -> list[tuple]:
    return db.execute("SELECT kind, ref, state FROM outbox ORDER BY id").fetchall()


def test_filing_writes_application_status_and_outbox_in_order(db, tmp_path):
    blobs = tmp_path / "blobs"
    scan = b"%PDF-1.4 scan of an ID card"
    app = file_application(
        db, CONFIG, "SCJG-XK-001", {"name": "张三", "id_number": "110101199003074514"},
        {"shop_name": "张三小吃"},
        [{"material": "身份证", "data": scan}, {"material": "营业执照", "data": b"licence"},
         {"material": "租赁合同"}],
        blobs, prereview={"missing": ["租赁合同"]},
    )
    assert re.fullmatch(r"H0001-K01-\d{8}-0001", app.number)
    sha = hashlib.sha256(scan).hexdigest()
    assert scan not in blob_path(blobs, sha).read_bytes()  # encrypted at rest
    assert applications.read_blob(blobs, sha, atrest.keys_for(db)) == scan
    assert [m.get("sha256") for m in app.materials] == [
        sha, hashlib.sha256(b"licence").hexdigest(), None]
    # blobs first, then the application: the platform refuses an application without its files
    # ... and the audit record of the filing (kiosk.audit), an event
    assert [(k, s) for k, _, s in outbox_rows(db)] == [
        ("blob", "pending"), ("blob", "pending"), ("application", "pending"),
        ("event", "pending")]
    assert outbox_rows(db)[0][1] == sha
    stored = applications.get_application(db, app.number)
    assert stored == app
    assert applications.status_history(db, app.id)[0]["status"] == "filed"
    sealed = db.execute("SELECT payload FROM outbox WHERE kind = 'application'").fetchone()[0]
    assert "张三" not in sealed
    payload = json.loads(atrest.unseal(atrest.keys_for(db), sealed,
                                       applications.outbox_context(app.id)))
    assert payload == app.wire()
    assert payload["applicant"]["name"] == "张三"


def test_numbers_count_per_day_and_restart_each_day(db, tmp_path):
    day1 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    day2 = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    numbers = [file_application(db, CONFIG, "X", {}, {}, [], tmp_path, now=day1).number
               for _ in range(3)]
    numbers.append(file_application(db, CONFIG, "X", {}, {}, [], tmp_path, now=day2).number)
    local1 = day1.astimezone().strftime("%Y%m%d")
    local2 = day2.astimezone().strftime("%Y%m%d")
    assert numbers == [f"H0001-K01-{local1}-0001", f"H0001-K01-{local1}-0002",
                       f"H0001-K01-{local1}-0003", f"H0001-K01-{local2}-0001"]


def test_a_failed_filing_leaves_nothing_behind(db, tmp_path, monkeypatch):
    """GIVEN the outbox insert fails WHEN filing THEN no application, status, number or row."""
    real = applications._enqueue

    def broken(db_, kind, *args):
        if kind == "application":
            raise RuntimeError("disk full")
        return real(db_, kind, *args)

    monkeypatch.setattr(applications, "_enqueue", broken)
    with pytest.raises(RuntimeError):
        file_application(db, CONFIG, "X", {}, {}, [{"material": "a", "data": b"1"}], tmp_path)
    for table in ("applications", "application_status", "application_numbers", "outbox"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    monkeypatch.undo()
    app = file_application(db, CONFIG, "X", {}, {}, [], tmp_path)
    assert app.number.endswith("-0001")  # the failed attempt did not use a number up


def test_same_file_twice_is_one_blob_record(db, tmp_path):
    file_application(db, CONFIG, "X", {}, {}, [{"material": "a", "data": b"same"}], tmp_path)
    file_application(db, CONFIG, "X", {}, {}, [{"material": "a", "data": b"same"},
                                               {"material": "b", "data": b"same"}], tmp_path)
    kinds = [k for k, _, _ in outbox_rows(db)]
    assert kinds == ["blob", "application", "event", "application", "event"]  # event: audit


def test_material_from_a_file_path(db, tmp_path):
    scan = tmp_path / "page1.jpg"
    scan.write_bytes(b"\xff\xd8jpeg")
    app = file_application(db, CONFIG, "X", {}, {}, [{"material": "照片", "file": scan}],
                           tmp_path / "blobs")
    assert app.materials == [{"material": "照片", "sha256": hashlib.sha256(b"\xff\xd8jpeg").hexdigest(),
                              "size": 6}]
    with pytest.raises(ApplicationError, match="照片"):
        file_application(db, CONFIG, "X", {}, {}, [{"material": "照片", "file": tmp_path / "none"}],
                         tmp_path / "blobs")
    with pytest.raises(ApplicationError, match="material #1"):
        file_application(db, CONFIG, "X", {}, {}, [{"data": b"x"}], tmp_path / "blobs")


def test_record_event_writes_event_and_outbox(db):
    event_id = record_event(db, "evaluation", {"score": 5, "window": 3})
    (type_, payload), = db.execute("SELECT type, payload FROM events").fetchall()
    assert (type_, json.loads(payload)) == ("evaluation", {"score": 5, "window": 3})
    (kind, ref, body), = db.execute("SELECT kind, ref, payload FROM outbox").fetchall()
    assert (kind, ref) == ("event", event_id)
    assert json.loads(body)["type"] == "evaluation"
    with pytest.raises(ApplicationError, match="unknown event type"):
        record_event(db, "gossip", {})
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
