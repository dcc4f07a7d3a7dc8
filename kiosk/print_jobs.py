"""Durable print jobs: stored before they are sent, sent until they print, counted per receipt.

A receipt (ticket, application receipt, notice, checklist) becomes a job row committed to the
store before a byte goes to the printer. ``process`` sends queued jobs oldest first and marks a
job printed only when the printer said it was ready before and still fine after; a job the
printer refused, or that lost paper half-way, stays queued with the reason, and the next
``process`` (a timer while the printer is down, or the admin's button) prints it when the
printer is back. A job that was being sent when the program died is re-queued at start-up: it
may print once more, which beats a visitor's receipt never printing.

Reprints are new jobs of the same receipt number marked as copy 2, 3, ...; ``print_count``
says how many copies of a receipt actually came out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from kiosk.devices import DeviceError
from kiosk.i18n import tr
from kiosk.receipts import Document

log = logging.getLogger(__name__)

STATES = ("queued", "sending", "printed", "cancelled")


def create_tables(db: sqlite_utils.Database) -> None:
    """Migration 0004_print_jobs (kiosk.store)."""
    db.execute(
        """CREATE TABLE print_jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            receipt_no TEXT NOT NULL,
            kind TEXT NOT NULL,
            lang TEXT NOT NULL,
            copy INTEGER NOT NULL DEFAULT 1,
            document TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sending', 'printed', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            printed_at TEXT
        )"""
    )
    db.execute("CREATE INDEX print_jobs_state ON print_jobs(state, id)")
    db.execute("CREATE INDEX print_jobs_receipt ON print_jobs(receipt_no, copy)")


class UnknownReceipt(LookupError):
    """No receipt with that number was ever queued on this terminal."""


@dataclass(frozen=True)
class Job:
    id: int
    receipt_no: str
    kind: str
    lang: str
    copy: int
    state: str
    attempts: int
    last_error: str | None
    created_at: str
    printed_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(row["id"], row["receipt_no"], row["kind"], row["lang"], row["copy"],
                   row["state"], row["attempts"], row["last_error"], row["created_at"],
                   row["printed_at"])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_COLUMNS = "id, receipt_no, kind, lang, copy, state, attempts, last_error, created_at, printed_at"


def get_job(db: sqlite_utils.Database, job_id: int) -> Job:
    rows = list(db.query(f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", [job_id]))
    if not rows:
        raise LookupError(f"no print job {job_id}")
    return Job.from_row(rows[0])


def enqueue(db: sqlite_utils.Database, doc: Document) -> Job:
    """Store ``doc`` as a queued job (committed before this returns)."""
    now = _now()
    with db.atomic():
        cur = db.execute(
            "INSERT INTO print_jobs (receipt_no, kind, lang, copy, document, state, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
            [doc.receipt_no, doc.kind, doc.lang, doc.copy, doc.to_json(), now, now])
        job_id = cur.lastrowid
    assert job_id is not None
    return get_job(db, job_id)


def reprint(db: sqlite_utils.Database, receipt_no: str) -> Job:
    """Queue the next copy of receipt ``receipt_no`` (the counter's reprint by number)."""
    rows = list(db.query("SELECT document, copy FROM print_jobs WHERE receipt_no = ? "
                         "ORDER BY copy DESC, id DESC LIMIT 1", [receipt_no]))
    if not rows:
        raise UnknownReceipt(f"no receipt {receipt_no!r} was printed or queued here")
    doc = Document.from_json(rows[0]["document"]).as_copy(rows[0]["copy"] + 1)
    if not doc.lines:  # emptied by kiosk.retention: the personal data is gone from here
        raise UnknownReceipt(f"receipt {receipt_no!r} was purged on this terminal (retention); "
                             "the platform still has the application")
    return enqueue(db, doc)


def cancel(db: sqlite_utils.Database, job_id: int) -> None:
    """Drop a queued job (an admin clearing a backlog nobody will collect)."""
    with db.atomic():
        db.execute("UPDATE print_jobs SET state = 'cancelled', updated_at = ? "
                   "WHERE id = ? AND state = 'queued'", [_now(), job_id])


def pending(db: sqlite_utils.Database) -> list[Job]:
    """Jobs waiting to print, oldest first."""
    return [Job.from_row(r) for r in db.query(
        f"SELECT {_COLUMNS} FROM print_jobs WHERE state IN ('queued', 'sending') ORDER BY id")]


def pending_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM print_jobs WHERE state IN ('queued', 'sending')"
                      ).fetchone()[0]


