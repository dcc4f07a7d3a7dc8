"""The hall queue over HTTP (kiosk.platform.queue_api + kiosk.queue_client) and the in-process
twin pass the same contract; plus what only HTTP has: tokens bound to a hall, validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from queue_support import free_port, http_queue, http_server, new_id, platform_db

from kiosk import queue as q
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.store import open_store


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One platform database served over HTTP on loopback, with tokens for two halls."""
    db = platform_db(tmp_path_factory.mktemp("hallq"))
    with http_server(db) as url:
        yield {"db": db, "url": url, "admin": db.issue_admin_token(),
               "tokens": {t: db.enroll_terminal(h, t) for h, t in
                          (("H0001", "K01"), ("H0001", "W01"), ("H0001", "W02"),
                           ("H0002", "K09"))}}
    db.close()


@pytest.fixture(params=["twin", "http"])
def make_queue(request, server, tmp_path):
    """``make_queue(terminal, hall)`` → a HallQueue; each test gets a hall of its own."""
    hall_id = f"T{new_id()[:8]}"
    if request.param == "twin":
        db = platform_db(tmp_path, "twin.db")
        yield lambda terminal: InProcessHallQueue(db, hall_id, terminal)
        db.close()
        return
    pdb = server["db"]
    tokens = {}

    def make(terminal: str):
        if terminal not in tokens:
            tokens[terminal] = pdb.enroll_terminal(hall_id, terminal)
        return http_queue(server["url"], tokens[terminal], hall_id)

    yield make


def test_contract_issue_call_serve_and_read(make_queue, tmp_path):
    kiosk = make_queue("K01")
    issuer = q.TicketIssuer(open_store(tmp_path / "k.db"), kiosk, kiosk.hall_id, "K01")
    a1 = issuer.issue("A", item_code="SCDJ-XK-001", lang="en")
    a2 = issuer.issue("A")
    b1 = issuer.issue("B")
    assert (a1.number, a2.number, b1.number, a2.ahead) == ("A001", "A002", "B001", 1)
    desk = q.CounterDesk(open_store(tmp_path / "w.db"), make_queue("W01"), 4, ["A", "B"], "S1")
    opened = desk.open()
    assert opened.current is None and not opened.offline
    state = desk.call_next()
    assert state.current["number"] == "A001" and state.current["window"] == 4
    assert state.current["item_code"] == "SCDJ-XK-001"
    desk.start()
    state = desk.transfer(category="B")
    assert state.current is None
    assert desk.call_next().current["number"] == "A001"  # transferred in: before B001
    assert desk.recall().current["recalls"] == 1
    desk.finish()
    assert desk.call_next().current["number"] == "A002"
    desk.no_show()
    lookup = kiosk.lookup("b1")
    assert lookup["ticket"]["state"] == "waiting" and lookup["ahead"] == 0
    board = kiosk.board()
    assert board["calls"][0]["number"] == "A002" and board["windows"][0]["window"] == 4
    assert {c["category"]: c["waiting"] for c in board["categories"]} == {"A": 0, "B": 1}
    stats = kiosk.stats()
    rows = {(r["scope"], r["key"]): r for r in stats["rows"]}
    assert rows[("all", "")]["tickets"] == 3 and rows[("all", "")]["no_shows"] == 1
    assert rows[("window", "4")]["served"] == 1
    tickets = kiosk.tickets()
    assert [t["number"] for t in tickets].count("A001") == 2  # two legs: transferred, done
    with pytest.raises(q.UnknownTicket):
        kiosk.lookup("Z999")
    with pytest.raises(q.InvalidTransition):
        make_queue("W01").act(4, "finish", new_id(), a2.id)  # a no-show cannot be finished


def test_contract_offline_sync(make_queue, tmp_path):
    kiosk = make_queue("K01")
    ticket = {"id": new_id(), "number": "C-K01-001", "category": "C", "terminal_id": "K01",
              "issued_at": "2026-12-07T01:00:00+00:00", "day": q.hall_day(q.utc_now())}
    assert kiosk.sync_offline([ticket])[0]["result"] == "accepted"
    assert kiosk.sync_offline([ticket])[0]["result"] == "duplicate"
    got = kiosk.lookup("C-K01-001")["ticket"]
    assert got["source"] == "offline" and got["issued_at"] == "2026-12-07T01:00:00.000+00:00"


