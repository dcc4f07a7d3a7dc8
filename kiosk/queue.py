"""The hall queue's rules, and a terminal's own part of it (no Qt, no HTTP).

Shared by the platform server (kiosk.platform.hall_queue applies these rules to the hall's one
queue) and by the terminals:

* numbers: ``A001`` … per hall, day and category letter, given out by the hall queue; a kiosk
  that cannot reach it issues from its own block ``A-K01-001`` (its terminal id inside the
  number), so no number is ever given twice, with or without a network;
* states: waiting → called → serving → done / no_show / transferred (:data:`ACTIONS`);
* call order (:func:`call_order_key`): transferred-in visitors first, then appointments whose
  slot has come, then tickets a clerk marked priority (elderly, disabled), then everyone by issue
  time;
* estimates (:func:`estimate_wait_s`): median of the day's real service times × people ahead /
  open windows serving the category, with :data:`DEFAULT_SERVICE_S` before the first service;
* :class:`TicketIssuer`: a kiosk takes a number from the hall queue, or from its block when the
  hall queue is unreachable, and later hands those tickets over (:meth:`TicketIssuer.push_offline`);
* :class:`CounterDesk`: a window's clerk actions, journaled in the store and sent in order, each
  with its own request UUID, so a lost answer is asked again and never acted on twice.

The local tables live in migration ``0005_queue`` (kiosk.store).
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlite_utils

from kiosk import audit
from kiosk.store import get_setting, set_setting

log = logging.getLogger(__name__)

STATES = ("waiting", "called", "serving", "done", "no_show", "transferred")
#: a counter's action → its audit record's action (kiosk.audit)
TICKET_AUDIT_ACTIONS = {"call": "ticket.called", "start": "ticket.serving",
                        "finish": "ticket.done", "no_show": "ticket.no_show",
                        "transfer": "ticket.transferred", "recall": "ticket.recalled",
                        "priority": "ticket.priority"}
FINAL_STATES = ("done", "no_show", "transferred")
#: action → (states it may start from, state it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "call": (("waiting",), "called"),
    "recall": (("called",), "called"),
    "start": (("called",), "serving"),
    "finish": (("called", "serving"), "done"),
    "no_show": (("called",), "no_show"),
    "transfer": (("called", "serving"), "transferred"),
    "priority": (("waiting",), "waiting"),
}
#: before the first service of the day is finished, a visit is assumed to take this long
DEFAULT_SERVICE_S = 300
MIN_SERVICE_S = 30.0
CATEGORY_PATTERN = re.compile(r"^[A-Z]$")
TERMINAL_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,16}$")
ONLINE_NUMBER = re.compile(r"^([A-Z])(\d{3,4})$")
OFFLINE_NUMBER = re.compile(r"^([A-Z])-([A-Z0-9_]{1,16})-(\d{3,4})$")
APPOINTMENT_CODE = re.compile(r"^[A-Z0-9-]{4,32}$")


# --- errors ---------------------------------------------------------------------------------

class QueueError(Exception):
    """Base of the queue's refusals. ``key`` names the ui.json sentence a screen shows."""

    key = "queue.error.generic"
    code = "invalid"


class InvalidTransition(QueueError):
    """The ticket is not in a state that allows this action (e.g. recalling a finished one)."""

    key = "queue.error.transition"
    code = "invalid_transition"


class UnknownTicket(QueueError):
    """No ticket with this number (today) or this id."""

    key = "queue.error.unknown_ticket"
    code = "unknown_ticket"


class UnknownAppointment(QueueError):
    """The appointment code is not booked in this hall."""

    key = "queue.error.unknown_appointment"
    code = "unknown_appointment"


class AppointmentNotToday(QueueError):
    """The appointment exists but is for another day."""

    key = "queue.error.appointment_day"
    code = "appointment_not_today"


class BadNumber(QueueError):
    """Text that is not a queue number (A012, A-K01-003)."""

    key = "queue.error.bad_number"
    code = "bad_number"


class QueueUnavailable(QueueError):
    """The hall queue cannot be reached (network down, server stopped, timeout, 5xx)."""

    key = "queue.error.offline"
    code = "unavailable"