def print_count(db: sqlite_utils.Database, receipt_no: str) -> int:
    """How many copies of receipt ``receipt_no`` came out of the printer."""
    return db.execute("SELECT count(*) FROM print_jobs WHERE receipt_no = ? AND state = "
                      "'printed'", [receipt_no]).fetchone()[0]


def recover_interrupted(db: sqlite_utils.Database) -> int:
    """At start-up: jobs left 'sending' by a crash go back to the queue. Returns how many."""
    with db.atomic():
        cur = db.execute("UPDATE print_jobs SET state = 'queued', updated_at = ?, last_error = "
                         "'interrupted while sending; may have printed' WHERE state = 'sending'",
                         [_now()])
    return cur.rowcount


@dataclass(frozen=True)
class ProcessResult:
    printed: list[int]  # job ids printed in this round
    failed: Job | None  # the job that stopped the round (still queued), if any
    error: str | None
    remaining: int


def process(db: sqlite_utils.Database, printer: Any, *, limit: int = 50,
            on_printed: Callable[[Job], None] | None = None) -> ProcessResult:
    """Send queued jobs oldest first until one fails (the printer is down: stop asking).

    Each job is marked 'sending' (committed) before its bytes go out and 'printed' only after
    the printer's status after the job is good; a failure puts it back to 'queued' with the
    reason and one more attempt counted.
    """
    printed: list[int] = []
    rows = list(db.query("SELECT id, document FROM print_jobs WHERE state = 'queued' "
                         "ORDER BY id LIMIT ?", [limit]))
    for row in rows:
        job_id = row["id"]
        with db.atomic():
            db.execute("UPDATE print_jobs SET state = 'sending', attempts = attempts + 1, "
                       "updated_at = ? WHERE id = ?", [_now(), job_id])
        try:
            data = printer.render(Document.from_json(row["document"]))
            printer.send(data)
        except DeviceError as exc:
            with db.atomic():
                db.execute("UPDATE print_jobs SET state = 'queued', last_error = ?, "
                           "updated_at = ? WHERE id = ?", [str(exc), _now(), job_id])
            log.warning("print job %s not printed: %s", job_id, exc)
            return ProcessResult(printed, get_job(db, job_id), str(exc), pending_count(db))
        except Exception as exc:
            # A fault of ours (e.g. a document that no longer renders), not the printer's: keep
            # the job with the reason for the admin, and let the jobs behind it print.
            with db.atomic():
                db.execute("UPDATE print_jobs SET state = 'queued', last_error = ?, "
                           "updated_at = ? WHERE id = ?", [f"internal: {exc}", _now(), job_id])
            log.exception("print job %s failed", job_id)
            continue
        now = _now()
        with db.atomic():
            db.execute("UPDATE print_jobs SET state = 'printed', printed_at = ?, updated_at = ?, "
                       "last_error = NULL WHERE id = ?", [now, now, job_id])
        printed.append(job_id)
        if on_printed is not None:
            on_printed(get_job(db, job_id))
    return ProcessResult(printed, None, None, pending_count(db))


@dataclass(frozen=True)
class PrintOutcome:
    """What the screen needs after asking for a receipt."""

    job: Job
    printed: bool
    message: str | None  # for the visitor when it did not print


def print_receipt(db: sqlite_utils.Database, printer: Any, doc: Document, *,
                  window: str) -> PrintOutcome:
    """Store ``doc`` as a job and try to print the queue now. When this receipt did not come
    out, ``message`` tells the visitor where to go (in the receipt's language)."""
    job = enqueue(db, doc)
    if printer is not None:
        process(db, printer)
    job = get_job(db, job.id)
    if job.state == "printed":
        return PrintOutcome(job, True, None)
    return PrintOutcome(job, False, failure_message(doc.receipt_no, doc.lang, window))


def failure_message(receipt_no: str, lang: str, window: str) -> str:
    """The visitor-facing text when their receipt could not print: which window to go to and
    the number the counter reprints it by."""
    return tr("print.failed", lang, window=window, receipt=receipt_no)
