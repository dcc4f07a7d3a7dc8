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


def _store_page(db: sqlite_utils.Database, changes: list, cursor: object) -> int:
    stored = 0
    now = iso(utc_now())
    with db.atomic():
        for change in changes:
            if not isinstance(change, dict) or not change.get("id") or not change.get("status"):
                log.warning("status change without id or status ignored: %r", change)
                continue
            at = _normalised(change.get("at")) or now
            cur = db.execute(
                "INSERT OR IGNORE INTO application_status "
                "(application_id, number, status, at, detail, source) "
                "VALUES (?, ?, ?, ?, ?, 'platform')",
                [change["id"], change.get("number"), change["status"], at,
                 json.dumps(change.get("detail") or {}, ensure_ascii=False)],
            )
            if cur.rowcount:
                stored += 1
                db.execute(
                    "UPDATE applications SET status = ?, updated_at = ? "
                    "WHERE id = ? AND updated_at <= ?",
                    [change["status"], at, change["id"], at],
                )
        if cursor is not None:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [CURSOR, str(cursor)],
            )
    return stored
