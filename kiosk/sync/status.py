"""Pulling application status changes for this hall, with the platform's cursor.

Each page of changes is stored together with the cursor that follows it, in one transaction,
so a crash between the two can neither lose a change nor skip one; a change seen twice (same
application, status and time) is stored once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import sqlite_utils

from kiosk import atrest, audit, freetext
from kiosk.applications import iso, utc_now
from kiosk.store import get_setting
from kiosk.sync.errors import PlatformFailed
from kiosk.sync.http import PlatformClient

log = logging.getLogger(__name__)

CURSOR = "sync.status_cursor"
MAX_PAGES = 50  # per round: a terminal back after weeks catches up over a few rounds


def pull_status(db: sqlite_utils.Database, client: PlatformClient) -> int:
    """Store every status change after our cursor; returns how many were new."""
    stored = 0
    for _ in range(MAX_PAGES):
        cursor = get_setting(db, CURSOR)
        answer = client.get_status(cursor)
        changes = answer.get("changes") if isinstance(answer, dict) else None
        new_cursor = answer.get("cursor") if isinstance(answer, dict) else None
        if not isinstance(changes, list):
            raise PlatformFailed("GET /v1/applications/status: answer without changes")
        if new_cursor is not None and not isinstance(new_cursor, str | int):
            raise PlatformFailed("GET /v1/applications/status: the cursor is not text")
        new_cursor = None if new_cursor is None else str(new_cursor)
        if new_cursor is not None and not _encodable(new_cursor):
            raise PlatformFailed("GET /v1/applications/status: the cursor is not text")
        stored += _store_page(db, changes, new_cursor)
        more = answer.get("more", bool(changes))  # servers without "more": until a page is empty
        if not changes or not more or new_cursor in (None, cursor):
            break
    return stored


def _normalised(at: object) -> str | None:
    """The platform's time in our stored form (UTC, fixed width), so times compare as text."""
    if not at:
        return None
    try:
        return iso(datetime.fromisoformat(str(at)))
    except ValueError:
        return str(at)


def _text(value: object) -> bool:
    """A non-empty string: what an id or a status must be to be stored."""
    return isinstance(value, str) and bool(value) and _encodable(value)


def _encodable(text: str) -> bool:
    """False for text SQLite cannot store (a lone surrogate, from a "\\ud800" in JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _store_page(db: sqlite_utils.Database, changes: list, cursor: object) -> int:
    stored = 0
    now = iso(utc_now())
    keys = atrest.keys_for(db)
    with db.atomic():
        for change in changes:
            if not isinstance(change, dict) or not _text(change.get("id")) \
                    or not _text(change.get("status")) \
                    or not isinstance(change.get("number"), str | None) \
                    or not _encodable(str(change.get("number"))):
                # Its keys only: a change's detail may carry a clerk's reason or names.
                log.warning("status change without id or status ignored (keys: %s)",
                            sorted(change)[:10] if isinstance(change, dict) else type(change).__name__)
                continue
            at = _normalised(change.get("at")) or now
            at = at if _encodable(at) else now
            # A decision's reason (free text a clerk wrote) is sealed at rest (kiosk.freetext).
            sealed = freetext.seal_status(keys, change["id"], change.get("detail") or {})
            detail = json.dumps(sealed, ensure_ascii=False)
            if not _encodable(detail):
                detail = json.dumps(sealed)  # ASCII escapes keep every character
            cur = db.execute(
                "INSERT OR IGNORE INTO application_status "
                "(application_id, number, status, at, detail, source) "
                "VALUES (?, ?, ?, ?, ?, 'platform')",
                [change["id"], change.get("number"), change["status"], at, detail],
            )
            if cur.rowcount:
                stored += 1
                db.execute(
                    "UPDATE applications SET status = ?, updated_at = ? "
                    "WHERE id = ? AND updated_at <= ?",
                    [change["status"], at, change["id"], at],
                )
                # Bounded: the text comes from the platform, not from this terminal.
                audit.append(db, "platform", "application.status",
                             str(change.get("number") or change["id"])[:64],
                             {"status": str(change["status"])[:32], "at": at[:40]})
        if cursor is not None:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [CURSOR, str(cursor)],
            )
    return stored
