"""Retention: personal data of applications the platform holds is purged after a set time.

An application is purged only when (a) its outbox row was marked sent on the platform's own
per-item answer (``accepted`` or ``duplicate``, kiosk.sync.outbox) and (b) ``[security]
retention_days`` have passed since that answer. Nothing else counts: an application the platform
never acknowledged stays whole, however old, because this terminal holds its only copy.

Purging replaces the applicant, form and pre-review with a marker (``{"_purged_at": time}``),
the outbox payload with the id, number and marker, the print jobs of its receipts and notices
with an empty document, and deletes its scan files unless an application not purged still
references the same SHA-256. Its number, item, materials list, status history and times stay,
so the progress and counter screens can still say what happened ("purged on this terminal,
ask the platform"). Purging an already purged application changes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk import audit
from kiosk.applications import blob_path, canonical_dumps, iso, utc_now

log = logging.getLogger(__name__)

PURGED_KEY = "_purged_at"
_PURGED_PREFIX = '{"' + PURGED_KEY + '":'  # how a marker starts in the stored canonical JSON
LAST_RUN = "retention.last_run_at"


@dataclass
class PurgeResult:
    """What one purge did (or, in a dry run, would do)."""

    numbers: list[str] = field(default_factory=list)  # application numbers purged
    blobs_deleted: list[str] = field(default_factory=list)  # SHA-256 of scan files removed
    blobs_kept: list[str] = field(default_factory=list)  # still used by an application not purged
    print_jobs: int = 0
    free_texts: int = 0  # evaluation comments and decision reasons replaced by the marker
    dry_run: bool = False

    @property
    def count(self) -> int:
        return len(self.numbers)


def marker(moment: datetime) -> dict:
    """The value that replaces purged personal data."""
    return {PURGED_KEY: iso(moment)}


def purged_at(application: Any) -> str | None:
    """When ``application`` (a kiosk.applications.Application) was purged here, or None."""
    applicant = getattr(application, "applicant", None)
    if isinstance(applicant, dict):
        value = applicant.get(PURGED_KEY)
        return str(value) if value else None
    return None


def due(db: sqlite_utils.Database, retention_days: int, now: datetime | None = None
        ) -> list[tuple[str, str, str]]:
    """(id, number, materials JSON) of applications acknowledged ``retention_days`` ago or more
    and not purged yet, oldest first."""
    cutoff = iso((now or utc_now()) - timedelta(days=retention_days))
    return [tuple(row) for row in db.execute(
        """SELECT a.id, a.number, a.materials FROM applications a
           WHERE substr(a.applicant, 1, ?) != ?
           AND EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'application' AND o.ref = a.id
                       AND o.state = 'sent' AND o.sent_at IS NOT NULL AND o.sent_at <= ?)
           ORDER BY a.filed_at, a.id""",
        [len(_PURGED_PREFIX), _PURGED_PREFIX, cutoff]).fetchall()]


def _shas(materials_json: str) -> set[str]:
    """SHA-256 names in a stored materials list; raises ValueError when it cannot be read."""
    materials = json.loads(materials_json)
    if not isinstance(materials, list):
        raise ValueError("materials is not a list")
    return {str(m["sha256"]) for m in materials if isinstance(m, dict) and m.get("sha256")}


def _still_referenced(db: sqlite_utils.Database, purging: set[str]) -> set[str] | None:
    """SHA-256 of every file an application not purged (nor being purged) refers to, plus files
    still waiting in the outbox; None when some application's list cannot be read (then no file
    is deleted this run)."""
    used: set[str] = set()
    rows = db.execute("SELECT id, materials FROM applications WHERE substr(applicant, 1, ?) != ?",
                      [len(_PURGED_PREFIX), _PURGED_PREFIX]).fetchall()
    for app_id, materials in rows:
        if app_id in purging:
            continue
        try:
            used |= _shas(materials)
        except (ValueError, TypeError, KeyError):
            log.warning("retention: a materials list cannot be read; no scan file deleted")
            return None
    used |= {r[0] for r in db.execute(
        "SELECT ref FROM outbox WHERE kind = 'blob' AND state = 'pending'").fetchall()}
    return used


def purge(db: sqlite_utils.Database, blobs_dir: Path, retention_days: int, *,
          dry_run: bool = False, actor: str = "system", now: datetime | None = None
          ) -> PurgeResult:
    """Purge every application that is due (see the module docstring); audited when any was.

    ``dry_run`` only reports what would be purged and changes nothing.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    moment = now or utc_now()
    result = PurgeResult(dry_run=dry_run)
    stamp = iso(moment)
    cutoff = iso(moment - timedelta(days=retention_days))
    with db.atomic():
        rows = due(db, retention_days, moment)
        ids = {app_id for app_id, _, _ in rows}
        texts = _free_texts_due(db, ids, cutoff)
        result.free_texts = sum(1 for table, _, _ in texts if table != "outbox")
        if not rows and not texts:
            return result
        candidates: set[str] = set()
        for _, number, materials in rows:
            result.numbers.append(number)
            try:
                candidates |= _shas(materials)
            except (ValueError, TypeError, KeyError):
                log.warning("retention: application %s has an unreadable materials list", number)
        used = _still_referenced(db, ids)
        for sha in sorted(candidates):
            (result.blobs_kept if used is None or sha in used else result.blobs_deleted).append(sha)
        result.print_jobs = sum(db.execute(
            "SELECT COUNT(*) FROM print_jobs WHERE (receipt_no = ? OR receipt_no LIKE ?) "
            "AND document NOT LIKE '%\"lines\": []%'", [n, f"{n}-R%"]).fetchone()[0]
            for n in result.numbers)
        if dry_run:
            return result
        mark = canonical_dumps(marker(moment))
        index = _id_index_blank(db)
        for app_id, number, _ in rows:
            db.execute("UPDATE applications SET applicant = ?, form = ?, prereview = ? WHERE id = ?",
                       [mark, mark, mark, app_id])
            if index is not _NO_COLUMN:  # the blind index of the ID number (encryption at rest)
                db.execute("UPDATE applications SET id_index = ? WHERE id = ?", [index, app_id])
            db.execute("UPDATE outbox SET payload = ? WHERE kind = 'application' AND ref = ?",
                       [canonical_dumps({"id": app_id, "number": number, **marker(moment)}),
                        app_id])
            _purge_print_jobs(db, number, stamp)
        for table, key, path in texts:
            db.execute(f"UPDATE {table} SET {_JSON_COLUMN[table]} = json_set({_JSON_COLUMN[table]}, "
                       f"?, ?) WHERE {_KEY_COLUMN[table]} = ?", [path, mark, key])
        audit.append(db, actor, "retention.purge", "applications",
                     {"applications": result.count, "files": len(result.blobs_deleted),
                      "print_jobs": result.print_jobs, "free_texts": result.free_texts,
                      "retention_days": retention_days},
                     now=moment)
    # Files go after the commit: a crash in between leaves a file no record needs, never a
    # record whose file was deleted while the purge rolled back.
    for sha in result.blobs_deleted:
        # The filed file <sha> and the captured page it came from, <sha>.jpg (kiosk.devices.capture)
        for path in blob_path(blobs_dir, sha).parent.glob(f"{sha}*"):
            path.unlink(missing_ok=True)
    log.info("retention: purged %d application(s), %d file(s), %d print job(s)",
             result.count, len(result.blobs_deleted), result.print_jobs)
    return result


