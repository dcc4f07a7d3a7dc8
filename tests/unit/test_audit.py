"""The audit trail: appends chain by hash and sync as events; verify names each kind of tampering.

Tampering is done as an attacker would: plain sqlite3 on the store file, with the kiosk closed.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import audit, staff
from kiosk.store import open_store

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _store_with_records(path: Path, n: int = 6) -> list[dict]:
    db = open_store(path)
    try:
        return [audit.append(db, f"S00{i}", "test.action", f"subject-{i}", {"n": i},
                             now=T0 + timedelta(seconds=i)) for i in range(1, n + 1)]
    finally:
        db.conn.close()


def _attack(path: Path, *statements: tuple[str, list]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for sql, params in statements:
            conn.execute(sql, params)
    conn.close()


def _verify(path: Path, **kwargs) -> audit.AuditReport:
    db = open_store(path)
    try:
        return audit.verify(db, **kwargs)
    finally:
        db.conn.close()


def _forge(record: dict) -> dict:
    """What an attacker who knows the scheme computes: a record with a correct own hash."""
    record = dict(record)
    record["hash"] = audit.record_hash(record)
    return record


def _insert_row(record: dict) -> tuple[str, list]:
    return ("INSERT INTO audit_log (seq, id, at, actor, action, subject, details, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [record["seq"], record["id"], record["at"], record["actor"], record["action"],
             record["subject"], json.dumps(record["details"]), record["prev_hash"],
             record["hash"]])


def test_records_chain_by_hash_and_each_is_queued_for_the_platform(db):
    first = audit.append(db, "S001", "staff.signin", "S001", {"role": "clerk"}, now=T0)
    second = audit.append(db, "admin", "catalog.rollback", "catalog", {"to": 1}, now=T0)
    assert (first["seq"], first["prev_hash"]) == (1, audit.GENESIS)
    assert (second["seq"], second["prev_hash"]) == (2, first["hash"])
    assert second["hash"] == audit.record_hash(second) != first["hash"]
    events = db.execute("SELECT e.payload, o.kind, o.state FROM events e "
                        "JOIN outbox o ON o.ref = e.id WHERE e.type = 'audit' ORDER BY e.at, "
                        "json_extract(e.payload, '$.seq')").fetchall()
    assert [json.loads(p)["hash"] for p, _, _ in events] == [first["hash"], second["hash"]]
    assert {(k, s) for _, k, s in events} == {("event", "pending")}
    report = audit.verify(db)
    assert report.ok and report.records == 2
    assert (report.head_seq, report.head_hash) == (2, second["hash"])


def test_an_append_rolls_back_with_the_callers_transaction(db):
    audit.append(db, "S001", "kept", now=T0)
    with pytest.raises(RuntimeError), db.atomic():
        audit.append(db, "S001", "undone", now=T0)
        raise RuntimeError("the change being audited failed")
    assert [r["action"] for r in audit.records(db)] == ["kept"]
    assert db.execute("SELECT count(*) FROM events WHERE type = 'audit'").fetchone()[0] == 1
    assert audit.verify(db).ok


def test_details_that_are_not_json_are_refused(db):
    with pytest.raises(audit.AuditError, match="not JSON"):
        audit.append(db, "S001", "x", details={"when": object()})
    with pytest.raises(audit.AuditError, match="actor"):
        audit.append(db, "", "x")


def test_verify_catches_an_edited_field(tmp_path):
    path = tmp_path / "kiosk.db"
    _store_with_records(path)
    _attack(path, ("UPDATE audit_log SET actor = 'S999' WHERE seq = 3", []))
    report = _verify(path)
    assert not report.ok
    assert [(p.kind, p.seq) for p in report.problems] == [("edited", 3)]


def test_verify_catches_an_edit_rehashed_by_an_attacker_who_knows_the_scheme(tmp_path):
    """The chain is unkeyed: rewriting record 3 and re-hashing 3..6 leaves a consistent chain.
    The copies queued for the platform still differ, and so does the platform's anchor."""
    path = tmp_path / "kiosk.db"
    written = _store_with_records(path)
    anchor = (written[3]["seq"], written[3]["hash"])
    prev = written[1]["hash"]
    statements = []
    for rec in written[2:]:
        forged = _forge({**rec, "prev_hash": prev,
                         "actor": "S999" if rec["seq"] == 3 else rec["actor"]})
        statements.append(("UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           [forged["actor"], forged["prev_hash"], forged["hash"], rec["seq"]]))
        prev = forged["hash"]
    _attack(path, *statements)
    report = _verify(path, anchor=anchor)
    assert report.kinds() == {"edited"}
    assert {p.seq for p in report.problems} == {3, 4, 5, 6}


def test_verify_catches_a_deleted_record(tmp_path):
    path = tmp_path / "kiosk.db"
    _store_with_records(path)
    _attack(path, ("DELETE FROM audit_log WHERE seq = 4", []))
    report = _verify(path)
    assert [(p.kind, p.seq) for p in report.problems] == [("removed", 5)]
    assert "4" in report.problems[0].message


def test_verify_catches_a_deletion_with_the_numbers_closed_up(tmp_path):
    path = tmp_path / "kiosk.db"
    _store_with_records(path)
    _attack(path, ("DELETE FROM audit_log WHERE seq = 4", []),
            ("UPDATE audit_log SET seq = seq - 1 WHERE seq > 4", []))
    report = _verify(path)
    assert [(p.kind, p.seq) for p in report.problems] == [("removed", 4)]


def test_verify_catches_the_newest_record_deleted(tmp_path):
    path = tmp_path / "kiosk.db"
    _store_with_records(path)
    _attack(path, ("DELETE FROM audit_log WHERE seq = 6", []))
    report = _verify(path)
    assert [(p.kind, p.seq) for p in report.problems] == [("removed", 6)]


def test_verify_catches_a_reorder(tmp_path):
    path = tmp_path / "kiosk.db"
    _store_with_records(path)
    # Swap records 3 and 5 by their numbers (the hashes do not cover seq, the chain does).
    _attack(path, ("UPDATE audit_log SET seq = -5 WHERE seq = 5", []),
            ("UPDATE audit_log SET seq = 5 WHERE seq = 3", []),
            ("UPDATE audit_log SET seq = 3 WHERE seq = -5", []))
    report = _verify(path)
    assert report.kinds() == {"reordered"}
    assert {p.seq for p in report.problems} == {3, 4, 5, 6}


def test_verify_catches_an_inserted_record(tmp_path):
    """A forged record with a correct hash, linked to record 2, with the numbers opened up."""
    path = tmp_path / "kiosk.db"
    written = _store_with_records(path)
    forged = _forge({"seq": 3, "id": "4b1d0e6c-0000-4000-8000-000000000000",
                     "at": written[1]["at"], "actor": "admin", "action": "staff.signin",
                     "subject": "S007", "details": {}, "prev_hash": written[1]["hash"]})
    _attack(path, ("UPDATE audit_log SET seq = -seq WHERE seq >= 3", []),
            ("UPDATE audit_log SET seq = 1 - seq WHERE seq < 0", []),
            _insert_row(forged))
    report = _verify(path)
    assert report.kinds() == {"inserted"}
    assert {p.seq for p in report.problems} == {3}


def test_verify_catches_an_insert_at_the_end_by_its_missing_platform_copy(tmp_path):
    path = tmp_path / "kiosk.db"
    written = _store_with_records(path)
    forged = _forge({"seq": 7, "id": "4b1d0e6c-0000-4000-8000-000000000001",
                     "at": written[-1]["at"], "actor": "admin", "action": "catalog.rollback",
                     "subject": "catalog", "details": {}, "prev_hash": written[-1]["hash"]})
    _attack(path, _insert_row(forged))
    report = _verify(path)
    assert [(p.kind, p.seq) for p in report.problems] == [("inserted", 7)]


def test_verify_against_an_anchor_held_outside(tmp_path):
    path = tmp_path / "kiosk.db"
    written = _store_with_records(path, 3)
    assert _verify(path, anchor=(3, written[2]["hash"])).ok
    report = _verify(path, anchor=(3, "f" * 64))
    assert [(p.kind, p.seq) for p in report.problems] == [("edited", 3)]
    assert [p.kind for p in _verify(path, anchor=(9, "f" * 64)).problems] == ["removed"]


def test_sign_ins_failures_and_lockout_are_audited(db):
    staff.add_staff(db, "S001", "王芳", "1234")
    staff.verify(db, "S001", "1234", now=T0)
    for _ in range(staff.MAX_FAILURES - 1):
        with pytest.raises(staff.BadPin):
            staff.verify(db, "S001", "9999", now=T0)
    with pytest.raises(staff.LockedOut):
        staff.verify(db, "S001", "9999", now=T0)
    with pytest.raises(staff.LockedOut):
        staff.verify(db, "S001", "1234", now=T0)
    with pytest.raises(staff.BadPin):
        staff.verify(db, "nobody", "1234", now=T0)
    actions = [(r["actor"], r["action"]) for r in audit.records(db)]
    assert actions == ([("admin", "staff.add"), ("S001", "staff.signin")]
                       + [("S001", "staff.signin_failed")] * (staff.MAX_FAILURES - 1)
                       + [("S001", "staff.lockout"), ("S001", "staff.signin_refused_locked"),
                          ("nobody", "staff.signin_failed")])
    # The PIN tried is never written down.
    assert "9999" not in json.dumps(audit.records(db))
    assert audit.verify(db).ok


def test_an_unknown_staff_id_that_is_not_an_id_is_not_recorded_verbatim(db):
    with pytest.raises(staff.BadPin):
        staff.verify(db, "110101199003071234 张三", "1234", now=T0)
    (record,) = audit.records(db)
    assert "110101199003071234" not in json.dumps(record, ensure_ascii=False)
    assert "张三" not in json.dumps(record, ensure_ascii=False)


def test_catalog_rollback_is_audited(db, sample_bundle):
    from kiosk import catalog
    from kiosk.sync.catalog_updater import rollback

    catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
    catalog.apply_bundle(db, {**sample_bundle, "version": sample_bundle["version"] + 1},
                         source="test", validate=False)
    assert rollback(db, actor="admin:ops") == sample_bundle["version"]
    (record,) = audit.records(db)
    assert (record["actor"], record["action"], record["subject"]) == (
        "admin:ops", "catalog.rollback", "catalog")
    assert record["details"] == {"from": sample_bundle["version"] + 1,
                                 "to": sample_bundle["version"]}


def test_cli_lists_and_verifies_and_fails_on_tampering(tmp_path, capsys):
    from kiosk.__main__ import main

    path = tmp_path / "kiosk.db"
    written = _store_with_records(path, 3)
    assert main(["--data-dir", str(tmp_path), "admin", "audit", "list", "--last", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["2", "3"]
    assert main(["--data-dir", str(tmp_path), "admin", "audit", "verify",
                 "--anchor", f"3:{written[2]['hash']}"]) == 0
    assert "ok: the chain is whole" in capsys.readouterr().out
    _attack(path, ("DELETE FROM audit_log WHERE seq = 2", []))
    assert main(["--data-dir", str(tmp_path), "admin", "audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "removed: record(s) 2 are missing before record 3" in out and "TAMPERED" in out
    assert main(["--data-dir", str(tmp_path), "admin", "audit", "verify", "--anchor", "x"]) == 2


def test_audit_records_reach_the_platform_and_its_copy_anchors_verify(db, tmp_path):
    """Pushed through the real outbox to the real platform app (in-process): the platform holds
    every record with its hash, and its newest copy is an anchor a rewritten chain fails."""
    from sync_support import InProcessPlatform

    from kiosk.sync.outbox import push

    platform = InProcessPlatform(tmp_path / "platform")
    try:
        client = platform.client(platform.enroll("H0001", "K01"))
        written = [audit.append(db, "S001", "staff.signin", "S001", now=T0) for _ in range(3)]
        result = push(db, client, tmp_path / "blobs")
        assert result.error is None and result.sent["event"] == 3
        held = sorted((json.loads(p) for (p,) in platform.query(
            "SELECT payload FROM events WHERE type = 'audit'")), key=lambda r: r["seq"])
    finally:
        platform.close()
    assert [(r["seq"], r["hash"], r["prev_hash"]) for r in held] == [
        (r["seq"], r["hash"], r["prev_hash"]) for r in written]
    assert all(audit.record_hash(r) == r["hash"] for r in held)
    anchor = (held[-1]["seq"], held[-1]["hash"])
    assert audit.verify(db, anchor=anchor).ok
    # An insider rewrites record 3 and its local copy consistently: only the anchor shows it.
    forged = _forge({**written[2], "actor": "S002"})
    db.execute("UPDATE audit_log SET actor = 'S002', hash = ? WHERE seq = 3", [forged["hash"]])
    db.execute("UPDATE events SET payload = ? WHERE type = 'audit' AND "
               "json_extract(payload, '$.seq') = 3", [json.dumps(forged)])
    assert audit.verify(db).ok
    assert [(p.kind, p.seq) for p in audit.verify(db, anchor=anchor).problems] == [("edited", 3)]


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 10), data=st.data())
def test_any_single_tampering_is_caught(n, data):
    """Edit a field, delete (numbers closed up or not), swap two, or insert a forged record
    with a correct own hash: whichever record it hits, verify is never ok."""
    db = open_store(":memory:")
    try:
        written = [audit.append(db, "S001", "a", f"s{i}", {"i": i}, now=T0) for i in range(n)]
        op = data.draw(st.sampled_from(["edit", "delete", "delete_close", "swap", "insert"]))
        k = data.draw(st.integers(1, n))
        if op == "edit":
            column = data.draw(st.sampled_from(["at", "actor", "action", "subject", "details",
                                                "prev_hash", "hash", "id"]))
            db.execute(f"UPDATE audit_log SET {column} = {column} || 'x' WHERE seq = ?", [k])
        elif op.startswith("delete"):
            db.execute("DELETE FROM audit_log WHERE seq = ?", [k])
            if op == "delete_close":
                db.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > ?", [k])
        elif op == "swap":
            j = data.draw(st.integers(1, n).filter(lambda j: j != k))
            db.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", [k])
            db.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", [k, j])
            db.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", [j])
        else:
            prev = written[k - 2]["hash"] if k > 1 else audit.GENESIS
            forged = _forge({"seq": k, "id": f"forged-{k}", "at": T0.isoformat(),
                             "actor": "admin", "action": "a", "subject": "s", "details": {},
                             "prev_hash": prev})
            db.execute("UPDATE audit_log SET seq = -seq WHERE seq >= ?", [k])
            db.execute("UPDATE audit_log SET seq = 1 - seq WHERE seq < 0")
            db.execute(*_insert_row(forged))
        report = audit.verify(db)
        assert not report.ok, (op, k)
    finally:
        db.conn.close()
