"""Every state change of a ticket or an application, and every admin action, leaves one audit
record written in the same transaction, naming numbers only (no visitor's name or ID number),
and the chain stays whole. Roles of staff (clerk, admin) and their audit records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from queue_support import platform_db

from kiosk import audit, staff
from kiosk import queue as q
from kiosk.applications import file_application
from kiosk.config import Config
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.review import decide
from kiosk.store import open_store
from kiosk.sync import status

CONFIG = Config(hall_id="H0001", terminal_id="K01")
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _trail(db) -> list[tuple[str, str, str]]:
    return [(r["actor"], r["action"], r["subject"]) for r in audit.records(db)]


@pytest.fixture
def pdb(tmp_path):
    db = platform_db(tmp_path)
    yield db
    db.close()


def test_a_tickets_life_is_in_the_kiosks_and_the_counters_trails(db, pdb, tmp_path):
    issuer = q.TicketIssuer(db, InProcessHallQueue(pdb, "H0001", "K01"), "H0001", "K01")
    first, second = issuer.issue("A"), issuer.issue("A")
    counter_db = open_store(tmp_path / "counter.db")
    try:
        desk = q.CounterDesk(counter_db, InProcessHallQueue(pdb, "H0001", "W03"), 3, ["A"], "S001")
        desk.open()
        desk.call_next()
        desk.recall()
        desk.start()
        desk.finish()
        desk.call_next()
        desk.transfer(category="B")
        desk.call_next()  # nobody waiting: no ticket changed, no record
        assert _trail(counter_db) == [
            ("S001", "ticket.called", first.number), ("S001", "ticket.recalled", first.number),
            ("S001", "ticket.serving", first.number), ("S001", "ticket.done", first.number),
            ("S001", "ticket.called", second.number),
            ("S001", "ticket.transferred", second.number)]
        assert audit.records(counter_db)[3]["details"] == {"window": 3, "state": "done"}
        assert audit.verify(counter_db).ok
    finally:
        counter_db.conn.close()
    assert _trail(db) == [("kiosk:K01", "ticket.issued", first.number),
                          ("kiosk:K01", "ticket.issued", second.number)]
    assert audit.records(db)[0]["details"] == {"day": first.day, "category": "A",
                                               "source": "online"}
    assert audit.verify(db).ok


def test_a_priority_mark_is_audited_without_its_reason(db, pdb):
    issuer = q.TicketIssuer(db, InProcessHallQueue(pdb, "H0001", "K01"), "H0001", "K01")
    ticket = issuer.issue("A")
    desk = q.CounterDesk(db, InProcessHallQueue(pdb, "H0001", "W02"), 2, ["A"], "S003")
    desk.mark_priority(ticket.number, "行动不便，坐轮椅")
    assert _trail(db)[-1] == ("S003", "ticket.priority", ticket.number)
    assert "轮椅" not in json.dumps(audit.records(db), ensure_ascii=False)


def test_an_offline_ticket_and_a_no_show_are_audited(db, pdb, tmp_path):
    issuer = q.TicketIssuer(db, None, "H0001", "K01")
    ticket = issuer.issue("B")
    assert _trail(db) == [("kiosk:K01", "ticket.issued", ticket.number)]
    assert audit.records(db)[0]["details"]["source"] == "offline"
    online = q.TicketIssuer(db, InProcessHallQueue(pdb, "H0001", "K01"), "H0001", "K01")
    online.push_offline()
    desk = q.CounterDesk(db, InProcessHallQueue(pdb, "H0001", "W01"), 1, ["B"], "S002")
    desk.open()
    desk.call_next()
    desk.no_show()
    assert [a for _, a, _ in _trail(db)] == ["ticket.issued", "ticket.called", "ticket.no_show"]
    assert audit.verify(db).ok


def test_a_ticket_rolled_back_leaves_no_record(db, pdb):
    """The record is in the ticket's transaction: when storing the ticket fails, neither stays."""
    issuer = q.TicketIssuer(db, None, "H0001", "K01")
    db.execute("CREATE TRIGGER no_tickets BEFORE INSERT ON queue_tickets "
               "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(Exception, match="disk full"):
        issuer.issue("A")
    assert audit.records(db) == []
    assert db.execute("SELECT count(*) FROM events WHERE type = 'audit'").fetchone()[0] == 0


def test_an_applications_life_is_audited_by_number_only(db, tmp_path):
    app = file_application(db, CONFIG, "SCJG-XK-001",
                           {"name": "张三", "id_number": "110101199003071234"}, {"shop": "小吃"},
                           [{"material": "身份证", "data": b"scan"}], tmp_path / "blobs")
    decide(db, app.id, "return", "王芳 (S001)", ["营业执照"], "照片模糊")
    decide(db, app.id, "accept", "王芳 (S001)")
    status._store_page(db, [{"id": app.id, "number": app.number, "status": "accepted",
                             "at": "2026-12-07T10:00:00+00:00", "detail": {"by": "李四"}}], "7")
    assert _trail(db) == [("kiosk:K01", "application.filed", app.number),
                          ("S001", "application.returned", app.number),
                          ("S001", "application.accepted", app.number),
                          ("platform", "application.status", app.number)]
    text = json.dumps(audit.records(db), ensure_ascii=False)
    for personal in ("张三", "110101199003071234", "王芳", "照片模糊", "李四", "小吃"):
        assert personal not in text
    assert audit.verify(db).ok


def test_a_decision_by_a_bare_name_is_audited_without_it(db, tmp_path):
    app = file_application(db, CONFIG, "SCJG-XK-001", {"name": "张三"}, {}, [],
                           tmp_path / "blobs")
    decide(db, app.id, "reject", "李四", reason="不属于本事项")
    assert _trail(db)[-1] == ("clerk", "application.rejected", app.number)


# --- roles -------------------------------------------------------------------------------------

def test_roles_clerk_and_admin_and_their_audit_records(db):
    staff.add_staff(db, "S001", "王芳", "2468")
    staff.add_staff(db, "A001", "李主任", "1357", "admin", actor="cli:ops")
    assert [(c.staff_id, c.role) for c in staff.staff_list(db)] == [("A001", "admin"),
                                                                     ("S001", "clerk")]
    assert staff.verify(db, "S001", "2468").role == "clerk"
    assert staff.verify(db, "A001", "1357", role="admin").is_admin
    with pytest.raises(staff.NotAdmin):
        staff.verify(db, "S001", "2468", role="admin", purpose="admin_console")
    # A clerk's right PIN is refused, not counted as a wrong one.
    assert db.execute("SELECT failed FROM staff WHERE staff_id = 'S001'").fetchone()[0] == 0
    staff.set_role(db, "S001", "admin", actor="cli:ops")
    assert staff.verify(db, "S001", "2468", role="admin").is_admin
    assert [(a, act, s) for a, act, s in _trail(db)] == [
        ("admin", "staff.add", "S001"), ("cli:ops", "staff.add", "A001"),
        ("S001", "staff.signin", "S001"), ("A001", "staff.signin", "A001"),
        ("S001", "staff.refused_role", "S001"),
        ("cli:ops", "staff.role_change", "S001"), ("S001", "staff.signin", "S001")]
    refused = audit.records(db)[4]["details"]
    assert refused == {"role": "clerk", "needed": "admin", "purpose": "admin_console"}
    assert "王芳" not in json.dumps(audit.records(db), ensure_ascii=False)
    with pytest.raises(staff.StaffError, match="role"):
        staff.add_staff(db, "S002", "x", "1111", "root")
    with pytest.raises(staff.StaffError, match="no staff member"):
        staff.set_role(db, "S404", "admin")


def test_a_wrong_pin_where_an_admin_is_needed_counts_toward_the_lockout(db):
    staff.add_staff(db, "A001", "李主任", "1357", "admin")
    for _ in range(staff.MAX_FAILURES - 1):
        with pytest.raises(staff.BadPin):
            staff.verify(db, "A001", "0000", role="admin", purpose="kiosk_exit")
    with pytest.raises(staff.LockedOut):
        staff.verify(db, "A001", "0000", role="admin", purpose="kiosk_exit")
    with pytest.raises(staff.LockedOut):
        staff.verify(db, "A001", "1357", role="admin", purpose="kiosk_exit")
    assert audit.records(db)[-1]["details"]["purpose"] == "kiosk_exit"


def test_a_staff_member_changes_their_pin(db):
    staff.add_staff(db, "S001", "王芳", "2468")
    with pytest.raises(staff.BadPin):
        staff.change_pin(db, "S001", "1111", "8642")
    staff.change_pin(db, "S001", "2468", "8642")
    assert staff.verify(db, "S001", "8642").staff_id == "S001"
    with pytest.raises(staff.BadPin):
        staff.verify(db, "S001", "2468")
    assert "staff.pin_change" in [a for _, a, _ in _trail(db)]
    assert "8642" not in json.dumps(audit.records(db))


def test_the_role_column_comes_with_migration_0008_and_old_staff_are_clerks(tmp_path):
    from kiosk.store import MIGRATIONS

    path = tmp_path / "old.db"
    before = [m for m in MIGRATIONS if m[0] < "0008"]
    old = open_store(path, migrations=before)
    old.execute("INSERT INTO staff (staff_id, name, pin_hash, salt, n, r, p, created_at) "
                "VALUES ('S009', 'x', 'h', '00', 2, 8, 1, '2026-01-01')")
    old.conn.close()
    db = open_store(path)
    try:
        assert [(c.staff_id, c.role) for c in staff.staff_list(db)] == [("S009", "clerk")]
    finally:
        db.conn.close()


def test_admin_sync_now_and_cli_staff_commands_are_audited(tmp_path, capsys, monkeypatch):
    from kiosk.__main__ import main
    from kiosk.sync.runner import SyncAgent

    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("2468\n"))
    args = ["--data-dir", str(tmp_path), "admin"]
    assert main([*args, "add-staff", "A001", "--name", "李主任", "--pin-stdin",
                 "--role", "admin"]) == 0
    assert "admin A001" in capsys.readouterr().out
    assert main([*args, "list-staff"]) == 0
    assert capsys.readouterr().out.split()[:2] == ["A001", "admin"]
    assert main([*args, "set-role", "A001", "clerk"]) == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("1111\n8642\n"))
    assert main([*args, "change-pin", "A001", "--pin-stdin"]) == 1  # wrong current PIN
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("2468\n8642\n"))
    assert main([*args, "change-pin", "A001", "--pin-stdin"]) == 0
    with pytest.raises(SystemExit):
        main([*args, "set-role", "A001", "boss"])
    db = open_store(tmp_path / "kiosk.db")
    try:
        SyncAgent(Config(), tmp_path).run_round(db, force=True, actor="A001")
        assert [a for _, a, _ in _trail(db)] == [
            "staff.add", "staff.role_change", "staff.signin_failed", "staff.signin",
            "staff.pin_change", "admin.sync_now"]
        assert staff.verify(db, "A001", "8642").staff_id == "A001"
        assert _trail(db)[0][0].startswith("cli")
        assert audit.verify(db).ok
    finally:
        db.conn.close()