_NO_COLUMN = object()
_JSON_COLUMN = {"events": "payload", "outbox": "payload", "application_status": "detail"}
_KEY_COLUMN = {"events": "id", "outbox": "id", "application_status": "seq"}


def _free_texts_due(db: sqlite_utils.Database, purging: set[str], cutoff: str
                    ) -> list[tuple[str, object, str]]:
    """(table, row key, JSON path, value) of each free text (kiosk.freetext) to purge now:
    the comment of an evaluation the platform acknowledged before ``cutoff`` (its own answer,
    whatever became of an application it names), and every reason of a decision on an
    application being purged. A copy still waiting in the outbox is kept: it is not yet sent."""
    texts: list[tuple[str, object, str]] = []

    def text_of(column: str, path: str) -> str:
        return (f"json_type({column}, '{path}') = 'text' AND json_extract({column}, '{path}') != '' "
                f"AND substr(json_extract({column}, '{path}'), 1, {len(_PURGED_PREFIX)}) "
                f"!= '{_PURGED_PREFIX}'")

    for event_id, outbox_id in db.execute(
            f"""SELECT e.id, o.id FROM events e JOIN outbox o ON o.kind = 'event' AND o.ref = e.id
                WHERE e.type = 'evaluation' AND o.state = 'sent' AND o.sent_at IS NOT NULL
                AND o.sent_at <= ? AND {text_of('e.payload', '$.text')}""", [cutoff]).fetchall():
        texts += [("events", event_id, "$.text"), ("outbox", outbox_id, "$.payload.text")]
    if purging:
        marks = ", ".join("?" * len(purging))
        found = db.execute(
            f"""SELECT 'events', id, '$.reason' FROM events WHERE type = 'decision'
                AND json_extract(payload, '$.application_id') IN ({marks})
                AND {text_of('payload', '$.reason')}
                UNION ALL
                SELECT 'outbox', id, '$.body.reason' FROM outbox WHERE kind = 'event'
                AND state = 'sent' AND json_extract(payload, '$.type') = 'decision'
                AND json_extract(payload, '$.application_id') IN ({marks})
                AND {text_of('payload', '$.body.reason')}
                UNION ALL
                SELECT 'application_status', seq, '$.reason' FROM application_status
                WHERE application_id IN ({marks}) AND {text_of('detail', '$.reason')}""",
            [*purging, *purging, *purging]).fetchall()
        texts += [tuple(row) for row in found]
    return texts


