"""The hall queue's rules (kiosk.queue), a kiosk taking numbers online and from its own block,
a counter's journal, staff PINs, and the server-side core through the in-process twin."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from queue_support import LostAnswers, new_id, platform_db

from kiosk import queue as q
from kiosk import staff
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.store import open_store


@pytest.fixture(autouse=True)
def _midday(midday_in_the_hall):
    """These tests book slots up to 2.5 h ahead (see tests/conftest.py)."""


@pytest.fixture
def pdb(tmp_path):
    db = platform_db(tmp_path)
    yield db
    db.close()


@pytest.fixture
def hall(pdb):
    """The hall queue as kiosk K01 sees it."""
    return InProcessHallQueue(pdb, "H0001", "K01")


def counter(pdb, tmp_path, window: int, categories=("A",), name: str | None = None):
    store = open_store(tmp_path / f"{name or f'w{window}'}.db")
    desk = q.CounterDesk(store, InProcessHallQueue(pdb, "H0001", f"W{window:02d}"), window,
                         categories, "S001")
    desk.open()
    return desk


def now_iso(delta_s: float = 0) -> str:
    return q.iso(datetime.now(UTC) + timedelta(seconds=delta_s))


# --- numbers and rules ----------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "number"), [
    ("a12", "A012"), ("A012", "A012"), (" b7 ", "B007"), ("C1000", "C1000"),
    ("a-k01-3", "A-K01-003"), ("AK01003", "A-K01-003"), ("a k01 3", "A-K01-003"),
    ("A－K01－003", "A-K01-003"),
])
def test_typed_or_scanned_numbers_are_normalised(typed, number):
    assert q.normalise_number(typed) == number


@pytest.mark.parametrize("bad", ["", "12", "AA12", "A-", "A12345", "号码"])
def test_text_that_is_no_number_is_refused(bad):
    with pytest.raises(q.BadNumber):
        q.normalise_number(bad)


def test_offline_numbers_name_their_terminal_and_are_spoken_apart():
    number = q.format_offline_number("B", "k02", 7)
    assert number == "B-K02-007"
    assert q.offline_terminal(number) == "K02"
    assert q.offline_terminal("B007") is None
    assert q.announcement("A012", 3, "zh-Hans") == "请 A012 号到 3 号窗口办理"
    assert q.announcement(number, 5, "en") == "Number B K02 007, please go to window 5."


@pytest.mark.parametrize(("state", "action", "to"), [
    ("waiting", "call", "called"), ("called", "recall", "called"), ("called", "start", "serving"),
    ("called", "finish", "done"), ("serving", "finish", "done"), ("called", "no_show", "no_show"),
    ("serving", "transfer", "transferred"), ("waiting", "priority", "waiting"),
])
def test_allowed_transitions(state, action, to):
    assert q.check_action({"state": state, "number": "A001"}, action) == to


@pytest.mark.parametrize(("state", "action"), [
    ("waiting", "finish"), ("done", "recall"), ("serving", "no_show"), ("no_show", "start"),
    ("transferred", "finish"), ("called", "priority"), ("serving", "recall"),
])
def test_forbidden_transitions_name_the_ticket(state, action):
    with pytest.raises(q.InvalidTransition, match="A001"):
        q.check_action({"state": state, "number": "A001"}, action)


def _t(seq, at, **kw):
    return {"seq": seq, "queue_at": at, "issued_at": at, "category": "A", **kw}


def test_call_order_transfers_then_appointments_at_their_slot_then_priority_then_time():
    """GIVEN waiting tickets of every kind WHEN sorted by the call order THEN a transferred-in
    visitor comes first, then an appointment whose slot has begun, then a priority mark, then
    walk-ins by issue time; an appointment before its slot and a late check-in are walk-ins."""
    now = "2026-12-07T02:00:00.000+00:00"
    tickets = [
        _t(1, "2026-12-07T01:00:00.000+00:00", name="early walk-in"),
        _t(2, "2026-12-07T01:10:00.000+00:00", name="priority", priority=1),
        _t(3, "2026-12-07T01:20:00.000+00:00", name="slot now",
           slot_start="2026-12-07T01:55:00.000+00:00", slot_end="2026-12-07T02:25:00.000+00:00"),
        _t(4, "2026-12-07T01:30:00.000+00:00", name="slot later",
           slot_start="2026-12-07T03:00:00.000+00:00", slot_end="2026-12-07T03:30:00.000+00:00"),
        _t(5, "2026-12-07T01:50:00.000+00:00", name="transferred", transferred_from="x"),
        _t(6, "2026-12-07T01:40:00.000+00:00", name="late for slot",
           slot_start="2026-12-07T01:00:00.000+00:00", slot_end="2026-12-07T01:30:00.000+00:00"),
    ]
    order = [t["name"] for t in sorted(tickets, key=lambda t: q.call_order_key(t, now))]
    assert order == ["transferred", "slot now", "priority", "early walk-in", "slot later",
                     "late for slot"]


def test_estimates_use_the_median_with_a_default_and_a_floor():
    assert q.median_service_s([]) == q.DEFAULT_SERVICE_S
    assert q.median_service_s([100, 200, 900]) == 200
    assert q.median_service_s([1, 2, 3]) == q.MIN_SERVICE_S
    assert q.estimate_wait_s(6, 200, 2) == 600
    assert q.estimate_wait_s(6, 200, 0) == 1200  # no window open yet: as if one were
    assert q.estimate_wait_s(0, 200, 1) == 0


def test_categories_come_from_the_catalog(catalog_db):
    cats = q.categories(catalog_db)
    assert [c.letter for c in cats] == list("ABCDEFGH")
    a = cats[0]
    assert a.name["zh-Hans"] == "登记注册科"
    assert ("SCDJ-XK-001", a.items[0][1]) == a.items[0]
    assert a.items[0][1]["zh-Hans"] == "有限责任公司设立登记"


# --- a kiosk taking numbers ---------------------------------------------------------------------

def test_hall_queue_numbers_per_category_with_people_ahead(db, hall):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    a1, a2, b1 = issuer.issue("A"), issuer.issue("A", item_code="SCDJ-XK-001"), issuer.issue("B")
    assert (a1.number, a2.number, b1.number) == ("A001", "A002", "B001")
    assert (a1.ahead, a2.ahead, b1.ahead) == (0, 1, 0)
    assert a2.estimated_wait_s == q.DEFAULT_SERVICE_S  # no service finished yet today
    assert not a2.offline and a2.item_code == "SCDJ-XK-001"
    row = db.execute("SELECT source, sync_state FROM queue_tickets WHERE number = 'A002'").fetchone()
    assert row == ("online", "held")


def test_offline_kiosk_issues_from_its_block_and_hands_tickets_over_in_time_order(db, hall, pdb,
                                                                                   tmp_path):
    """GIVEN a kiosk whose link is cut WHEN it issues THEN numbers come from its block
    (A-K01-001, …), the visitor is told; WHEN the link returns THEN they join the hall queue
    by issue time, between the tickets other kiosks issued meanwhile."""
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    other = q.TicketIssuer(open_store(tmp_path / "k2.db"),
                           InProcessHallQueue(pdb, "H0001", "K02"), "H0001", "K02")
    def pause() -> None:
        # Issue times are in milliseconds; keep them apart so the order is the issue order.
        time.sleep(0.02)

    issuer.issue("A")                                   # A001, online
    hall.reachable = False
    pause()
    off1 = issuer.issue("A")
    pause()
    mid = other.issue("A")                              # A002 from K02, while K01 is cut off
    pause()
    off2 = issuer.issue("A")
    off_b = issuer.issue("B")
    assert (off1.number, off2.number, off_b.number) == ("A-K01-001", "A-K01-002", "B-K01-001")
    assert off1.offline and off1.approximate
    assert issuer.pending_offline() == 3
    pushed = issuer.push_offline()
    assert pushed.error is not None and pushed.sent == 0 and pushed.pending == 3
    hall.reachable = True
    pushed = issuer.push_offline()
    assert (pushed.sent, pushed.refused, pushed.pending) == (3, [], 0)
    again = issuer.push_offline()
    assert again.sent == 0  # nothing pending: nothing sent twice
    numbers = [t["number"] for t in hall.tickets() if t["category"] == "A"]
    assert numbers == ["A001", "A-K01-001", mid.number, "A-K01-002"]
    assert mid.number == "A002"


def test_offline_tickets_are_stamped_on_the_hall_clock(db, hall):
    """GIVEN a kiosk whose own clock is 10 minutes slow WHEN it issues online once THEN it learns
    the offset, and its offline tickets carry the hall's time."""
    slow = timedelta(minutes=10)
    issuer = q.TicketIssuer(db, hall, "H0001", "K01", clock=lambda: datetime.now(UTC) - slow)
    issuer.issue("A")
    hall.reachable = False
    ticket = issuer.issue("A")
    drift = abs((datetime.fromisoformat(ticket.issued_at) - datetime.now(UTC)).total_seconds())
    assert drift < 5


