"""The shared hall queue on the platform server: its tables and what each call does.

Each function takes the caller (a Principal), the hall of the path and already-shaped input, and
returns the JSON answer or raises ApiError. Every change is one ``BEGIN IMMEDIATE`` transaction
(PlatformDB.write), so two windows calling at the same instant are served one after the other
and never get the same ticket, and two kiosks never get the same number. Every change is
idempotent by its request UUID: the first answer is stored with a hash of the request and
returned again for a repeat (a different request under a used UUID is ``409 conflict``).

The rules themselves (states, call order, estimates, number formats) are kiosk.queue's; this
module applies them to the hall's tables. kiosk.platform.queue_api puts it on HTTP;
:class:`InProcessHallQueue` offers the same calls in-process (the twin used by screens' tests
and by the contract tests that both implementations pass).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from typing import Any

from kiosk import queue as rules
from kiosk import queue_stats
from kiosk.platform.db import PlatformDB, Principal, now_iso
from kiosk.platform.service import ApiError

RECENT_CALLS = 10
TICKET_COLUMNS = (
    "seq", "id", "hall_id", "day", "number", "category", "item_code", "lang", "issued_at",
    "queue_at", "terminal_id", "source", "state", "window", "window_only", "priority",
    "priority_reason", "appointment_code", "slot_start", "slot_end", "application_no",
    "transferred_from", "called_at", "serving_at", "finished_at", "recalls",
)
_SELECT = f"SELECT {', '.join(TICKET_COLUMNS)} FROM queue_tickets"


def create_queue_tables(conn: sqlite3.Connection) -> None:
    """The hall queue's server-side tables (a migration of the platform database)."""
    statements = [
        # One row per leg of a visit: a transfer closes the row ('transferred') and opens a new
        # one with the same number, so a number is unique among the rows not transferred.
        """CREATE TABLE queue_tickets (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            hall_id TEXT NOT NULL,
            day TEXT NOT NULL,
            number TEXT NOT NULL,
            category TEXT NOT NULL,
            item_code TEXT,
            lang TEXT,
            issued_at TEXT NOT NULL,
            queue_at TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('online', 'offline', 'transfer')),
            state TEXT NOT NULL CHECK (state IN ('waiting', 'called', 'serving', 'done',
                                                 'no_show', 'transferred')),
            window INTEGER,
            window_only INTEGER,
            priority INTEGER NOT NULL DEFAULT 0,
            priority_reason TEXT,
            appointment_code TEXT,
            slot_start TEXT,
            slot_end TEXT,
            application_no TEXT,
            transferred_from TEXT,
            called_at TEXT,
            serving_at TEXT,
            finished_at TEXT,
            recalls INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX queue_tickets_number ON queue_tickets (hall_id, day, number) "
        "WHERE state <> 'transferred'",
        "CREATE INDEX queue_tickets_state ON queue_tickets (hall_id, day, state, category)",
        "CREATE INDEX queue_tickets_window ON queue_tickets (hall_id, window, state)",
        """CREATE TABLE queue_counters (
            hall_id TEXT NOT NULL,
            day TEXT NOT NULL,
            category TEXT NOT NULL,
            last INTEGER NOT NULL,
            PRIMARY KEY (hall_id, day, category)
        )""",
        """CREATE TABLE queue_requests (
            request_id TEXT PRIMARY KEY,
            hall_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            answer TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE queue_windows (
            hall_id TEXT NOT NULL,
            window INTEGER NOT NULL,
            categories TEXT NOT NULL,
            is_open INTEGER NOT NULL,
            staff TEXT,
            terminal_id TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (hall_id, window)
        )""",
        # Every call and recall, for the hall board and its announcements (seq only grows).
        """CREATE TABLE queue_calls (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            hall_id TEXT NOT NULL,
            day TEXT NOT NULL,
            ticket_id TEXT NOT NULL,
            number TEXT NOT NULL,
            category TEXT NOT NULL,
            window INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('call', 'recall')),
            at TEXT NOT NULL
        )""",
        "CREATE INDEX queue_calls_hall ON queue_calls (hall_id, day, seq)",
        """CREATE TABLE queue_appointments (
            hall_id TEXT NOT NULL,
            code TEXT NOT NULL,
            category TEXT NOT NULL,
            item_code TEXT,
            name TEXT,
            slot_start TEXT NOT NULL,
            slot_end TEXT NOT NULL,
            day TEXT NOT NULL,
            ticket_id TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (hall_id, code)
        )""",
    ]
    for sql in statements:
        conn.execute(sql)


# --- helpers --------------------------------------------------------------------------------------

def _check_hall(who: Principal, hall: str, *, write: bool = True) -> None:
    if who.role == "terminal":
        if who.hall_id != hall:
            raise ApiError(403, "forbidden", f"this terminal belongs to hall {who.hall_id}, "
                           f"not {hall}")
        return
    if write:
        raise ApiError(403, "forbidden", "the hall queue is changed by terminal tokens only "
                       "(kiosks, counters); admin tokens may read it and book appointments")


def _ticket(row: tuple | None) -> dict | None:
    if row is None:
        return None
    return dict(zip(TICKET_COLUMNS, row, strict=True))


def _hash(kind: str, body: dict) -> str:
    text = json.dumps([kind, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _replay(conn: sqlite3.Connection, hall: str, request_id: str, kind: str,
            body: dict) -> dict | None:
    """The stored answer of a request seen before, or None for a new one."""
    try:
        uuid.UUID(request_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ApiError(422, "invalid", f"request_id {request_id!r} is not a UUID") from exc
    row = conn.execute("SELECT hall_id, kind, request_hash, answer FROM queue_requests "
                       "WHERE request_id = ?", (request_id,)).fetchone()
    if row is None:
        return None
    if row[0] != hall or row[1] != kind or row[2] != _hash(kind, body):
        raise ApiError(409, "conflict", f"request_id {request_id} was already used for "
                       "another request; make a new UUID for a new request")
    return json.loads(row[3])


def _remember(conn: sqlite3.Connection, hall: str, request_id: str, kind: str, body: dict,
              answer: dict, now: str) -> dict:
    conn.execute("INSERT INTO queue_requests (request_id, hall_id, kind, request_hash, answer, "
                 "at) VALUES (?, ?, ?, ?, ?, ?)",
                 (request_id, hall, kind, _hash(kind, body),
                  json.dumps(answer, ensure_ascii=False), now))
    return answer


def _by_id(conn: sqlite3.Connection, hall: str, ticket_id: str) -> dict | None:
    return _ticket(conn.execute(f"{_SELECT} WHERE id = ? AND hall_id = ?",
                                (ticket_id, hall)).fetchone())


def _by_number(conn: sqlite3.Connection, hall: str, day: str, number: str) -> dict | None:
    return _ticket(conn.execute(f"{_SELECT} WHERE hall_id = ? AND day = ? AND number = ? "
                                "AND state <> 'transferred'", (hall, day, number)).fetchone())


def _waiting(conn: sqlite3.Connection, hall: str, day: str) -> list[dict]:
    rows = conn.execute(f"{_SELECT} WHERE hall_id = ? AND day = ? AND state = 'waiting'",
                        (hall, day)).fetchall()
    return [_ticket(r) for r in rows]  # type: ignore[misc]


def _open_windows(conn: sqlite3.Connection, hall: str) -> list[tuple[int, list[str]]]:
    rows = conn.execute("SELECT window, categories FROM queue_windows WHERE hall_id = ? AND "
                        "is_open = 1 ORDER BY window", (hall,)).fetchall()
    return [(int(n), json.loads(c)) for n, c in rows]


def _service_s(conn: sqlite3.Connection, hall: str, day: str, category: str) -> float:
    """Median service time of the day in the category; else of the whole hall; else default."""
    rows = conn.execute(f"{_SELECT} WHERE hall_id = ? AND day = ? AND state IN "
                        "('done', 'transferred')", (hall, day)).fetchall()
    legs = [_ticket(r) for r in rows]
    mine = [rules.service_seconds(t) for t in legs if t and t["category"] == category]
    mine = [s for s in mine if s is not None]
    if mine:
        return rules.median_service_s(mine)
    return rules.median_service_s([s for t in legs if t and (s := rules.service_seconds(t))
                                   is not None])


def _figures(conn: sqlite3.Connection, hall: str, day: str, category: str) -> tuple[float, int]:
    service = _service_s(conn, hall, day, category)
    windows = sum(1 for _, cats in _open_windows(conn, hall) if category in cats)
    return service, windows


def _position(conn: sqlite3.Connection, ticket: dict, now: str,
              figures: tuple[float, int] | None = None) -> tuple[int, int | None]:
    """People ahead of a waiting ticket (in its category or its window) and the wait."""
    if ticket["state"] != "waiting":
        return 0, None
    mine = rules.call_order_key(ticket, now)
    peers = [t for t in _waiting(conn, ticket["hall_id"], ticket["day"])
             if t["id"] != ticket["id"] and (
                 t["window_only"] == ticket["window_only"] if ticket["window_only"]
                 else t["category"] == ticket["category"] and not t["window_only"])]
    ahead = sum(1 for t in peers if rules.call_order_key(t, now) < mine)
    service, windows = figures or _figures(conn, ticket["hall_id"], ticket["day"],
                                           ticket["category"])
    return ahead, rules.estimate_wait_s(ahead, service, 1 if ticket["window_only"] else windows)


def _application(conn: sqlite3.Connection, hall: str, number: str | None) -> dict | None:
    """The application a ticket names (filed by the visitor before taking the number)."""
    if not number:
        return None
    try:
        row = conn.execute("SELECT id, number, item_code, status, filed_at, data FROM "
                           "applications WHERE hall_id = ? AND number = ?",
                           (hall, number)).fetchone()
    except sqlite3.OperationalError:  # a server without the applications table
        return None
    if row is None:
        return {"number": number, "status": "unknown"}
    data = json.loads(row[5])
    applicant = data.get("applicant") or {}
    return {"id": row[0], "number": row[1], "item_code": row[2], "status": row[3],
            "filed_at": row[4], "applicant": applicant.get("name", "")}


def _check_category(category: Any) -> str:
    if not isinstance(category, str) or not rules.CATEGORY_PATTERN.match(category):
        raise ApiError(422, "invalid", f"category {category!r} must be one capital letter")
    return category


def _check_window(n: Any) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 999:
        raise ApiError(422, "invalid", f"window {n!r} must be a number from 1 to 999")
    return n


# --- issuing --------------------------------------------------------------------------------------

def issue(db: PlatformDB, who: Principal, hall: str, body: dict) -> dict:
    """A new number (or, for an appointment already checked in, its ticket again)."""
    _check_hall(who, hall)
    category = body.get("category")
    if not body.get("appointment_code"):
        _check_category(category)
    request_id = body.get("request_id", "")
    with db.write() as conn:
        again = _replay(conn, hall, request_id, "issue", body)
        if again is not None:
            return again
        now = now_iso()
        day = rules.hall_day(now)
        slot_start = slot_end = None
        code = body.get("appointment_code")
        if code:
            appt = _appointment(conn, hall, code, day)
            if appt["ticket_id"]:
                existing = _by_id(conn, hall, appt["ticket_id"])
                if existing is not None:
                    answer = _issue_answer(conn, existing, now, reprint=True)
                    return _remember(conn, hall, request_id, "issue", body, answer, now)
            category, slot_start, slot_end = appt["category"], appt["slot_start"], appt["slot_end"]
        seq = conn.execute(
            "INSERT INTO queue_counters (hall_id, day, category, last) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (hall_id, day, category) DO UPDATE SET last = queue_counters.last + 1 "
            "RETURNING last", (hall, day, category)).fetchone()[0]
        number = rules.format_number(category, seq)
        conn.execute(
            "INSERT INTO queue_tickets (id, hall_id, day, number, category, item_code, lang, "
            "issued_at, queue_at, terminal_id, source, state, appointment_code, slot_start, "
            "slot_end, application_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'online', "
            "'waiting', ?, ?, ?, ?)",
            (request_id, hall, day, number, category, body.get("item_code"), body.get("lang"),
             now, now, who.terminal_id, code, slot_start, slot_end, body.get("application_no")))
        if code:
            conn.execute("UPDATE queue_appointments SET ticket_id = ? WHERE hall_id = ? AND "
                         "code = ?", (request_id, hall, code))
        ticket = _by_id(conn, hall, request_id)
        answer = _issue_answer(conn, ticket, now)  # type: ignore[arg-type]
        return _remember(conn, hall, request_id, "issue", body, answer, now)


def _issue_answer(conn: sqlite3.Connection, ticket: dict, now: str,
                  reprint: bool = False) -> dict:
    service, windows = _figures(conn, ticket["hall_id"], ticket["day"], ticket["category"])
    ahead, wait = _position(conn, ticket, now, (service, windows))
    return {"ticket": ticket, "ahead": ahead, "estimated_wait_s": wait,
            "service_s": round(service, 1), "windows": windows, "now": now,
            "reprint": reprint}


def _appointment(conn: sqlite3.Connection, hall: str, code: str, day: str) -> dict:
    row = conn.execute("SELECT category, slot_start, slot_end, day, ticket_id FROM "
                       "queue_appointments WHERE hall_id = ? AND code = ?",
                       (hall, code.strip().upper())).fetchone()
    if row is None:
        raise ApiError(404, "unknown_appointment", f"no appointment {code} in hall {hall}")
    if row[3] != day:
        raise ApiError(409, "appointment_not_today", f"appointment {code} is for {row[3]}, "
                       f"today is {day}")
    return {"category": row[0], "slot_start": row[1], "slot_end": row[2], "ticket_id": row[4]}


def sync_offline(db: PlatformDB, who: Principal, hall: str, tickets: list[dict]) -> list[dict]:
    """Tickets a kiosk issued from its own block while it could not reach the hall queue.

    They join in issue-time order (``queue_at`` = their issue time). Per ticket: ``accepted``,
    ``duplicate`` (sent before), ``merged`` (the kiosk's online request had reached us but its
    answer was lost: the ticket keeps the number the visitor holds) or ``rejected`` with a
    reason (``wrong_terminal``, ``bad_number``, ``number_taken``).
    """
    _check_hall(who, hall)
    results = []
    with db.write() as conn:
        for t in tickets:
            results.append(_sync_one(conn, who, hall, t))
    return results


def _sync_one(conn: sqlite3.Connection, who: Principal, hall: str, t: dict) -> dict:
    tid, number = t["id"], t["number"]

    def refuse(reason: str) -> dict:
        return {"id": tid, "number": number, "result": "rejected", "reason": reason}

    owner = rules.offline_terminal(number)
    if owner is None or number[0] != t["category"]:
        return refuse("bad_number")
    if t["terminal_id"].upper() != (who.terminal_id or "").upper() or \
            owner != (who.terminal_id or "").upper():
        return refuse("wrong_terminal")
    issued_at = rules.norm_time(t["issued_at"])
    day = t.get("day") or rules.hall_day(issued_at)
    existing = _by_id(conn, hall, tid)
    if existing is not None:
        if existing["number"] == number:
            return {"id": tid, "number": number, "result": "duplicate", "reason": None}
        if existing["source"] != "online" or existing["terminal_id"] != who.terminal_id:
            return refuse("conflict")
        # Our answer to the online request never reached the kiosk: nobody holds the number we
        # gave, so the ticket takes the one the visitor was printed. Whatever happened to it
        # under the old number (called, even "served") happened to nobody: it waits again, to
        # be called under the number its visitor holds.
        reset = existing["state"] != "waiting"
        conn.execute(
            "UPDATE queue_tickets SET number = ?, source = 'offline', issued_at = ?, "
            "queue_at = ?, state = CASE WHEN ? THEN 'waiting' ELSE state END, "
            "window = CASE WHEN ? THEN NULL ELSE window END, "
            "called_at = CASE WHEN ? THEN NULL ELSE called_at END, "
            "serving_at = CASE WHEN ? THEN NULL ELSE serving_at END, "
            "finished_at = CASE WHEN ? THEN NULL ELSE finished_at END WHERE id = ?",
            (number, issued_at, issued_at, reset, reset, reset, reset, reset, tid))
        return {"id": tid, "number": number, "result": "merged", "reason": None}
    if _by_number(conn, hall, day, number) is not None:
        return refuse("number_taken")
    slot_start = slot_end = None
    code = t.get("appointment_code")
    if code:
        try:
            appt = _appointment(conn, hall, code, day)
        except ApiError:
            appt = None  # an unknown code makes it a walk-in ticket, as the kiosk printed it
        if appt and not appt["ticket_id"]:
            slot_start, slot_end = appt["slot_start"], appt["slot_end"]
            conn.execute("UPDATE queue_appointments SET ticket_id = ? WHERE hall_id = ? AND "
                         "code = ?", (tid, hall, code))
    conn.execute(
        "INSERT INTO queue_tickets (id, hall_id, day, number, category, item_code, lang, "
        "issued_at, queue_at, terminal_id, source, state, appointment_code, slot_start, "
        "slot_end, application_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'offline', 'waiting', "
        "?, ?, ?, ?)",
        (tid, hall, day, number, t["category"], t.get("item_code"), t.get("lang"), issued_at,
         issued_at, who.terminal_id, code, slot_start, slot_end, t.get("application_no")))
    return {"id": tid, "number": number, "result": "accepted", "reason": None}


# --- windows and calls ----------------------------------------------------------------------------

def _window_current(conn: sqlite3.Connection, hall: str, n: int) -> dict | None:
    return _ticket(conn.execute(f"{_SELECT} WHERE hall_id = ? AND window = ? AND state IN "
                                "('called', 'serving') ORDER BY seq DESC LIMIT 1",
                                (hall, n)).fetchone())


def _upsert_window(conn: sqlite3.Connection, who: Principal, hall: str, n: int,
                   categories: list[str], staff: str | None, is_open: bool, now: str) -> None:
    conn.execute(
        "INSERT INTO queue_windows (hall_id, window, categories, is_open, staff, terminal_id, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hall_id, window) DO UPDATE SET "
        "categories = excluded.categories, is_open = excluded.is_open, "
        "staff = COALESCE(excluded.staff, queue_windows.staff), "
        "terminal_id = excluded.terminal_id, updated_at = excluded.updated_at",
        (hall, n, json.dumps(sorted(set(categories))), 1 if is_open else 0, staff,
         who.terminal_id, now))


def open_window(db: PlatformDB, who: Principal, hall: str, n: int, body: dict) -> dict:
    """Sign a window in or out with the categories it serves; answers its current ticket."""
    _check_hall(who, hall)
    _check_window(n)
    categories = [_check_category(c) for c in body.get("categories", [])]
    with db.write() as conn:
        now = now_iso()
        _upsert_window(conn, who, hall, n, categories, body.get("staff"),
                       bool(body.get("open", True)), now)
        current = _window_current(conn, hall, n)
        return {"window": n, "open": bool(body.get("open", True)), "categories": categories,
                "current": current,
                "application": _application(conn, hall, current and current["application_no"])}


def window_state(db: PlatformDB, who: Principal, hall: str, n: int) -> dict:
    _check_hall(who, hall, write=False)
    with db.read() as conn:
        row = conn.execute("SELECT categories, is_open, staff FROM queue_windows WHERE "
                           "hall_id = ? AND window = ?", (hall, n)).fetchone()
        current = _window_current(conn, hall, n)
        return {"window": n, "open": bool(row and row[1]),
                "categories": json.loads(row[0]) if row else [], "current": current,
                "application": _application(conn, hall, current and current["application_no"])}


def call_next(db: PlatformDB, who: Principal, hall: str, n: int, body: dict) -> dict:
    """Finish the window's current visitor (done) and call the next one it may serve."""
    _check_hall(who, hall)
    _check_window(n)
    categories = [_check_category(c) for c in body.get("categories", [])]
    request_id = body.get("request_id", "")
    with db.write() as conn:
        again = _replay(conn, hall, request_id, "call", {**body, "window": n})
        if again is not None:
            return again
        now = now_iso()
        day = rules.hall_day(now)
        _upsert_window(conn, who, hall, n, categories, None, True, now)
        conn.execute("UPDATE queue_tickets SET state = 'done', finished_at = ? WHERE "
                     "hall_id = ? AND window = ? AND state IN ('called', 'serving')",
                     (now, hall, n))
        candidates = [t for t in _waiting(conn, hall, day) if rules.serves(t, n, categories)]
        if not candidates:
            answer: dict = {"ticket": None, "application": None, "now": now}
            return _remember(conn, hall, request_id, "call", {**body, "window": n}, answer, now)
        chosen = min(candidates, key=lambda t: rules.call_order_key(t, now))
        conn.execute("UPDATE queue_tickets SET state = 'called', window = ?, called_at = ? "
                     "WHERE id = ? AND state = 'waiting'", (n, now, chosen["id"]))
        conn.execute("INSERT INTO queue_calls (hall_id, day, ticket_id, number, category, "
                     "window, kind, at) VALUES (?, ?, ?, ?, ?, ?, 'call', ?)",
                     (hall, day, chosen["id"], chosen["number"], chosen["category"], n, now))
        ticket = _by_id(conn, hall, chosen["id"])
        answer = {"ticket": ticket, "now": now,
                  "application": _application(conn, hall, chosen["application_no"])}
        return _remember(conn, hall, request_id, "call", {**body, "window": n}, answer, now)


ACTS = ("recall", "start", "finish", "no_show", "transfer")


def act(db: PlatformDB, who: Principal, hall: str, n: int, action: str, body: dict) -> dict:
    """recall / start / finish / no_show / transfer the window's ticket ``body.ticket_id``."""
    _check_hall(who, hall)
    _check_window(n)
    if action not in ACTS:
        raise ApiError(404, "not_found", f"no window action {action!r}; one of {', '.join(ACTS)}")
    request_id = body.get("request_id", "")
    key_body = {**body, "window": n}
    with db.write() as conn:
        again = _replay(conn, hall, request_id, action, key_body)
        if again is not None:
            return again
        now = now_iso()
        ticket = _by_id(conn, hall, body.get("ticket_id", ""))
        if ticket is None:
            raise ApiError(404, "unknown_ticket", f"no ticket {body.get('ticket_id')} in {hall}")
        if ticket["window"] != n:
            raise ApiError(409, "invalid_transition", f"ticket {ticket['number']} is not at "
                           f"window {n}" + (f" but at {ticket['window']}" if ticket["window"]
                                            else ""))
        try:
            rules.check_action(ticket, action)
        except rules.InvalidTransition as exc:
            raise ApiError(409, "invalid_transition", str(exc)) from exc
        answer: dict = {"now": now}
        if action == "recall":
            conn.execute("UPDATE queue_tickets SET recalls = recalls + 1 WHERE id = ?",
                         (ticket["id"],))
            conn.execute("INSERT INTO queue_calls (hall_id, day, ticket_id, number, category, "
                         "window, kind, at) VALUES (?, ?, ?, ?, ?, ?, 'recall', ?)",
                         (hall, ticket["day"], ticket["id"], ticket["number"],
                          ticket["category"], n, now))
        elif action == "start":
            conn.execute("UPDATE queue_tickets SET state = 'serving', serving_at = ? "
                         "WHERE id = ?", (now, ticket["id"]))
        elif action in ("finish", "no_show"):
            conn.execute("UPDATE queue_tickets SET state = ?, finished_at = ? WHERE id = ?",
                         ("done" if action == "finish" else "no_show", now, ticket["id"]))
        else:
            answer["transferred_to"] = _transfer(conn, ticket, body, now)
        answer["ticket"] = _by_id(conn, hall, ticket["id"])
        return _remember(conn, hall, request_id, action, key_body, answer, now)


def _transfer(conn: sqlite3.Connection, ticket: dict, body: dict, now: str) -> dict:
    category = body.get("category") or ticket["category"]
    _check_category(category)
    to_window = body.get("to_window")
    if to_window is not None:
        _check_window(to_window)
    if category == ticket["category"] and to_window is None:
        raise ApiError(422, "invalid", "a transfer needs another category or a window")
    conn.execute("UPDATE queue_tickets SET state = 'transferred', finished_at = ? WHERE id = ?",
                 (now, ticket["id"]))
    new_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO queue_tickets (id, hall_id, day, number, category, item_code, lang, "
        "issued_at, queue_at, terminal_id, source, state, window_only, priority, "
        "priority_reason, application_no, transferred_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, 'transfer', 'waiting', ?, ?, ?, ?, ?)",
        (new_id, ticket["hall_id"], ticket["day"], ticket["number"], category,
         ticket["item_code"], ticket["lang"], ticket["issued_at"], now, ticket["terminal_id"],
         to_window, ticket["priority"], ticket["priority_reason"], ticket["application_no"],
         ticket["id"]))
    return _by_id(conn, ticket["hall_id"], new_id)  # type: ignore[return-value]


def mark_priority(db: PlatformDB, who: Principal, hall: str, number: str, body: dict) -> dict:
    """A clerk marks a waiting visitor (elderly, disabled, …) to be called before walk-ins."""
    _check_hall(who, hall)
    try:
        number = rules.normalise_number(number)
    except rules.BadNumber as exc:
        raise ApiError(422, "bad_number", str(exc)) from exc
    request_id = body.get("request_id", "")
    with db.write() as conn:
        again = _replay(conn, hall, request_id, "priority", {**body, "number": number})
        if again is not None:
            return again
        now = now_iso()
        ticket = _by_number(conn, hall, rules.hall_day(now), number)
        if ticket is None:
            raise ApiError(404, "unknown_ticket", f"no ticket {number} today in {hall}")
        try:
            rules.check_action(ticket, "priority")
        except rules.InvalidTransition as exc:
            raise ApiError(409, "invalid_transition", str(exc)) from exc
        conn.execute("UPDATE queue_tickets SET priority = 1, priority_reason = ? WHERE id = ?",
                     (body.get("reason") or "priority", ticket["id"]))
        answer = {"ticket": _by_id(conn, hall, ticket["id"]), "now": now}
        return _remember(conn, hall, request_id, "priority", {**body, "number": number},
                         answer, now)


# --- reading ----------------------------------------------------------------------------------------

def lookup(db: PlatformDB, who: Principal, hall: str, number: str) -> dict:
    """Where a visitor's ticket stands today: state, people ahead, wait, window when called."""
    _check_hall(who, hall, write=False)
    try:
        number = rules.normalise_number(number)
    except rules.BadNumber as exc:
        raise ApiError(422, "bad_number", str(exc)) from exc
    with db.read() as conn:
        now = now_iso()
        ticket = _by_number(conn, hall, rules.hall_day(now), number)
        if ticket is None:
            raise ApiError(404, "unknown_ticket", f"no ticket {number} today in {hall}")
        ahead, wait = _position(conn, ticket, now)
        return {"ticket": ticket, "ahead": ahead, "estimated_wait_s": wait, "now": now}


def board(db: PlatformDB, who: Principal, hall: str, calls: int = RECENT_CALLS) -> dict:
    """The hall board: recent calls (newest first), windows, and who waits per category."""
    _check_hall(who, hall, write=False)
    with db.read() as conn:
        now = now_iso()
        day = rules.hall_day(now)
        recent = [dict(zip(("seq", "ticket_id", "number", "category", "window", "kind", "at"), r,
                           strict=True))
                  for r in conn.execute(
                      "SELECT seq, ticket_id, number, category, window, kind, at FROM "
                      "queue_calls WHERE hall_id = ? AND day = ? ORDER BY seq DESC LIMIT ?",
                      (hall, day, calls)).fetchall()]
        windows = []
        for n, cats in _open_windows(conn, hall):
            current = _window_current(conn, hall, n)
            windows.append({"window": n, "categories": cats,
                            "current": current and current["number"],
                            "state": current and current["state"]})
        waiting = _waiting(conn, hall, day)
        letters = sorted({t["category"] for t in waiting} |
                         {c for _, cats in _open_windows(conn, hall) for c in cats})
        categories = []
        for letter in letters:
            count = sum(1 for t in waiting if t["category"] == letter and not t["window_only"])
            service, open_n = _figures(conn, hall, day, letter)
            categories.append({"category": letter, "waiting": count, "windows_open": open_n,
                               "service_s": round(service, 1),
                               "estimated_wait_s": rules.estimate_wait_s(count, service, open_n)})
        last = conn.execute("SELECT MAX(seq) FROM queue_calls WHERE hall_id = ?",
                            (hall,)).fetchone()[0]
        return {"hall_id": hall, "day": day, "now": now, "seq": last or 0, "calls": recent,
                "windows": windows, "categories": categories}


def tickets_of_day(db: PlatformDB, who: Principal, hall: str, day: str | None = None) -> dict:
    """Every ticket (leg) of a day in issue-time order, with every call made of each."""
    _check_hall(who, hall, write=False)
    with db.read() as conn:
        day = day or rules.hall_day(now_iso())
        rows = conn.execute(f"{_SELECT} WHERE hall_id = ? AND day = ? ORDER BY issued_at, seq",
                            (hall, day)).fetchall()
        calls: dict[str, int] = {}
        for tid, n in conn.execute("SELECT ticket_id, COUNT(*) FROM queue_calls WHERE "
                                   "hall_id = ? AND day = ? AND kind = 'call' GROUP BY ticket_id",
                                   (hall, day)).fetchall():
            calls[tid] = n
        tickets = [{**t, "calls": calls.get(t["id"], 0)} for r in rows if (t := _ticket(r))]
        return {"day": day, "tickets": tickets}


def stats(db: PlatformDB, who: Principal, hall: str, day: str | None = None) -> dict:
    """Per day, category and window: tickets, served, no-shows, wait and service times."""
    data = tickets_of_day(db, who, hall, day)
    rows = queue_stats.compute(data["tickets"], data["day"])
    return {"day": data["day"], "rows": [r.as_dict() for r in rows]}


def add_appointment(db: PlatformDB, who: Principal, hall: str, body: dict) -> tuple[bool, dict]:
    """Book a slot (by the online booking system). Returns (created, appointment)."""
    _check_hall(who, hall, write=False)
    code = str(body.get("code", "")).strip().upper()
    if not rules.APPOINTMENT_CODE.match(code):
        raise ApiError(422, "invalid", f"appointment code {code!r}: 4-32 of A-Z, 0-9 and -")
    category = _check_category(body.get("category"))
    try:
        start, end = rules.norm_time(body["slot_start"]), rules.norm_time(body["slot_end"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ApiError(422, "invalid", "slot_start and slot_end must be ISO 8601 times") from exc
    if end <= start:
        raise ApiError(422, "invalid", "slot_end must be after slot_start")
    record = {"code": code, "category": category, "item_code": body.get("item_code"),
              "name": body.get("name"), "slot_start": start, "slot_end": end,
              "day": rules.hall_day(start)}
    with db.write() as conn:
        row = conn.execute("SELECT category, item_code, name, slot_start, slot_end FROM "
                           "queue_appointments WHERE hall_id = ? AND code = ?",
                           (hall, code)).fetchone()
        if row is not None:
            if tuple(row) == (category, record["item_code"], record["name"], start, end):
                return False, record
            raise ApiError(409, "conflict", f"appointment {code} is already booked differently")
        conn.execute("INSERT INTO queue_appointments (hall_id, code, category, item_code, name, "
                     "slot_start, slot_end, day, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (hall, code, category, record["item_code"], record["name"], start, end,
                      record["day"], now_iso()))
    return True, record


# --- the in-process twin ----------------------------------------------------------------------

class InProcessHallQueue:
    """kiosk.queue.HallQueue over a PlatformDB in this process: the same calls and answers as
    kiosk.queue_client.HttpHallQueue, without HTTP (screens' tests, the contract tests)."""

    def __init__(self, db: PlatformDB, hall_id: str, terminal_id: str) -> None:
        self.db = db
        self.hall_id = hall_id
        self.who = Principal("terminal", hall_id, terminal_id)
        self.reachable = True  # False: behave like a cut link (QueueUnavailable)

    def _run(self, fn: Any, *args: Any) -> Any:
        if not self.reachable:
            raise rules.QueueUnavailable("the hall queue cannot be reached (link cut)")
        try:
            return fn(self.db, self.who, self.hall_id, *args)
        except ApiError as exc:
            raise rules.error_from(exc.status, exc.code, exc.detail) from exc

    def issue(self, request: dict) -> dict:
        return self._run(issue, request)

    def sync_offline(self, tickets: list[dict]) -> list[dict]:
        return self._run(sync_offline, tickets)

    def open_window(self, window: int, categories: list[str], staff: str,
                    open_: bool = True) -> dict:
        return self._run(open_window, window, {"categories": categories, "staff": staff,
                                               "open": open_})

    def call_next(self, window: int, request_id: str, categories: list[str]) -> dict:
        return self._run(call_next, window, {"request_id": request_id,
                                             "categories": categories})

    def act(self, window: int, action: str, request_id: str, ticket_id: str,
            **extra: Any) -> dict:
        body = {"request_id": request_id, "ticket_id": ticket_id,
                **{k: v for k, v in extra.items() if v is not None}}
        return self._run(act, window, action, body)

    def mark_priority(self, number: str, request_id: str, reason: str) -> dict:
        return self._run(mark_priority, number, {"request_id": request_id, "reason": reason})

    def lookup(self, number: str) -> dict:
        return self._run(lookup, number)

    def board(self) -> dict:
        return self._run(board)

    def tickets(self, day: str | None = None) -> list[dict]:
        return self._run(tickets_of_day, day)["tickets"]

    def stats(self, day: str | None = None) -> dict:
        return self._run(stats, day)

    def add_appointment(self, appointment: dict) -> dict:
        return self._run(add_appointment, appointment)[1]