def _id_index_blank(db: sqlite_utils.Database) -> object:
    """What a purged row's ``id_index`` becomes (NULL, or '' when the column is NOT NULL), or
    _NO_COLUMN when the store has no such column."""
    for _, name, _, notnull, _, _ in db.execute("PRAGMA table_info(applications)").fetchall():
        if name == "id_index":
            return "" if notnull else None
    return _NO_COLUMN


def _purge_print_jobs(db: sqlite_utils.Database, number: str, stamp: str) -> None:
    """Empty the stored documents of this application's receipts and notices (masked names,
    ID numbers); a job still waiting to print is cancelled."""
    rows = db.execute("SELECT id, document FROM print_jobs WHERE receipt_no = ? OR receipt_no "
                      "LIKE ?", [number, f"{number}-R%"]).fetchall()
    for job_id, document in rows:
        try:
            doc = json.loads(document)
        except ValueError:
            doc = {}
        empty = json.dumps({"kind": doc.get("kind", ""), "receipt_no": doc.get("receipt_no", ""),
                            "lang": doc.get("lang", "zh-Hans"), "lines": [],
                            "copy": doc.get("copy", 1)}, ensure_ascii=False)
        db.execute("UPDATE print_jobs SET document = ?, updated_at = ?, state = CASE WHEN state "
                   "IN ('queued', 'sending') THEN 'cancelled' ELSE state END WHERE id = ?",
                   [empty, stamp, job_id])


def purge_if_due(db: sqlite_utils.Database, blobs_dir: Path, retention_days: int, *,
                 every_s: int = 3600, now: datetime | None = None) -> PurgeResult | None:
    """The sync runner's call: purge at most once per ``every_s``; None when not run now."""
    from kiosk.store import get_setting, set_setting

    moment = now or utc_now()
    last = get_setting(db, LAST_RUN)
    if last and datetime.fromisoformat(last) > moment - timedelta(seconds=every_s):
        return None
    result = purge(db, blobs_dir, retention_days, now=moment)
    set_setting(db, LAST_RUN, iso(moment))
    return result


# --- kiosk admin purge ----------------------------------------------------------------------


def add_retention_commands(adm_sub: Any) -> None:
    """Register ``kiosk admin purge [--dry-run]``."""
    cmd = adm_sub.add_parser("purge", help="purge personal data of applications the platform "
                             "acknowledged more than [security] retention_days ago")
    cmd.add_argument("--dry-run", action="store_true",
                     help="only list what would be purged; change nothing")


def admin_purge(args: Any, config: Any, data_dir: Any) -> int:
    """Run ``kiosk admin purge`` on this terminal's store."""
    from kiosk.store import open_store

    data_dir = Path(data_dir)
    db = open_store(data_dir / "kiosk.db")
    days = config.security.retention_days
    result = purge(db, data_dir / "blobs", days, dry_run=args.dry_run, actor="admin")
    verb = "would purge" if args.dry_run else "purged"
    print(f"{verb}: {result.count} application(s) acknowledged more than {days} days ago, "
          f"{len(result.blobs_deleted)} scan file(s), {result.print_jobs} print job(s); "
          f"{len(result.blobs_kept)} file(s) kept (still used)")
    for number in result.numbers:
        print(f"  {number}")
    return 0


RETENTION_ADMIN_COMMANDS = {"purge": admin_purge}