def test_a_lost_answer_is_merged_and_the_visitor_keeps_the_printed_number(db, pdb):
    """GIVEN an issue request that reached the hall queue but whose answer was lost WHEN the
    kiosk issues from its block instead (same id) and later hands it over THEN the hall queue
    holds one ticket with the number the visitor was printed, and the lost one is gone."""
    lossy = LostAnswers(InProcessHallQueue(pdb, "H0001", "K01"))
    issuer = q.TicketIssuer(db, lossy, "H0001", "K01")
    lossy.lose["issue"] = 1
    ticket = issuer.issue("A")
    assert ticket.number == "A-K01-001"
    before = lossy.tickets()
    assert [t["number"] for t in before] == ["A001"] and before[0]["id"] == ticket.id
    result = issuer.push_offline()
    assert result.sent == 1
    after = lossy.tickets()
    assert [(t["id"], t["number"], t["state"]) for t in after] == [
        (ticket.id, "A-K01-001", "waiting")]


def test_a_lost_answer_called_before_the_merge_is_called_again(db, pdb, tmp_path):
    """GIVEN an issue whose answer was lost (the kiosk printed A-K01-001) WHEN a counter calls
    and finishes the hall's A001 — which nobody holds — before the kiosk hands its ticket over
    THEN after the hand-over the visitor's ticket waits again and is called as A-K01-001."""
    lossy = LostAnswers(InProcessHallQueue(pdb, "H0001", "K01"))
    issuer = q.TicketIssuer(db, lossy, "H0001", "K01")
    lossy.lose["issue"] = 1
    ticket = issuer.issue("A")
    desk = counter(pdb, tmp_path, 1)
    assert desk.call_next().current["number"] == "A001"
    desk.finish()
    issuer.push_offline()
    again = lossy.lookup("A-K01-001")["ticket"]
    assert (again["id"], again["state"], again["window"]) == (ticket.id, "waiting", None)
    assert desk.call_next().current["number"] == "A-K01-001"