@pytest.mark.usefixtures("midday_in_the_hall")
def test_contract_appointments(make_queue, tmp_path):
    kiosk = make_queue("K01")
    now = q.utc_now()
    booking = {"code": "YY-0007", "category": "D", "item_code": "JLK-XK-001",
               "slot_start": q.iso(now), "slot_end": q.iso(now + timedelta(minutes=30))}
    booked = kiosk.add_appointment(booking)
    assert booked["day"] == q.hall_day(now) and booked["code"] == "YY-0007"
    assert kiosk.add_appointment(booking) == booked  # the same booking again: no change
    with pytest.raises(q.QueueRefused) as err:
        kiosk.add_appointment({**booking, "category": "E"})
    assert err.value.code == "conflict"
    issuer = q.TicketIssuer(open_store(tmp_path / "k.db"), kiosk, kiosk.hall_id, "K01")
    ticket = issuer.issue(None, appointment_code="yy-0007")
    assert ticket.category == "D" and ticket.slot_start == booking["slot_start"]
    assert issuer.issue(None, appointment_code="YY-0007").reprint


def test_an_empty_slot_is_refused(make_queue):
    start = q.iso(q.utc_now())
    with pytest.raises(q.QueueRefused):
        make_queue("K01").add_appointment({"code": "YY-0007", "category": "D",
                                           "slot_start": start, "slot_end": start})


def test_terminal_tokens_are_bound_to_their_hall(server):
    other_hall = http_queue(server["url"], server["tokens"]["K09"], "H0001")
    with pytest.raises(q.QueueRefused) as err:
        other_hall.issue({"request_id": new_id(), "category": "A"})
    assert err.value.status == 403 and err.value.code == "forbidden"
    admin = http_queue(server["url"], server["admin"], "H0001")
    assert admin.board()["hall_id"] == "H0001"
    with pytest.raises(q.QueueRefused) as err:
        admin.issue({"request_id": new_id(), "category": "A"})
    assert err.value.status == 403
    answer = requests.get(f"{server['url']}/v1/halls/H0001/board", timeout=5)
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/tickets", {"request_id": "not-a-uuid", "category": "A"}, "request_id"),
    ("/tickets", {"request_id": "00000000-0000-0000-0000-000000000001", "category": "AA"},
     "category"),
    ("/tickets", {"request_id": "00000000-0000-0000-0000-000000000001", "category": "A",
                  "window": 3}, "window"),
    ("/windows/0/call", {"request_id": "00000000-0000-0000-0000-000000000001",
                         "categories": ["A"]}, "n"),
    ("/tickets/offline", {"tickets": [{"id": "00000000-0000-0000-0000-000000000001",
                                       "number": "A001", "category": "A",
                                       "issued_at": "2026-12-07T01:00:00+00:00",
                                       "terminal_id": "K01"}]}, "number"),
])
def test_malformed_requests_are_422_naming_the_field(server, path, body, where):
    answer = requests.post(f"{server['url']}/v1/halls/H0001{path}", json=body, timeout=5,
                           headers={"Authorization": f"Bearer {server['tokens']['K01']}"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid" and where in answer.json()["detail"]


def test_the_protocol_document_lists_the_hall_queue(server):
    spec = requests.get(f"{server['url']}/v1/openapi.json", timeout=5).json()
    paths = spec["paths"]
    for path in ("/v1/halls/{hall}/tickets", "/v1/halls/{hall}/tickets/offline",
                 "/v1/halls/{hall}/windows/{n}/call", "/v1/halls/{hall}/windows/{n}/no-show",
                 "/v1/halls/{hall}/windows/{n}/transfer", "/v1/halls/{hall}/board",
                 "/v1/halls/{hall}/stats", "/v1/halls/{hall}/appointments"):
        assert path in paths, path


def test_an_unreachable_hall_queue_is_queue_unavailable(tmp_path):
    dead = http_queue(f"http://127.0.0.1:{free_port()}", "token")
    with pytest.raises(q.QueueUnavailable):
        dead.board()
    issuer = q.TicketIssuer(open_store(tmp_path / "k.db"), dead, "H0001", "K01")
    assert issuer.issue("A").number == "A-K01-001"
