"""The hall queue on HTTP: ``/v1/halls/{hall}/…`` (docs/protocol.md, "Hall queue").

``queue_router(db, caller)`` is included by kiosk.platform.server.create_app; ``caller`` is the
server's bearer-token dependency (terminal tokens are bound to a hall). The work is done by
kiosk.platform.hall_queue; the tables come from :func:`create_queue_tables`, a migration of the
platform database (kiosk.platform.db).

No ``from __future__ import annotations`` here: the routes' annotations name ``Caller``, a local
of :func:`queue_router`, which FastAPI could not resolve from a string.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kiosk.platform import hall_queue
from kiosk.platform.db import PlatformDB
from kiosk.platform.hall_queue import create_queue_tables  # noqa: F401 (the migration's name)
from kiosk.platform.models import ID_PATTERN, MAX_BATCH, ErrorOut, ISOTime, UUIDText

Category = Annotated[str, Field(pattern=r"^[A-Z]$", examples=["A"])]
Window = Annotated[int, PathParam(ge=1, le=999, description="window number")]
Hall = Annotated[str, PathParam(pattern=ID_PATTERN, examples=["H0001"])]
Lang = Literal["zh-Hans", "zh-Hant", "en"]
Short = Annotated[str, Field(max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class IssueIn(_In):
    request_id: UUIDText = Field(description="made by the kiosk; also the ticket's id")
    category: Category | None = Field(None, description="required unless appointment_code "
                                      "is given (then the appointment's category is used)")
    item_code: Short | None = None
    lang: Lang | None = None
    appointment_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{4,32}$")] | None = None
    application_no: Short | None = None


class OfflineTicketIn(_In):
    id: UUIDText
    number: Annotated[str, Field(pattern=r"^[A-Z]-[A-Z0-9_]{1,16}-\d{3,4}$",
                                 examples=["A-K01-003"])]
    category: Category
    day: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    issued_at: ISOTime
    terminal_id: Annotated[str, Field(pattern=ID_PATTERN)]
    item_code: Short | None = None
    lang: Lang | None = None
    appointment_code: Short | None = None
    application_no: Short | None = None


class OfflineIn(_In):
    tickets: Annotated[list[OfflineTicketIn], Field(max_length=MAX_BATCH)]


class WindowIn(_In):
    open: bool = True
    categories: Annotated[list[Category], Field(max_length=26)]
    staff: Short | None = None


class CallIn(_In):
    request_id: UUIDText
    categories: Annotated[list[Category], Field(max_length=26)]


class ActIn(_In):
    request_id: UUIDText
    ticket_id: UUIDText
    category: Category | None = Field(None, description="transfer: the category to join")
    to_window: Annotated[int, Field(ge=1, le=999)] | None = Field(
        None, description="transfer: only this window may call the visitor")


class PriorityIn(_In):
    request_id: UUIDText
    reason: Literal["elderly", "disabled", "pregnant", "other"] = "elderly"


class AppointmentIn(_In):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{4,32}$")]
    category: Category
    slot_start: ISOTime
    slot_end: ISOTime
    item_code: Short | None = None
    name: Short | None = None


class TicketOut(BaseModel):
    seq: int
    id: str
    hall_id: str
    day: str
    number: str
    category: str
    item_code: str | None
    lang: str | None
    issued_at: str
    queue_at: str
    terminal_id: str
    source: Literal["online", "offline", "transfer"]
    state: Literal["waiting", "called", "serving", "done", "no_show", "transferred"]
    window: int | None
    window_only: int | None
    priority: int
    priority_reason: str | None
    appointment_code: str | None
    slot_start: str | None
    slot_end: str | None
    application_no: str | None
    transferred_from: str | None
    called_at: str | None
    serving_at: str | None
    finished_at: str | None
    recalls: int
    calls: int | None = None


class IssueOut(BaseModel):
    ticket: TicketOut
    ahead: int
    estimated_wait_s: int | None
    service_s: float
    windows: int
    now: str
    reprint: bool


class SyncResult(BaseModel):
    id: str
    number: str
    result: Literal["accepted", "duplicate", "merged", "rejected"]
    reason: str | None


class SyncOut(BaseModel):
    results: list[SyncResult]


class CallOut(BaseModel):
    ticket: TicketOut | None
    application: dict[str, Any] | None = None
    now: str


class ActOut(BaseModel):
    ticket: TicketOut
    transferred_to: TicketOut | None = None
    now: str


class WindowOut(BaseModel):
    window: int
    open: bool
    categories: list[str]
    current: TicketOut | None
    application: dict[str, Any] | None = None


class LookupOut(BaseModel):
    ticket: TicketOut
    ahead: int
    estimated_wait_s: int | None
    now: str


class BoardCall(BaseModel):
    seq: int
    ticket_id: str
    number: str
    category: str
    window: int
    kind: Literal["call", "recall"]
    at: str


class BoardWindow(BaseModel):
    window: int
    categories: list[str]
    current: str | None
    state: str | None


class BoardCategory(BaseModel):
    category: str
    waiting: int
    windows_open: int
    service_s: float
    estimated_wait_s: int


class BoardOut(BaseModel):
    hall_id: str
    day: str
    now: str
    seq: int
    calls: list[BoardCall]
    windows: list[BoardWindow]
    categories: list[BoardCategory]


class TicketsOut(BaseModel):
    day: str
    tickets: list[TicketOut]


class StatsOut(BaseModel):
    day: str
    rows: list[dict[str, Any]]


class AppointmentOut(BaseModel):
    code: str
    category: str
    item_code: str | None
    name: str | None
    slot_start: str
    slot_end: str
    day: str


def _body(model: BaseModel) -> dict:
    return model.model_dump(exclude_none=True)


def queue_router(db: PlatformDB, caller: Any) -> APIRouter:
    """The hall-queue routes over ``db``; ``caller`` is the server's authenticated-principal
    dependency (an ``Annotated[Principal, Depends(...)]``)."""
    router = APIRouter(prefix="/v1/halls/{hall}", tags=["hall queue"], responses={
        404: {"model": ErrorOut, "description": "unknown_ticket / unknown_appointment"},
        409: {"model": ErrorOut, "description": "invalid_transition / conflict / "
                                                "appointment_not_today"}})
    Caller = caller  # noqa: N806 (a type alias for the signatures below)

    @router.post("/tickets", response_model=IssueOut)
    def post_ticket(who: Caller, hall: Hall, body: IssueIn) -> dict:
        """Take a number (kiosk). Idempotent by request_id."""
        return hall_queue.issue(db, who, hall, _body(body))

    @router.post("/tickets/offline", response_model=SyncOut)
    def post_offline(who: Caller, hall: Hall, body: OfflineIn) -> dict:
        """Tickets a kiosk issued from its own block while offline; per-ticket results."""
        return {"results": hall_queue.sync_offline(db, who, hall,
                                                   [t.model_dump() for t in body.tickets])}

    @router.get("/tickets", response_model=TicketsOut)
    def get_tickets(who: Caller, hall: Hall,
                    day: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None
                    ) -> dict:
        """Every ticket of a day (default today) in issue-time order, with its call count."""
        return hall_queue.tickets_of_day(db, who, hall, day)

    @router.get("/tickets/{number}", response_model=LookupOut)
    def get_ticket(who: Caller, hall: Hall, number: str) -> dict:
        """Where a number stands today: state, people ahead, estimated wait."""
        return hall_queue.lookup(db, who, hall, number)

    @router.post("/tickets/{number}/priority", response_model=ActOut)
    def post_priority(who: Caller, hall: Hall, number: str, body: PriorityIn) -> dict:
        """A clerk marks a waiting visitor priority (elderly, disabled, …)."""
        return hall_queue.mark_priority(db, who, hall, number, _body(body))

    @router.put("/windows/{n}", response_model=WindowOut)
    def put_window(who: Caller, hall: Hall, n: Window, body: WindowIn) -> dict:
        """Open (sign in) or close a window with the categories it serves."""
        return hall_queue.open_window(db, who, hall, n, _body(body))

    @router.get("/windows/{n}", response_model=WindowOut)
    def get_window(who: Caller, hall: Hall, n: Window) -> dict:
        """A window's categories and current ticket."""
        return hall_queue.window_state(db, who, hall, n)

    @router.post("/windows/{n}/call", response_model=CallOut)
    def post_call(who: Caller, hall: Hall, n: Window, body: CallIn) -> dict:
        """Finish the window's current visitor and call the next. Idempotent by request_id."""
        return hall_queue.call_next(db, who, hall, n, _body(body))

    def add_action(action: str, path: str, doc: str) -> None:
        def post_action(who: Caller, hall: Hall, n: Window, body: ActIn) -> dict:
            return hall_queue.act(db, who, hall, n, action, _body(body))

        post_action.__doc__ = doc
        router.add_api_route(f"/windows/{{n}}/{path}", post_action, methods=["POST"],
                             response_model=ActOut, name=f"post_{action}")

    add_action("recall", "recall", "Call the window's visitor again (announced again).")
    add_action("start", "start", "The visitor arrived: service starts (service time from now).")
    add_action("finish", "finish", "Service done.")
    add_action("no_show", "no-show", "The called visitor did not come (skip).")
    add_action("transfer", "transfer", "Send the visitor to another category and/or window; "
               "they keep their number and are called before walk-ins there.")

    @router.get("/board", response_model=BoardOut)
    def get_board(who: Caller, hall: Hall,
                  calls: Annotated[int, Query(ge=1, le=50)] = hall_queue.RECENT_CALLS) -> dict:
        """The hall board: recent calls, open windows, waiting per category."""
        return hall_queue.board(db, who, hall, calls)

    @router.get("/stats", response_model=StatsOut)
    def get_stats(who: Caller, hall: Hall,
                  day: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None
                  ) -> dict:
        """Per day, category and window: tickets, served, no-shows, wait and service times."""
        return hall_queue.stats(db, who, hall, day)

    @router.post("/appointments", response_model=AppointmentOut, status_code=201,
                 responses={200: {"model": AppointmentOut, "description": "already booked"}})
    def post_appointment(who: Caller, hall: Hall, body: AppointmentIn) -> JSONResponse:
        """Book a slot (online booking system; admin or terminal token). Idempotent by code."""
        created, record = hall_queue.add_appointment(db, who, hall, _body(body))
        return JSONResponse(record, status_code=201 if created else 200)

    return router