def test_after_a_failure_numbers_come_from_the_block_without_waiting(db, pdb):
    hall = InProcessHallQueue(pdb, "H0001", "K01")
    asked: list[str] = []

    class Counting:
        hall_id = "H0001"

        def __getattr__(self, name):
            asked.append(name)
            return getattr(hall, name)

    issuer = q.TicketIssuer(db, Counting(), "H0001", "K01")
    hall.reachable = False
    assert issuer.issue("A").offline and asked == ["issue"]
    assert issuer.issue("A").offline and asked == ["issue"]  # not asked again so soon
    hall.reachable = True
    issuer._down_at -= q.RETRY_AFTER_S  # time passes
    assert issuer.issue("A").number == "A001"
    assert asked == ["issue", "sync_offline", "issue"]


def test_an_offline_ticket_of_another_terminal_is_refused(db, pdb):
    hall = InProcessHallQueue(pdb, "H0001", "K02")
    results = hall.sync_offline([{"id": new_id(), "number": "A-K01-001", "category": "A",
                                  "issued_at": now_iso(), "terminal_id": "K02"}])
    assert results[0]["result"] == "rejected" and results[0]["reason"] == "wrong_terminal"
    results = hall.sync_offline([{"id": new_id(), "number": "B-K02-001", "category": "A",
                                  "issued_at": now_iso(), "terminal_id": "K02"}])
    assert results[0]["reason"] == "bad_number"


def test_a_number_reused_by_a_reset_kiosk_is_refused_not_doubled(pdb):
    hall = InProcessHallQueue(pdb, "H0001", "K01")
    first = {"id": new_id(), "number": "A-K01-001", "category": "A", "issued_at": now_iso(),
             "terminal_id": "K01"}
    assert hall.sync_offline([first])[0]["result"] == "accepted"
    assert hall.sync_offline([first])[0]["result"] == "duplicate"
    reused = {**first, "id": new_id()}
    assert hall.sync_offline([reused])[0] == {"id": reused["id"], "number": "A-K01-001",
                                              "result": "rejected", "reason": "number_taken"}