class QueueRefused(QueueError):
    """The hall queue refused a request for another reason; ``code`` is the protocol's."""

    key = "queue.error.generic"

    def __init__(self, message: str, code: str = "invalid", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


ERRORS_BY_CODE: dict[str, type[QueueError]] = {
    cls.code: cls for cls in (InvalidTransition, UnknownTicket, UnknownAppointment,
                              AppointmentNotToday, BadNumber)
}


def error_from(status: int, code: str | None, detail: str) -> QueueError:
    """The named error for a hall-queue refusal (HTTP status and protocol error code)."""
    if status >= 500:
        return QueueUnavailable(f"the hall queue failed ({status}): {detail}")
    cls = ERRORS_BY_CODE.get(code or "")
    if cls is not None:
        return cls(detail)
    return QueueRefused(detail, code or "invalid", status)


def check_action(ticket: Mapping[str, Any], action: str) -> str:
    """The state ``action`` leads ``ticket`` to; InvalidTransition when its state forbids it."""
    if action not in ACTIONS:
        raise QueueError(f"unknown queue action {action!r}")
    allowed, to_state = ACTIONS[action]
    if ticket["state"] not in allowed:
        raise InvalidTransition(
            f"ticket {ticket['number']} is {ticket['state']}; {action} needs it "
            f"{' or '.join(allowed)}")
    return to_state


# --- time -----------------------------------------------------------------------------------

def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC, ISO 8601 with milliseconds: strings of this form sort as the times they name."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def norm_time(text: str) -> str:
    """Any ISO 8601 time with an offset as :func:`iso` writes it (naive = UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def hall_day(moment: datetime | str) -> str:
    """The hall's date (local time zone of the machine; a hall and its terminals share it)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone().date().isoformat()


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


# --- numbers --------------------------------------------------------------------------------

def format_number(category: str, seq: int) -> str:
    """A number the hall queue gives: letter + sequence of the day (A001)."""
    return f"{category}{seq:03d}"


def format_offline_number(category: str, terminal_id: str, seq: int) -> str:
    """A number from a terminal's own block: letter, terminal, sequence (A-K01-001)."""
    return f"{category}-{terminal_id.upper()}-{seq:03d}"


def normalise_number(text: str) -> str:
    """What a visitor typed or scanned, as the number it means: ``a12`` → ``A012``,
    ``a-k01-3`` → ``A-K01-003``. BadNumber when it is not a queue number."""
    raw = re.sub(r"[\s－—]+", "-", (text or "").strip().upper())
    m = re.fullmatch(r"([A-Z])(\d{1,4})", raw)
    if m:
        return format_number(m.group(1), int(m.group(2)))
    # Typed on a keypad without "-": A K01 003 as AK01003 (a block sequence has 3 digits).
    m = re.fullmatch(r"([A-Z])-([A-Z0-9_]{1,16})-(\d{1,4})", raw) or \
        re.fullmatch(r"([A-Z])([A-Z][A-Z0-9_]*?)(\d{3})", raw)
    if m:
        return format_offline_number(m.group(1), m.group(2), int(m.group(3)))
    raise BadNumber(f"{text!r} is not a queue number (like A012 or A-K01-003)")


def number_category(number: str) -> str:
    return number[0]


def offline_terminal(number: str) -> str | None:
    """The terminal whose block a number comes from, or None for a hall-queue number."""
    m = OFFLINE_NUMBER.match(number)
    return m.group(2) if m else None


def speakable(number: str) -> str:
    """The number as a speech engine should read it: A-K01-003 → "A K01 003"."""
    return number.replace("-", " ")


def ticket_document(ticket: IssuedTicket, *, hall_name: str, item_name: str,
                    lang: str) -> Any:
    """The ticket as a receipt (kiosk.receipts.Document): the number large, the item, people
    ahead, the issue time; its QR holds the number, for finding its position by scanning."""
    from kiosk import receipts

    issued = datetime.fromisoformat(ticket.issued_at).astimezone().strftime("%Y-%m-%d %H:%M")
    return receipts.queue_ticket(hall_name=hall_name, number=ticket.number,
                                 item_name=item_name, waiting=ticket.ahead, issued_at=issued,
                                 terminal_id=ticket.terminal_id, lang=lang, qr=ticket.number)


def announcement(number: str, window: int, lang: str) -> str:
    """What the hall board says for a call (zh-Hans is the hall's spoken language)."""
    if lang == "en":
        return f"Number {speakable(number)}, please go to window {window}."
    return f"请 {speakable(number)} 号到 {window} 号窗口办理"


# --- call order and estimates -----------------------------------------------------------------

def call_order_key(ticket: Mapping[str, Any], now: str) -> tuple[int, str, int]:
    """Sort key of waiting tickets: the smallest is called next.

    Tier 0: transferred in from another window (they already waited once), by transfer time.
    Tier 1: an appointment whose slot has begun, if the visitor checked in before it ended,
    by slot start. Tier 2: marked priority by a clerk. Tier 3: everyone else. Within a tier,
    by ``queue_at`` (issue time; offline tickets keep the time their kiosk issued them), then
    by arrival at the hall queue.
    """
    seq = int(ticket.get("seq") or 0)
    if ticket.get("transferred_from"):
        return 0, ticket["queue_at"], seq
    slot_start, slot_end = ticket.get("slot_start"), ticket.get("slot_end")
    if slot_start and slot_start <= now and (not slot_end or ticket["issued_at"] <= slot_end):
        return 1, slot_start, seq
    if ticket.get("priority"):
        return 2, ticket["queue_at"], seq
    return 3, ticket["queue_at"], seq


def serves(ticket: Mapping[str, Any], window: int, categories: Iterable[str]) -> bool:
    """Whether a window serving ``categories`` may call ``ticket``."""
    only = ticket.get("window_only")
    if only:
        return int(only) == int(window)
    return ticket["category"] in set(categories)


def service_seconds(ticket: Mapping[str, Any]) -> float | None:
    """How long the visit at the window took: from start of service (or the call) to the end."""
    if ticket.get("state") not in ("done", "transferred"):
        return None
    return seconds_between(ticket.get("serving_at") or ticket.get("called_at"),
                           ticket.get("finished_at"))


def median_service_s(times: Iterable[float], default_s: float = DEFAULT_SERVICE_S) -> float:
    """The median of the service times, never below MIN_SERVICE_S (a clerk who presses finish
    at once must not make every estimate zero); ``default_s`` when there are none yet."""
    values = [t for t in times if t is not None and t >= 0]
    if not values:
        return float(default_s)
    return max(float(statistics.median(values)), MIN_SERVICE_S)


def estimate_wait_s(ahead: int, service_s: float, windows: int) -> int:
    """Median service time × people ahead / open windows serving the category (at least 1)."""
    return int(round(service_s * max(0, ahead) / max(1, windows)))


# --- the hall queue as the terminals see it ------------------------------------------------------

class HallQueue(Protocol):
    """The shared hall queue. Real: kiosk.queue_client.HttpHallQueue (protocol v1 over HTTP);
    twin: kiosk.platform.hall_queue.InProcessHallQueue (the same rules on a database in this
    process). Both raise QueueError subclasses; QueueUnavailable means "try again later".
    Records are the JSON objects of docs/protocol.md (hall queue section)."""

    hall_id: str

    def issue(self, request: dict) -> dict: ...

    def sync_offline(self, tickets: list[dict]) -> list[dict]: ...

    def open_window(self, window: int, categories: list[str], staff: str,
                    open_: bool = True) -> dict: ...

    def call_next(self, window: int, request_id: str, categories: list[str]) -> dict: ...

    def act(self, window: int, action: str, request_id: str, ticket_id: str,
            **extra: Any) -> dict: ...

    def mark_priority(self, number: str, request_id: str, reason: str) -> dict: ...

    def lookup(self, number: str) -> dict: ...

    def board(self) -> dict: ...

    def tickets(self, day: str | None = None) -> list[dict]: ...

    def stats(self, day: str | None = None) -> dict: ...

    def add_appointment(self, appointment: dict) -> dict: ...


# --- categories of the local catalog -----------------------------------------------------------

@dataclass(frozen=True)
class Category:
    """A queue category letter with the departments (and items) it serves."""

    letter: str
    name: dict  # per language: the department names joined
    items: tuple[tuple[str, dict], ...]  # (item code, name)


def categories(db: sqlite_utils.Database) -> list[Category]:
    """The queue categories of the current catalog, in catalog order."""
    rows = db.execute(
        "SELECT i.queue_category, d.code, d.data, i.code, i.data FROM items i "
        "JOIN departments d ON d.code = i.department ORDER BY i.queue_category, d.sort, i.sort"
    ).fetchall()
    names: dict[str, dict[str, list[str]]] = {}
    items: dict[str, list[tuple[str, dict]]] = {}
    seen_dept: set[tuple[str, str]] = set()
    for letter, dept, dept_data, code, item_data in rows:
        if (letter, dept) not in seen_dept:
            seen_dept.add((letter, dept))
            for lang, text in json.loads(dept_data)["name"].items():
                names.setdefault(letter, {}).setdefault(lang, []).append(text)
        items.setdefault(letter, []).append((code, json.loads(item_data)["name"]))
    return [Category(letter, {lang: " / ".join(v) for lang, v in names[letter].items()},
                     tuple(items[letter])) for letter in sorted(names)]


# --- a kiosk taking numbers ----------------------------------------------------------------------

CLOCK_OFFSET = "queue.clock_offset_ms"
RETRY_AFTER_S = 3.0  # after a failure, numbers come from the block this long without asking
LAST_BOARD = "queue.last_board"


@dataclass(frozen=True)
class IssuedTicket:
    """What the visitor is told (and what is printed) after taking a number."""

    id: str
    number: str
    category: str
    item_code: str | None
    issued_at: str
    day: str
    ahead: int
    estimated_wait_s: int | None
    offline: bool  # True: from this terminal's block; the hall queue gets it later
    terminal_id: str
    appointment_code: str | None = None
    slot_start: str | None = None
    slot_end: str | None = None
    approximate: bool = False  # True: figures from the last board this terminal saw
    reprint: bool = False  # True: the appointment was already checked in; same ticket again

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class PushResult:
    """The outcome of handing offline tickets to the hall queue."""

    sent: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (number, reason)
    pending: int = 0
    error: QueueError | None = None


class TicketIssuer:
    """Takes numbers for a kiosk: from the hall queue, or from the kiosk's own block.

    Every ticket gets a UUID here first; it is the issue request's idempotency key and, if the
    hall queue does not answer, the id of the ticket issued from the block. So a request that
    reached the server but whose answer was lost is merged with its offline twin on push, and
    the number the visitor holds is the one the hall keeps.
    """

    def __init__(self, db: sqlite_utils.Database, queue: HallQueue | None, hall_id: str,
                 terminal_id: str, *, clock: Callable[[], datetime] = utc_now,
                 default_service_s: int = DEFAULT_SERVICE_S) -> None:
        if not TERMINAL_PATTERN.match(terminal_id):
            raise QueueError(f"terminal id {terminal_id!r} cannot be part of a queue number: "
                             "use letters, digits and _ (at most 16)")
        self.db = db
        self.queue = queue
        self.hall_id = hall_id
        self.terminal_id = terminal_id
        self.clock = clock
        self.default_service_s = default_service_s
        self._down_at: float | None = None  # time.monotonic() of the last failed call

    def link_may_be_up(self) -> bool:
        """False for RETRY_AFTER_S after the hall queue failed: a visitor then gets a number
        from the block at once instead of waiting out another timeout (push_offline, run by a
        timer, finds out when the link is back)."""
        return self._down_at is None or time.monotonic() - self._down_at >= RETRY_AFTER_S

    # The hall's clock, as last seen: offline tickets are stamped on it so that they sort
    # among the hall queue's own tickets by the time they were really issued.
    def hall_now(self) -> datetime:
        offset = int(get_setting(self.db, CLOCK_OFFSET, "0") or 0)
        return self.clock() + timedelta(milliseconds=offset)

    def _note_clock(self, server_now: str | None, sent: datetime, got: datetime) -> None:
        if not server_now:
            return
        mid = sent + (got - sent) / 2
        offset = (datetime.fromisoformat(server_now) - mid).total_seconds() * 1000
        set_setting(self.db, CLOCK_OFFSET, str(int(offset)))

    def issue(self, category: str | None, *, item_code: str | None = None,
              lang: str = "zh-Hans", appointment_code: str | None = None,
              application_no: str | None = None) -> IssuedTicket:
        """A number for a visitor, stored here before it is shown or printed.

        With ``appointment_code`` the category is the appointment's, and the hall queue must be
        reachable (only it knows the booking): QueueUnavailable otherwise.
        """
        if appointment_code is None and category is None:
            raise QueueError("a ticket needs a category or an appointment code")
        if category is not None and not CATEGORY_PATTERN.match(category):
            raise QueueError(f"{category!r} is not a queue category letter")
        if appointment_code is not None:
            appointment_code = appointment_code.strip().upper()
            if not APPOINTMENT_CODE.match(appointment_code):
                raise UnknownAppointment(f"{appointment_code!r} is not an appointment code")
        ticket_id = str(uuid.uuid4())
        request = {"request_id": ticket_id, "category": category, "item_code": item_code,
                   "lang": lang, "appointment_code": appointment_code,
                   "application_no": application_no}
        if self.queue is not None and (appointment_code is not None or self.link_may_be_up()):
            if self.pending_offline():
                # The link may be back: hand over the block's tickets first, so they take their
                # place (and a lost answer is merged) before anyone can call around them.
                self.push_offline()
            sent = self.clock()
            try:
                answer = self.queue.issue(request)
            except QueueUnavailable as exc:
                self._down_at = time.monotonic()
                if appointment_code is not None:
                    raise
                log.warning("hall queue unreachable, issuing from block %s: %s",
                            self.terminal_id, exc)
            else:
                self._down_at = None
                self._note_clock(answer.get("now"), sent, self.clock())
                self._remember_board_entry(answer)
                return self._store_online(answer, lang)
        if appointment_code is not None:
            raise QueueUnavailable("appointments are checked in by the hall queue, which this "
                                   "terminal cannot reach")
        return self._issue_offline(ticket_id, request)

    def _store_online(self, answer: dict, lang: str) -> IssuedTicket:
        t = answer["ticket"]
        issued = IssuedTicket(
            id=t["id"], number=t["number"], category=t["category"], item_code=t.get("item_code"),
            issued_at=t["issued_at"], day=t["day"], ahead=int(answer["ahead"]),
            estimated_wait_s=answer.get("estimated_wait_s"), offline=False,
            terminal_id=self.terminal_id, appointment_code=t.get("appointment_code"),
            slot_start=t.get("slot_start"), slot_end=t.get("slot_end"),
            reprint=bool(answer.get("reprint")))
        with self.db.atomic():
            stored = self.db.execute(
                "INSERT INTO queue_tickets (id, day, number, category, item_code, "
                "appointment_code, application_no, lang, issued_at, source, sync_state, answer) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'online', 'held', ?) "
                "ON CONFLICT(id) DO NOTHING",
                [issued.id, issued.day, issued.number, issued.category, issued.item_code,
                 issued.appointment_code, t.get("application_no"), lang, issued.issued_at,
                 json.dumps(issued.as_dict(), ensure_ascii=False)]).rowcount
            if stored:
                self._audit_issue(issued, "online")
        return issued

    def _audit_issue(self, issued: IssuedTicket, source: str) -> None:
        # Ticket number, category and day only: nothing about the visitor.
        audit.append(self.db, f"kiosk:{self.terminal_id}", "ticket.issued", issued.number,
                     {"day": issued.day, "category": issued.category, "source": source})

    def _issue_offline(self, ticket_id: str, request: dict) -> IssuedTicket:
        category = request["category"]
        issued_at = iso(self.hall_now())
        day = hall_day(issued_at)
        ahead, wait_s = self._offline_estimate(category)
        with self.db.atomic():
            row = self.db.execute(
                "INSERT INTO queue_offline_numbers (day, category, last) VALUES (?, ?, 1) "
                "ON CONFLICT(day, category) DO UPDATE SET last = last + 1 RETURNING last",
                [day, category]).fetchone()
            number = format_offline_number(category, self.terminal_id, row[0])
            issued = IssuedTicket(
                id=ticket_id, number=number, category=category, item_code=request["item_code"],
                issued_at=issued_at, day=day, ahead=ahead, estimated_wait_s=wait_s, offline=True,
                terminal_id=self.terminal_id, appointment_code=request["appointment_code"],
                approximate=True)
            self.db.execute(
                "INSERT INTO queue_tickets (id, day, number, category, item_code, "
                "appointment_code, application_no, lang, issued_at, source, sync_state, answer) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'offline', 'pending', ?)",
                [ticket_id, day, number, category, request["item_code"],
                 request["appointment_code"], request["application_no"], request["lang"],
                 issued_at, json.dumps(issued.as_dict(), ensure_ascii=False)])
            self._audit_issue(issued, "offline")
        return issued

    def _remember_board_entry(self, answer: dict) -> None:
        """Keep the figures of the category just issued, for estimates while offline."""
        cat = answer["ticket"]["category"]
        board = self.last_board()
        board.setdefault("categories", {})[cat] = {
            "waiting": int(answer["ahead"]) + 1, "service_s": answer.get("service_s"),
            "windows": answer.get("windows"), "at": answer.get("now")}
        set_setting(self.db, LAST_BOARD, json.dumps(board))

    def remember_board(self, board: dict) -> None:
        """Keep a board answer (per-category figures) for estimates while offline."""
        known = self.last_board()
        cats = known.setdefault("categories", {})
        for entry in board.get("categories", []):
            cats[entry["category"]] = {"waiting": entry["waiting"],
                                       "service_s": entry.get("service_s"),
                                       "windows": entry.get("windows_open"),
                                       "at": board.get("now")}
        set_setting(self.db, LAST_BOARD, json.dumps(known))

    def last_board(self) -> dict:
        try:
            return json.loads(get_setting(self.db, LAST_BOARD, "{}") or "{}")
        except ValueError:
            return {}

    def _offline_estimate(self, category: str) -> tuple[int, int | None]:
        """People ahead and wait as far as this kiosk knows: the last figures it saw plus the
        tickets it has issued from its block since."""
        known = self.last_board().get("categories", {}).get(category)
        since = known.get("at") if known else None
        mine = self.db.execute(
            "SELECT COUNT(*) FROM queue_tickets WHERE category = ? AND source = 'offline' "
            "AND sync_state = 'pending' AND issued_at >= ?", [category, since or ""]).fetchone()[0]
        ahead = (int(known["waiting"]) if known else 0) + mine
        service = (known or {}).get("service_s") or self.default_service_s
        windows = (known or {}).get("windows") or 1
        return ahead, estimate_wait_s(ahead, service, windows)

    def pending_offline(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM queue_tickets "
                               "WHERE sync_state = 'pending'").fetchone()[0]

    def push_offline(self, batch: int = 200) -> PushResult:
        """Hand the tickets issued from the block to the hall queue, oldest first.

        Marked sent only on the hall queue's per-ticket answer (accepted, duplicate or merged);
        a refused ticket is kept with its reason for the administrator.
        """
        result = PushResult()
        if self.queue is None:
            result.pending = self.pending_offline()
            return result
        while True:
            rows = self.db.execute(
                "SELECT id, day, number, category, item_code, appointment_code, application_no, "
                "lang, issued_at FROM queue_tickets WHERE sync_state = 'pending' "
                "ORDER BY issued_at, number LIMIT ?", [batch]).fetchall()
            if not rows:
                break
            tickets = [{"id": r[0], "day": r[1], "number": r[2], "category": r[3],
                        "item_code": r[4], "appointment_code": r[5], "application_no": r[6],
                        "lang": r[7], "issued_at": r[8], "terminal_id": self.terminal_id}
                       for r in rows]
            try:
                answers = self.queue.sync_offline(tickets)
            except QueueError as exc:
                if isinstance(exc, QueueUnavailable):
                    self._down_at = time.monotonic()
                result.error = exc
                break
            self._down_at = None
            now = iso(self.clock())
            with self.db.atomic():
                for ticket, answer in zip(tickets, answers, strict=True):
                    if answer["result"] in ("accepted", "duplicate", "merged"):
                        self.db.execute("UPDATE queue_tickets SET sync_state = 'sent', "
                                        "synced_at = ? WHERE id = ?", [now, ticket["id"]])
                        result.sent += 1
                    else:
                        reason = str(answer.get("reason") or "rejected")
                        self.db.execute("UPDATE queue_tickets SET sync_state = 'refused', "
                                        "sync_error = ? WHERE id = ?", [reason, ticket["id"]])
                        result.refused.append((ticket["number"], reason))
                        log.error("hall queue refused offline ticket %s: %s",
                                  ticket["number"], reason)
        result.pending = self.pending_offline()
        return result

    def local_ticket(self, number: str) -> dict | None:
        """A ticket this kiosk issued today, as it was told to the visitor."""
        row = self.db.execute(
            "SELECT answer, sync_state FROM queue_tickets WHERE number = ? "
            "ORDER BY issued_at DESC LIMIT 1", [number]).fetchone()
        if row is None:
            return None
        return {**json.loads(row[0]), "sync_state": row[1]}


# --- a counter window's clerk ------------------------------------------------------------------

#: actions a counter journals and re-sends until answered; recall is left out on purpose: a
#: recall sent minutes late would call a visitor who already left.
JOURNALED = ("call", "start", "finish", "no_show", "transfer")


@dataclass
class DeskState:
    """What a counter screen shows after an action."""

    current: dict | None  # the ticket at this window (called or serving), or None
    pending: int  # actions kept until the hall queue answers
    offline: bool
    refused: list[str] = field(default_factory=list)  # messages of refused actions
    nothing_waiting: bool = False
    application: dict | None = None


class CounterDesk:
    """A service window's clerk actions, journaled in the local store and sent in order.

    Each action gets a request UUID when the clerk presses the button and keeps it until the
    hall queue answers, however many times it is sent (after a timeout, a cut link, a restart
    of the counter). The hall queue answers a repeated request with its first answer, so a
    visitor is never called twice for one press and a finish is never lost.
    """

    def __init__(self, db: sqlite_utils.Database, queue: HallQueue, window: int,
                 categories: Iterable[str], staff_id: str = "",
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.queue = queue
        self.window = int(window)
        self.categories = sorted(set(categories))
        self.staff_id = staff_id
        self.clock = clock
        self.current: dict | None = None
        self.application: dict | None = None
        self.offline = False
        self._nothing = False
        self._refused: list[str] = []

    def state(self) -> DeskState:
        state = DeskState(self.current, self.pending(), self.offline, list(self._refused),
                          self._nothing, self.application)
        self._refused.clear()
        return state

    def pending(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM queue_actions WHERE window = ? AND "
                               "state = 'pending'", [self.window]).fetchone()[0]

    def open(self) -> DeskState:
        """Sign the window in (its categories and clerk) and learn its current ticket."""
        try:
            answer = self.queue.open_window(self.window, self.categories, self.staff_id, True)
            self.offline = False
            if not self.pending():
                self.current = answer.get("current")
                self.application = answer.get("application")
        except QueueUnavailable:
            self.offline = True
        return self.flush()

    def close(self) -> None:
        """Sign the window out (best effort: a window left open only skews estimates)."""
        try:
            self.queue.open_window(self.window, self.categories, self.staff_id, False)
        except QueueError as exc:
            log.warning("could not close window %s: %s", self.window, exc)

    def _journal(self, action: str, body: dict) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO queue_actions (request_id, window, action, body, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [str(uuid.uuid4()), self.window, action, json.dumps(body), iso(self.clock())])

    def call_next(self) -> DeskState:
        """Call the next visitor (the hall queue finishes the window's current one first)."""
        self._journal("call", {"categories": self.categories})
        if self.current is not None:
            self.current = None  # the hall queue closes it as done when the call arrives
        return self.flush()

    def start(self) -> DeskState:
        return self._ticket_action("start")

    def finish(self) -> DeskState:
        return self._ticket_action("finish", clears=True)

    def no_show(self) -> DeskState:
        return self._ticket_action("no_show", clears=True)

    def transfer(self, category: str | None = None, window: int | None = None) -> DeskState:
        if not category and not window:
            raise QueueError("a transfer needs a category or a window")
        return self._ticket_action("transfer", clears=True,
                                   extra={"category": category, "to_window": window})

    def recall(self) -> DeskState:
        """Call the current visitor again (sent now or not at all: never replayed late)."""
        if self.current is None:
            raise InvalidTransition("there is no called ticket to recall at this window")
        self.flush()
        if self.offline:
            raise QueueUnavailable("the hall queue cannot be reached; recall again later")
        answer = self.queue.act(self.window, "recall", str(uuid.uuid4()), self.current["id"])
        self.current = answer["ticket"]
        self._audit("recall", answer)
        return self.state()

    def mark_priority(self, number: str, reason: str = "elderly") -> dict:
        """Mark a waiting visitor priority (elderly, disabled, …): they are called sooner."""
        answer = self.queue.mark_priority(normalise_number(number), str(uuid.uuid4()), reason)
        self._audit("priority", answer)  # not the reason: free text about the visitor
        return answer["ticket"]

    def _ticket_action(self, action: str, clears: bool = False,
                       extra: dict | None = None) -> DeskState:
        if self.current is None:
            raise InvalidTransition(f"there is no ticket at window {self.window} to {action}")
        self._journal(action, {"ticket_id": self.current["id"], **(extra or {})})
        if clears:
            self.current = None
            self.application = None
        elif action == "start":
            self.current = {**self.current, "state": "serving"}
        return self.flush()

    def flush(self) -> DeskState:
        """Send the journaled actions in order; stop at the first the hall queue cannot take
        now (they stay for the next flush)."""
        self._nothing = False
        rows = self.db.execute(
            "SELECT seq, request_id, action, body FROM queue_actions WHERE window = ? AND "
            "state = 'pending' ORDER BY seq", [self.window]).fetchall()
        for seq, request_id, action, body_text in rows:
            body = json.loads(body_text)
            try:
                if action == "call":
                    answer = self.queue.call_next(self.window, request_id, body["categories"])
                else:
                    answer = self.queue.act(self.window, action, request_id, body["ticket_id"],
                                            **{k: v for k, v in body.items() if k != "ticket_id"})
            except QueueUnavailable:
                self.offline = True
                break
            except QueueError as exc:
                self._mark(seq, "refused", error=str(exc))
                self._refused.append(str(exc))
                log.warning("window %s: %s refused: %s", self.window, action, exc)
                continue
            self.offline = False
            self._mark(seq, "done", answer=answer, action=action)
            if action == "call":
                self.current = answer.get("ticket")
                self.application = answer.get("application")
                self._nothing = self.current is None
        return self.state()

    def _mark(self, seq: int, state: str, answer: dict | None = None,
              error: str | None = None, action: str = "") -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE queue_actions SET state = ?, answer = ?, error = ?, done_at = ? "
                "WHERE seq = ?",
                [state, json.dumps(answer, ensure_ascii=False) if answer is not None else None,
                 error, iso(self.clock()), seq])
            if state == "done" and answer is not None:
                self._audit(action, answer)

    def _audit(self, action: str, answer: dict, details: dict | None = None) -> None:
        """The hall queue took a clerk's action: one audit record (ticket number only)."""
        ticket = answer.get("ticket") or {}
        if not ticket.get("number"):
            return  # "call next" with nobody waiting changes no ticket
        with self.db.atomic():
            audit.append(self.db, self.staff_id or f"window:{self.window}",
                         TICKET_AUDIT_ACTIONS.get(action, f"ticket.{action}"), ticket["number"],
                         {"window": self.window, "state": ticket.get("state"), **(details or {})})


# --- the store's queue tables (migration 0005_queue) ----------------------------------------------

def create_local_tables(db: sqlite_utils.Database) -> None:
    """Tickets this terminal issued, its offline number blocks, a counter's action journal and
    the staff who may sign in at a counter."""
    db.execute(
        """CREATE TABLE queue_tickets (
            id TEXT PRIMARY KEY,             -- uuid4: the issue request id upstream
            day TEXT NOT NULL,               -- the hall's date
            number TEXT NOT NULL,            -- A012 (hall queue) or A-K01-003 (own block)
            category TEXT NOT NULL,
            item_code TEXT,
            appointment_code TEXT,
            application_no TEXT,
            lang TEXT NOT NULL,
            issued_at TEXT NOT NULL,         -- ISO 8601 UTC (hall clock for offline tickets)
            source TEXT NOT NULL CHECK (source IN ('online', 'offline')),
            -- held: the hall queue issued it; pending/sent/refused: an offline ticket's hand-over
            sync_state TEXT NOT NULL CHECK (sync_state IN ('held', 'pending', 'sent', 'refused')),
            sync_error TEXT,
            synced_at TEXT,
            answer TEXT NOT NULL             -- JSON: what the visitor was shown and given
        )"""
    )
    db.execute("CREATE UNIQUE INDEX queue_tickets_number ON queue_tickets(day, number)")
    db.execute("CREATE INDEX queue_tickets_sync ON queue_tickets(sync_state, issued_at)")
    db.execute(
        """CREATE TABLE queue_offline_numbers (
            day TEXT NOT NULL,
            category TEXT NOT NULL,
            last INTEGER NOT NULL,
            PRIMARY KEY (day, category)
        )"""
    )
    db.execute(
        """CREATE TABLE queue_actions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL UNIQUE, -- uuid4, kept for every re-send
            window INTEGER NOT NULL,
            action TEXT NOT NULL,
            body TEXT NOT NULL,              -- JSON
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'refused')),
            answer TEXT,
            error TEXT,
            done_at TEXT
        )"""
    )
    db.execute("CREATE INDEX queue_actions_pending ON queue_actions(window, state, seq)")
    db.execute(
        """CREATE TABLE staff (
            staff_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            pin_hash TEXT NOT NULL,          -- hex scrypt(PIN, salt, n, r, p)
            salt TEXT NOT NULL,              -- hex, 16 random bytes
            n INTEGER NOT NULL,
            r INTEGER NOT NULL,
            p INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            failed INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            disabled INTEGER NOT NULL DEFAULT 0
        )"""
    )
