"""What the queue screens (kiosk ticket flow, counter, hall board, stats page) may ask for.

The hall queue is on the network, so its calls get their own worker thread with its own store
connection: a slow or absent hall queue never holds up the store thread or the screen. Each call
answers on the UI thread by callback, like kiosk.ui.services. Offline tickets are handed to the
hall queue by a timer, so they join it as soon as the link is back, with nobody pressing
anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from kiosk import queue as q
from kiosk import staff
from kiosk.config import Config

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[Exception], None] | None

PUSH_MS = 5_000  # how often tickets issued from the block are offered to the hall queue


@dataclass
class QueueContext:
    """What the worker thread owns: the store connection, the hall queue, the issuer."""

    db: Any
    queue: q.HallQueue | None
    issuer: q.TicketIssuer
    desk: q.CounterDesk | None = None


class QueueWorker(QObject):
    """One thread for the hall queue: jobs run in order, answers come back on the UI thread."""

    _answered = Signal(object, object)

    def __init__(self, make_context: Callable[[], QueueContext],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="queue")
        self._make = make_context
        self._ctx: QueueContext | None = None
        self._answered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.pending = 0
        self._closed = False

    def submit(self, job: Callable[[QueueContext], Any], on_done: Done | None = None,
               on_error: Failed = None) -> None:
        if self._closed:
            # A timer (the counter's board poll) can still fire while its window closes after
            # the worker shut down: nothing is waiting for that answer any more.
            log.debug("queue worker closed: job dropped")
            return
        self.pending += 1

        def run() -> None:
            try:
                if self._ctx is None:
                    self._ctx = self._make()
                result = job(self._ctx)
            except Exception as exc:  # reported to the screen, never lost silently
                if not isinstance(exc, q.QueueError | staff.StaffError):
                    log.exception("queue job failed")
                self._answered.emit(self._finish(on_error), exc)
                return
            self._answered.emit(self._finish(on_done), result)

        self._pool.submit(run)

    def _finish(self, callback: Callable | None) -> Callable[[Any], None]:
        def deliver(value: Any) -> None:
            self.pending -= 1
            if callback is not None:
                callback(value)
        return deliver

    def _deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        if self._closed:
            return  # the screens that asked may be gone already
        callback(value)

    def wait_idle(self) -> None:
        """Block until every job submitted so far has run (tests, shutdown)."""
        self._pool.submit(lambda: None).result()

    def shutdown(self) -> None:
        def close() -> None:
            if self._ctx is not None:
                if self._ctx.desk is not None:
                    self._ctx.desk.close()
                self._ctx.db.conn.close()
                self._ctx = None

        self._closed = True
        self._pool.submit(close)
        self._pool.shutdown(wait=True)


class QueueServices(QObject):
    """The hall queue for screens. ``print_document(doc, on_done, on_error)`` prints a receipt
    (kiosk.ui.device_services.DeviceServices.print_receipt); without it a ticket is rendered to
    a PNG in ``png_dir`` (the simulated printer's way) and counted as printed."""

    offline_changed = Signal(int)  # tickets from the block still waiting for the hall queue

    def __init__(self, config: Config, open_db: Callable[[], Any],
                 make_queue: Callable[[], q.HallQueue | None], *,
                 print_document: Callable[..., None] | None = None,
                 png_dir: Path | None = None, push_ms: int = PUSH_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.print_document = print_document
        self.png_dir = png_dir

        def make_context() -> QueueContext:
            db = open_db()
            hall_queue = make_queue()
            issuer = q.TicketIssuer(db, hall_queue, config.hall_id, config.terminal_id,
                                    default_service_s=config.queue.default_service_s)
            return QueueContext(db, hall_queue, issuer)

        self.worker = QueueWorker(make_context, self)
        self._push = QTimer(self)
        self._push.setInterval(push_ms)
        self._push.timeout.connect(self.push_offline)
        self._pushing = False
        if push_ms > 0:
            self._push.start()

    # --- kiosk --------------------------------------------------------------------------------

    def categories(self, on_done: Done, on_error: Failed = None) -> None:
        """The queue categories of the catalog (kiosk.queue.Category list)."""
        self.worker.submit(lambda ctx: q.categories(ctx.db), on_done, on_error)

    def waiting_counts(self, on_done: Done, on_error: Failed = None) -> None:
        """{letter: waiting} from the hall board; None when the hall queue is unreachable."""
        def job(ctx: QueueContext) -> dict[str, int] | None:
            if ctx.queue is None:
                return None
            try:
                board = ctx.queue.board()
            except q.QueueUnavailable:
                return None
            ctx.issuer.remember_board(board)
            return {c["category"]: c["waiting"] for c in board["categories"]}

        self.worker.submit(job, on_done, on_error)

    def issue(self, category: str | None, item_code: str | None, lang: str, on_done: Done,
              on_error: Failed = None, *, appointment_code: str | None = None) -> None:
        """Take a number (kiosk.queue.IssuedTicket): from the hall queue or this kiosk's block."""
        def job(ctx: QueueContext) -> q.IssuedTicket:
            return ctx.issuer.issue(category, item_code=item_code, lang=lang,
                                    appointment_code=appointment_code)

        self.worker.submit(job, self._after_issue(on_done), on_error)

    def _after_issue(self, on_done: Done) -> Done:
        def done(ticket: q.IssuedTicket) -> None:
            if ticket.offline:
                self.offline_changed.emit(-1)
            on_done(ticket)
        return done

    def print_ticket(self, doc: Any, on_done: Done, on_error: Failed = None) -> None:
        """Print a ticket document; answers True when it came out."""
        if self.print_document is not None:
            self.print_document(doc, lambda outcome: on_done(bool(outcome.printed)), on_error)
            return

        def job(ctx: QueueContext) -> bool:
            render_ticket_png(doc, (self.png_dir or Path("printed")), self.config.printer.paper_mm)
            return True

        self.worker.submit(job, on_done, on_error)

    def lookup(self, number: str, on_done: Done, on_error: Failed = None) -> None:
        """Where a number stands: the hall queue's answer, or what this kiosk issued offline
        (``{"local": ...}``) when the hall queue does not know it yet or cannot be reached."""
        def job(ctx: QueueContext) -> dict:
            normal = q.normalise_number(number)
            local = ctx.issuer.local_ticket(normal)
            if ctx.queue is not None:
                try:
                    return ctx.queue.lookup(normal)
                except (q.UnknownTicket, q.QueueUnavailable):
                    if local is None or local["sync_state"] not in ("pending", "refused"):
                        raise
            if local is None:
                raise q.QueueUnavailable("the hall queue is not configured on this terminal")
            return {"local": local}

        self.worker.submit(job, on_done, on_error)

    def push_offline(self) -> None:
        """Offer the tickets issued from the block to the hall queue (timer; one at a time)."""
        if self._pushing:
            return
        self._pushing = True

        def done(result: q.PushResult | None) -> None:
            self._pushing = False
            if result is not None:
                self.offline_changed.emit(result.pending)

        def failed(exc: Exception) -> None:
            self._pushing = False

        def job(ctx: QueueContext) -> q.PushResult | None:
            if not ctx.issuer.pending_offline():
                return None
            return ctx.issuer.push_offline()

        self.worker.submit(job, done, failed)

    # --- counter ------------------------------------------------------------------------------

    def sign_in(self, staff_id: str, pin: str, on_done: Done, on_error: Failed = None) -> None:
        """The clerk (kiosk.staff.Clerk) or BadPin / LockedOut."""
        self.worker.submit(lambda ctx: staff.verify(ctx.db, staff_id, pin), on_done, on_error)

    def open_desk(self, window: int, categories: list[str], staff_id: str, on_done: Done,
                  on_error: Failed = None) -> None:
        """Sign the window in; answers its kiosk.queue.DeskState."""
        def job(ctx: QueueContext) -> q.DeskState:
            if ctx.queue is None:
                raise q.QueueUnavailable("this counter has no hall queue: enroll it "
                                         "(kiosk admin enroll) and save its token")
            if ctx.desk is not None:
                ctx.desk.close()
            ctx.desk = q.CounterDesk(ctx.db, ctx.queue, window, categories, staff_id)
            return ctx.desk.open()

        self.worker.submit(job, on_done, on_error)

    def close_desk(self, on_done: Done | None = None) -> None:
        def job(ctx: QueueContext) -> None:
            if ctx.desk is not None:
                ctx.desk.close()
                ctx.desk = None

        self.worker.submit(job, on_done)

    def desk(self, action: str, on_done: Done, on_error: Failed = None, **kwargs: Any) -> None:
        """A CounterDesk action (call_next, recall, start, finish, no_show, transfer, flush);
        answers the DeskState."""
        def job(ctx: QueueContext) -> q.DeskState:
            if ctx.desk is None:
                raise q.QueueError("the window is not signed in")
            return getattr(ctx.desk, action)(**kwargs)

        self.worker.submit(job, on_done, on_error)

    def mark_priority(self, number: str, reason: str, on_done: Done,
                      on_error: Failed = None) -> None:
        def job(ctx: QueueContext) -> dict:
            if ctx.desk is None:
                raise q.QueueError("the window is not signed in")
            return ctx.desk.mark_priority(number, reason)

        self.worker.submit(job, on_done, on_error)

    # --- board and statistics ------------------------------------------------------------------

    def board(self, on_done: Done, on_error: Failed = None) -> None:
        def job(ctx: QueueContext) -> dict:
            if ctx.queue is None:
                raise q.QueueUnavailable("this terminal has no hall queue configured")
            return ctx.queue.board()

        self.worker.submit(job, on_done, on_error)

    def stats(self, day: str | None, on_done: Done, on_error: Failed = None) -> None:
        """The hall's statistics rows (kiosk.queue_stats.StatRow list) for ``day``."""
        from kiosk import queue_stats

        def job(ctx: QueueContext) -> list:
            if ctx.queue is None:
                raise q.QueueUnavailable("this terminal has no hall queue configured")
            return queue_stats.from_dicts(ctx.queue.stats(day)["rows"])

        self.worker.submit(job, on_done, on_error)

    def shutdown(self) -> None:
        self._push.stop()
        self.worker.shutdown()


def render_ticket_png(doc: Any, out_dir: Path, paper_mm: int = 80) -> Path:
    """A ticket drawn as the printer would print it, saved as ``<number>.png`` in ``out_dir``
    (the output when no printer service is attached)."""
    from kiosk import receipts

    dots, columns = (576, 48) if paper_mm >= 80 else (384, 32)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"ticket-{doc.receipt_no}.png"
    receipts.render_image(doc, dots, columns).save(path)
    return path


def queue_services_for(config: Config, data_dir: Path, open_db: Callable[[], Any], *,
                       demo: bool = False, print_document: Callable[..., None] | None = None,
                       parent: QObject | None = None) -> QueueServices:
    """QueueServices of a terminal: the hall queue of its configuration over HTTP, or, for the
    demo, the hall queue's own code on a database in the data directory (no server needed)."""
    def make_queue() -> q.HallQueue | None:
        if demo:
            from kiosk.platform.db import PlatformDB
            from kiosk.platform.hall_queue import InProcessHallQueue

            return InProcessHallQueue(PlatformDB(data_dir / "demo-hall-queue.db"),
                                      config.hall_id, config.terminal_id)
        from kiosk.queue_client import from_config

        return from_config(config, data_dir)

    return QueueServices(config, open_db, make_queue, print_document=print_document,
                         png_dir=data_dir / "printed", parent=parent)


def attach_queue(services: Any, config: Config, data_dir: Path, open_db: Callable[[], Any], *,
                 demo: bool = False) -> QueueServices:
    """Give a kiosk's Services the hall queue (``services.queue``), printing tickets through
    the terminal's DeviceServices (made here and kept as ``services.devices`` if none is)."""
    # Open (and migrate) the store once here: several worker threads opening a brand-new store
    # at the same moment would each try to run its migrations.
    open_db().conn.close()
    devices = getattr(services, "devices", None)
    if devices is None:
        from kiosk.ui.device_services import DeviceServices

        devices = DeviceServices(config, data_dir, open_db)
        services.devices = devices
    services.queue = queue_services_for(config, data_dir, open_db, demo=demo,
                                        print_document=devices.print_receipt)
    return services.queue


def detach_queue(services: Any) -> None:
    """Stop the threads attach_queue started (at shutdown)."""
    if getattr(services, "queue", None) is not None:
        services.queue.shutdown()
        services.queue = None
    devices = getattr(services, "devices", None)
    if devices is not None and hasattr(devices, "shutdown"):
        devices.shutdown()
        services.devices = None