def test_appointments_check_in_and_are_called_before_walk_ins_at_their_slot(db, hall, pdb,
                                                                           tmp_path):
    hall.add_appointment({"code": "YY-0001", "category": "B", "item_code": "ZLJG-XK-001",
                          "slot_start": now_iso(-60), "slot_end": now_iso(1800)})
    hall.add_appointment({"code": "YY-0002", "category": "B",
                          "slot_start": now_iso(7200), "slot_end": now_iso(9000)})
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    walk_in = issuer.issue("B")
    later = issuer.issue(None, appointment_code="yy-0002")
    booked = issuer.issue(None, appointment_code="YY-0001")
    assert booked.category == "B" and booked.slot_start and booked.ahead == 0
    # Its slot has not begun: it waits like a walk-in, and the booked one now goes first.
    assert later.ahead == 1 and hall.lookup(later.number)["ahead"] == 2
    again = issuer.issue(None, appointment_code="YY-0001")
    assert again.reprint and again.number == booked.number
    with pytest.raises(q.UnknownAppointment):
        issuer.issue(None, appointment_code="NOPE-1234")
    desk = counter(pdb, tmp_path, 2, ("B",))
    called = [desk.call_next().current["number"] for _ in range(3)]
    assert called == [booked.number, walk_in.number, later.number]


def test_an_appointment_for_another_day_is_refused(db, hall):
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    hall.add_appointment({"code": "YY-0003", "category": "A", "slot_start": q.iso(tomorrow),
                          "slot_end": q.iso(tomorrow + timedelta(minutes=30))})
    with pytest.raises(q.AppointmentNotToday):
        q.TicketIssuer(db, hall, "H0001", "K01").issue(None, appointment_code="YY-0003")


def test_appointments_need_the_hall_queue(db, hall):
    hall.reachable = False
    with pytest.raises(q.QueueUnavailable):
        q.TicketIssuer(db, hall, "H0001", "K01").issue(None, appointment_code="YY-0001")


# --- counters -------------------------------------------------------------------------------

def test_counter_calls_finishes_and_serves_by_issue_time(db, hall, pdb, tmp_path):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    numbers = [issuer.issue("A").number for _ in range(3)] + [issuer.issue("B").number]
    desk = counter(pdb, tmp_path, 1, ("A",))
    state = desk.call_next()
    assert state.current["number"] == "A001" and state.current["state"] == "called"
    assert desk.start().current["state"] == "serving"
    assert desk.finish().current is None
    assert desk.call_next().current["number"] == "A002"
    assert desk.recall().current["recalls"] == 1
    assert desk.no_show().current is None
    assert desk.call_next().current["number"] == "A003"
    state = desk.call_next()  # closes A003 as done; only B waits, which window 1 does not serve
    assert state.current is None and state.nothing_waiting
    tickets = {t["number"]: t for t in hall.tickets()}
    assert [tickets[n]["state"] for n in numbers] == ["done", "no_show", "done", "waiting"]
    board = hall.board()
    assert [(c["number"], c["kind"]) for c in board["calls"]] == [
        ("A003", "call"), ("A002", "recall"), ("A002", "call"), ("A001", "call")]


def test_transfer_keeps_the_number_and_goes_before_walk_ins(db, hall, pdb, tmp_path):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    first = issuer.issue("A")
    walk_in = issuer.issue("B")
    desk_a = counter(pdb, tmp_path, 1, ("A",))
    desk_a.call_next()
    state = desk_a.transfer(category="B")
    assert state.current is None
    desk_b = counter(pdb, tmp_path, 2, ("B",))
    called = desk_b.call_next().current
    assert called["number"] == first.number and called["transferred_from"]
    assert desk_b.call_next().current["number"] == walk_in.number
    legs = [t for t in hall.tickets() if t["number"] == first.number]
    assert sorted(t["state"] for t in legs) == ["done", "transferred"]


def test_transfer_to_a_window_only_that_window_calls_it(db, hall, pdb, tmp_path):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    ticket = issuer.issue("A")
    desk1 = counter(pdb, tmp_path, 1, ("A",))
    desk1.call_next()
    desk1.transfer(window=7)
    assert desk1.call_next().current is None  # window 1 serves A but may not call it now
    desk7 = counter(pdb, tmp_path, 7, ("C",))
    assert desk7.call_next().current["number"] == ticket.number


def test_a_clerk_marks_priority_and_the_visitor_is_called_sooner(db, hall, pdb, tmp_path):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    issuer.issue("A")
    elder = issuer.issue("A")
    desk = counter(pdb, tmp_path, 1, ("A",))
    marked = desk.mark_priority("a2", "elderly")
    assert marked["priority"] == 1 and marked["priority_reason"] == "elderly"
    assert hall.lookup(elder.number)["ahead"] == 0
    assert desk.call_next().current["number"] == elder.number
    with pytest.raises(q.InvalidTransition):
        desk.mark_priority(elder.number)  # already called


