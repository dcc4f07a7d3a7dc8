"""Counter review (窗口审核) of applications filed at the kiosk: accept, return or reject.

A clerk's decision changes the application's status, adds a row to its status history and
queues the platform call ``POST /v1/applications/{id}/decision`` in ONE transaction, so the
counter never shows a decision the platform will not eventually receive. The call travels as an
outbox row of kind 'event' whose payload type is 'decision' (the outbox table's kinds are fixed
by migration 0003); kiosk.sync.outbox sends those rows to the decision endpoint, not /v1/events.
Each decision has a UUID (``decision_id``): the platform is idempotent by it, and so is
``decide`` here, so a double tap or a retried worker call never decides twice.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from kiosk import atrest, audit, freetext
from kiosk.applications import (
    Application,
    canonical_dumps,
    get_application,
    iso,
    utc_now,
)
from kiosk.progress import find_progress
from kiosk.retention import purged_at

DECISIONS = {"accept": "accepted", "return": "returned", "reject": "rejected"}
FINAL = ("accepted", "rejected")  # docs/protocol.md: a returned application can be decided again
REASON_MAX = 500


class ReviewError(ValueError):
    """A decision was refused; the message tells the clerk what to change."""


@dataclass(frozen=True)
class Decision:
    decision_id: str
    application_id: str
    number: str
    decision: str  # accept | return | reject
    status: str  # accepted | returned | rejected
    missing: list[str]
    reason: str
    clerk: str
    at: str

    def body(self) -> dict:
        """The JSON body of POST /v1/applications/{id}/decision."""
        return {"decision_id": self.decision_id, "decision": self.decision,
                "missing": self.missing, "reason": self.reason, "clerk": self.clerk}


def find(db: sqlite_utils.Database, number_or_qr_text: str) -> Application | None:
    """The application named by a typed number or by the text of its receipt's QR code.

    The receipt QR holds the progress URL ``…/progress/<number>``; hyphens, spaces and case in
    a typed number do not matter (see kiosk.progress.normalise_number).
    """
    found = find_progress(db, number_or_qr_text)  # reads the QR's URL (progress.number_in)
    return found.application if found else None


def _clean_missing(missing: Iterable[str]) -> list[str]:
    items = []
    for entry in missing:
        name = re.sub(r"\s+", " ", str(entry)).strip()
        if name and name not in items:
            items.append(name)
    return items


def _stored_decision(db: sqlite_utils.Database, decision_id: str) -> Decision | None:
    row = db.execute(
        "SELECT payload FROM events WHERE id = ? AND type = 'decision'", [decision_id]
    ).fetchone()
    if row is None:
        return None
    record = freetext.open_event(atrest.keys_for(db), "decision", decision_id, json.loads(row[0]))
    return Decision(**record)


def _audit_actor(clerk: str) -> str:
    """The staff id in "王芳 (S001)" (how the counter names the clerk), never the name."""
    found = re.search(r"\(([A-Za-z0-9_-]{1,32})\)\s*$", clerk)
    if found:
        return found.group(1)
    return clerk if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", clerk) else "clerk"


def decide(
    db: sqlite_utils.Database,
    application_id: str,
    decision: str,
    clerk: str,
    missing: Iterable[str] = (),
    reason: str = "",
    *,
    decision_id: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Record a clerk's decision on an application and queue it for the platform.

    ``decision`` is accept | return | reject. A return needs ``missing`` materials or a
    ``reason``; a rejection needs a ``reason``; accepted and rejected applications are final.
    Passing the ``decision_id`` of a decision already recorded returns that decision unchanged
    (idempotent); reusing it for a different decision raises ReviewError.
    """
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    clerk = (clerk or "").strip()
    if not clerk:
        raise ReviewError("a decision needs the clerk's name or staff number")
    items = _clean_missing(missing)
    reason = (reason or "").strip()[:REASON_MAX]
    if decision == "return" and not (items or reason):
        raise ReviewError("returning an application needs the missing materials or a reason")
    if decision == "reject" and not reason:
        raise ReviewError("rejecting an application needs a reason the applicant can read")
    if decision == "accept":
        items = []  # nothing is missing from an accepted application
    did = decision_id or str(uuid.uuid4())
    stamp = iso(now or utc_now())
    with db.atomic():
        earlier = _stored_decision(db, did)
        if earlier is not None:
            same = (earlier.application_id, earlier.decision, earlier.missing, earlier.reason,
                    earlier.clerk) == (application_id, decision, items, reason, clerk)
            if not same:
                raise ReviewError(f"decision {did} was already used for a different decision")
            return earlier
        application = get_application(db, application_id)
        if application is None or application.id != application_id:
            raise ReviewError(f"no application {application_id!r} is stored at this terminal")
        if purged_at(application):
            raise ReviewError(f"application {application.number} was purged on this terminal "
                              "(retention); decide it on the platform")
        if application.status in FINAL:
            raise ReviewError(f"application {application.number} is already {application.status}; "
                              "that decision is final")
        result = Decision(did, application.id, application.number, decision, DECISIONS[decision],
                          items, reason, clerk, stamp)
        # The reason is free text a clerk wrote: sealed at rest in all three copies.
        keys = atrest.keys_for(db)
        record = canonical_dumps(freetext.seal_event(keys, "decision", did, result.__dict__))
        db.execute("UPDATE applications SET status = ?, updated_at = ? WHERE id = ?",
                   [result.status, stamp, application.id])
        db.execute(
            "INSERT INTO application_status (application_id, number, status, at, detail, source) "
            "VALUES (?, ?, ?, ?, ?, 'local')",
            [application.id, application.number, result.status, stamp,
             canonical_dumps(freetext.seal_status(keys, application.id, result.body()))],
        )
        db.execute("INSERT INTO events VALUES (?, 'decision', ?, ?)", [did, stamp, record])
        wire = {"id": did, "type": "decision", "at": stamp, "application_id": application.id,
                "body": freetext.seal_event(keys, "decision", did, result.body())}
        db.execute(
            "INSERT INTO outbox (kind, ref, payload, created_at, next_attempt_at) "
            "VALUES ('event', ?, ?, ?, ?)",
            [did, canonical_dumps(wire), stamp, stamp],
        )
        # Number, decision and missing-material names only; the reason may name the applicant.
        audit.append(db, _audit_actor(clerk), f"application.{result.status}", application.number,
                     {"decision": decision, "decision_id": did, "missing": len(items)},
                     now=now)
    return result