def test_counter_keeps_serving_offline_and_replays_its_journal_once(db, hall, pdb, tmp_path):
    """GIVEN a counter serving A001 WHEN the link is cut THEN finish and call next are kept in
    order; WHEN it returns THEN they are sent once, in order, and A002 is called."""
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    for _ in range(3):
        issuer.issue("A")
    store = open_store(tmp_path / "w1.db")
    link = InProcessHallQueue(pdb, "H0001", "W01")
    desk = q.CounterDesk(store, link, 1, ["A"], "S001")
    desk.open()
    desk.call_next()
    link.reachable = False
    state = desk.finish()
    assert state.offline and state.pending == 1 and state.current is None
    state = desk.call_next()
    assert state.pending == 2 and state.current is None
    with pytest.raises(q.InvalidTransition):
        desk.recall()  # nobody is at the window now
    link.reachable = True
    state = desk.flush()
    assert (state.offline, state.pending) == (False, 0)
    assert state.current["number"] == "A002"
    tickets = {t["number"]: t for t in hall.tickets()}
    assert tickets["A001"]["state"] == "done" and tickets["A002"]["calls"] == 1
    assert tickets["A003"]["state"] == "waiting"


def test_a_call_whose_answer_was_lost_is_asked_again_not_repeated(db, hall, pdb, tmp_path):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    for _ in range(2):
        issuer.issue("A")
    lossy = LostAnswers(InProcessHallQueue(pdb, "H0001", "W01"))
    desk = q.CounterDesk(open_store(tmp_path / "w1.db"), lossy, 1, ["A"], "S001")
    lossy.lose["call_next"] = 1
    state = desk.call_next()
    assert state.current is None and state.pending == 1  # the call happened; we do not know
    state = desk.flush()
    assert state.current["number"] == "A001"
    tickets = {t["number"]: t for t in hall.tickets()}
    assert tickets["A001"]["calls"] == 1 and tickets["A002"]["state"] == "waiting"


def test_a_refused_action_is_reported_and_the_journal_moves_on(db, hall, pdb, tmp_path):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    issuer.issue("A")
    desk1 = counter(pdb, tmp_path, 1)
    desk1.call_next()
    ticket = desk1.current
    desk1.finish()
    desk2 = counter(pdb, tmp_path, 2)
    desk2.current = ticket  # a stale screen: the ticket is no longer at any window
    state = desk2.no_show()
    assert state.refused and "not at window 2" in state.refused[0]
    assert desk2.pending() == 0


def test_windows_never_call_the_same_ticket_concurrently(db, hall, pdb, tmp_path):
    """GIVEN 200 waiting tickets WHEN 4 windows call next as fast as they can, in threads THEN
    every ticket is called exactly once."""
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    for _ in range(200):
        issuer.issue("A")
    called: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        desk = counter(pdb, tmp_path, n)
        while True:
            current = desk.call_next().current
            if current is None:
                return
            with lock:
                called.append(current["number"])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(called) == 200 and len(set(called)) == 200
    assert all(t["calls"] == 1 and t["state"] == "done" for t in hall.tickets())


def test_estimates_follow_the_days_real_service_times(db, hall, pdb, tmp_path):
    """GIVEN three services of 100, 200 and 600 s and two windows open for A WHEN a number is
    taken with 4 people ahead THEN the estimate is median 200 s × 4 / 2 windows."""
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    for _ in range(3):
        issuer.issue("A")
    base = datetime.now(UTC) - timedelta(hours=1)
    rows = pdb.conn.execute("SELECT id FROM queue_tickets ORDER BY seq").fetchall()
    for (tid,), secs in zip(rows, (100, 200, 600), strict=True):
        pdb.conn.execute("UPDATE queue_tickets SET state = 'done', window = 1, called_at = ?, "
                         "serving_at = ?, finished_at = ? WHERE id = ?",
                         (q.iso(base), q.iso(base), q.iso(base + timedelta(seconds=secs)), tid))
    counter(pdb, tmp_path, 1)
    counter(pdb, tmp_path, 2)
    for _ in range(4):
        issuer.issue("A")
    ticket = issuer.issue("A")
    assert ticket.ahead == 4 and ticket.estimated_wait_s == 400
    board = hall.board()
    a = next(c for c in board["categories"] if c["category"] == "A")
    assert (a["waiting"], a["windows_open"], a["service_s"]) == (5, 2, 200.0)


def test_requests_are_idempotent_and_a_reused_id_is_refused(pdb):
    hall = InProcessHallQueue(pdb, "H0001", "K01")
    rid = new_id()
    first = hall.issue({"request_id": rid, "category": "A"})
    again = hall.issue({"request_id": rid, "category": "A"})
    assert first == again and len(hall.tickets()) == 1
    with pytest.raises(q.QueueRefused) as err:
        hall.issue({"request_id": rid, "category": "B"})
    assert err.value.code == "conflict"


def test_lookup_finds_today_s_ticket(db, hall):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    issuer.issue("A")
    t = issuer.issue("A")
    answer = hall.lookup("a2")
    assert answer["ticket"]["id"] == t.id and answer["ahead"] == 1
    with pytest.raises(q.UnknownTicket):
        hall.lookup("A099")
    with pytest.raises(q.BadNumber):
        hall.lookup("hello")


def test_local_tables_exist_after_migration(db):
    tables = set(db.table_names())
    assert {"queue_tickets", "queue_offline_numbers", "queue_actions", "staff"} <= tables
    assert "0005_queue" in {r[0] for r in db.execute("SELECT name FROM _migrations")}


def test_local_ticket_remembers_what_the_visitor_was_told(db, hall):
    issuer = q.TicketIssuer(db, hall, "H0001", "K01")
    hall.reachable = False
    t = issuer.issue("C")
    local = issuer.local_ticket(t.number)
    assert local["number"] == "C-K01-001" and local["sync_state"] == "pending"
    assert json.loads(db.execute("SELECT answer FROM queue_tickets").fetchone()[0])["offline"]


# --- staff ------------------------------------------------------------------------------------

def test_staff_pins_are_hashed_and_checked(db):
    staff.add_staff(db, "S001", "王芳", "246810")
    row = db.execute("SELECT pin_hash, salt FROM staff").fetchone()
    assert "246810" not in row[0] and len(row[1]) == 32
    assert staff.verify(db, "S001", "246810") == staff.Clerk("S001", "王芳")
    with pytest.raises(staff.BadPin):
        staff.verify(db, "S001", "000000")
    with pytest.raises(staff.BadPin):
        staff.verify(db, "S999", "246810")


def test_five_wrong_pins_lock_the_staff_id(db):
    staff.add_staff(db, "S001", "王芳", "246810")
    now = datetime.now(UTC)
    for _ in range(4):
        with pytest.raises(staff.BadPin):
            staff.verify(db, "S001", "111111", now=now)
    with pytest.raises(staff.LockedOut):
        staff.verify(db, "S001", "111111", now=now)
    with pytest.raises(staff.LockedOut):
        staff.verify(db, "S001", "246810", now=now)  # even the right PIN, while locked
    later = now + staff.LOCKOUT + timedelta(seconds=1)
    assert staff.verify(db, "S001", "246810", now=later).name == "王芳"


@pytest.mark.parametrize(("sid", "pin"), [("S 1", "1234"), ("S1", "12"), ("S1", "12ab")])
def test_bad_staff_records_are_refused(db, sid, pin):
    with pytest.raises(staff.StaffError):
        staff.add_staff(db, sid, "名字", pin)


def test_the_counter_sees_the_application_the_visitor_filed(db, hall, pdb, tmp_path):
    """GIVEN an application on the platform and a ticket that names it WHEN the counter calls
    the ticket THEN the call answer carries the application's number, status and applicant."""
    with pdb.write() as conn:
        conn.execute(
            "INSERT INTO applications (id, hall_id, terminal_id, number, item_code, filed_at, "
            "content_hash, data, status, received_at, updated_at) VALUES (?, 'H0001', 'K01', "
            "'H0001-K01-20261207-0001', 'SCDJ-XK-001', ?, 'x', ?, 'received', ?, ?)",
            (new_id(), now_iso(), json.dumps({"applicant": {"name": "张三"}}), now_iso(),
             now_iso()))
    q.TicketIssuer(db, hall, "H0001", "K01").issue(
        "A", item_code="SCDJ-XK-001", application_no="H0001-K01-20261207-0001")
    state = counter(pdb, tmp_path, 1).call_next()
    assert state.application["number"] == "H0001-K01-20261207-0001"
    assert (state.application["status"], state.application["applicant"]) == ("received", "张三")
