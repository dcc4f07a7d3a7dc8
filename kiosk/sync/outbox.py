"""Pushing the outbox to the platform: blobs, then applications, then events.

A record leaves the outbox ('pending' -> 'sent') only on the server's own answer for that record:
``accepted`` or ``duplicate`` (the server already holds exactly this record, e.g. our earlier
attempt whose answer we never got). ``rejected`` is final: the row becomes 'failed' with the
reason and stays for the administrator to see; nothing is dropped silently. A timeout, a refused
connection, a dropped answer or a 5xx changes nothing but the attempt count and the time of the
next attempt (exponential backoff with jitter), so sending again is always safe: the payload is
the frozen JSON written at filing time and the server is idempotent by record id.

An application goes out only once every file it references is on the server (its blob row is
'sent'); one whose file was refused is marked failed with ``blob_failed:<sha256>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from kiosk import atrest, freetext
from kiosk.applications import blob_path, canonical_dumps, iso, outbox_context, read_blob, utc_now
from kiosk.crypto import TEXT_PREFIX, CryptoError, KeyRing
from kiosk.sync.errors import RequestRefused, SyncError, is_transient
from kiosk.sync.http import PlatformClient

log = logging.getLogger(__name__)

MAX_BATCH = 500  # docs/protocol.md: batches <= 500 records
KINDS = ("blob", "application", "event")
# The materials of an application row: read from the applications table (its plaintext list of
# names and hashes), because the frozen wire payload itself is encrypted at rest.
_MATERIALS = """COALESCE((SELECT a.materials FROM applications a WHERE a.id = o.ref),
    CASE WHEN json_valid(o.payload) THEN json_extract(o.payload, '$.materials') END, '[]')"""


@dataclass(frozen=True)
class Backoff:
    """Delay before the next attempt: base * 2^(attempts-1) capped at max, then jittered.

    "Equal jitter" (a uniform draw in the upper half) keeps terminals that went offline together
    from all coming back in the same second, while never retrying sooner than half the delay.
    """

    base_s: float = 2.0
    max_s: float = 300.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        cap = min(self.max_s, self.base_s * 2 ** max(0, attempts - 1))
        return (rng or random).uniform(cap / 2, cap)


@dataclass
class PushResult:
    """What one push did: records sent (accepted + duplicate), failed for good, deferred."""

    sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    duplicates: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    deferred: int = 0
    error: SyncError | None = None  # the transient failure that stopped this push

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())


@dataclass(frozen=True)
class _Row:
    id: int
    ref: str
    payload: str
    attempts: int


# --- the push --------------------------------------------------------------------------------


def push(
    db: sqlite_utils.Database,
    client: PlatformClient,
    blobs_dir: Path,
    *,
    batch_size: int = MAX_BATCH,
    backoff: Backoff = Backoff(),
    force: bool = False,
    now: datetime | None = None,
) -> PushResult:
    """Send what is due: blobs one by one, then applications and events in batches.

    ``force`` ignores the backoff times (the administrator's "sync now"). Each record is tried
    at most once per call. A transient failure (offline, timeout, 5xx) stops the push and is
    returned in ``PushResult.error``; AuthRejected propagates (no record is at fault).
    """
    result = PushResult()
    moment = now or utc_now()
    batch_size = max(1, min(batch_size, MAX_BATCH))
    try:
        _push_blobs(db, client, blobs_dir, result, backoff, force, moment)
        _fail_blocked_applications(db, result, moment)
        _push_batches(db, client, "application", result, batch_size, backoff, force, moment)
        _push_batches(db, client, "event", result, batch_size, backoff, force, moment)
        _push_decisions(db, client, result, backoff, force, moment)
    except SyncError as exc:
        if not is_transient(exc):
            raise
        result.error = exc
        log.warning("push stopped, will retry later: %s", exc)
    return result


def _due(db: sqlite_utils.Database, kind: str, after_id: int, limit: int, force: bool,
         moment: datetime) -> list[_Row]:
    ready = ""
    if kind == "application":
        # Only when every referenced file is already on the server.
        ready = f"""AND NOT EXISTS (
            SELECT 1 FROM json_each({_MATERIALS}) m
            WHERE json_extract(m.value, '$.sha256') IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM outbox b WHERE b.kind = 'blob' AND b.state = 'sent'
                AND b.ref = json_extract(m.value, '$.sha256')))"""
    elif kind == "event":  # a clerk's decision has its own endpoint (_push_decisions)
        ready = "AND json_extract(o.payload, '$.type') IS NOT 'decision'"
    elif kind == "decision":  # only once the application itself has left this outbox
        kind, ready = "event", """AND json_extract(o.payload, '$.type') = 'decision'
            AND NOT EXISTS (SELECT 1 FROM outbox a WHERE a.kind = 'application'
                AND a.state = 'pending' AND a.ref = json_extract(o.payload, '$.application_id'))"""
    rows = [_Row(*row) for row in db.execute(
        f"""SELECT o.id, o.ref, o.payload, o.attempts FROM outbox o
            WHERE o.kind = ? AND o.state = 'pending' AND o.id > ?
            AND (? OR o.next_attempt_at <= ?) {ready}
            ORDER BY o.id LIMIT ?""",
        [kind, after_id, int(force), iso(moment), limit],
    ).fetchall()]
    if kind == "blob":
        return rows
    return _opened(db, kind, rows, moment)


def _open_payload(keys: KeyRing, kind: str, row: _Row) -> str:
    """The payload the platform receives: an application's frozen JSON decrypted, or an
    event's JSON with its sealed free text opened (kiosk.freetext)."""
    if kind == "application":
        return atrest.unseal(keys, row.payload, outbox_context(row.ref))
    if TEXT_PREFIX not in row.payload:
        return row.payload
    # Re-encoded the way it was written (canonical JSON): the bytes the server hashes for
    # idempotency are the same as before the text was sealed.
    return canonical_dumps(freetext.open_wire(keys, json.loads(row.payload)))


def _opened(db: sqlite_utils.Database, kind: str, rows: list[_Row],
            moment: datetime) -> list[_Row]:
    """Rows with their payload decrypted; one that cannot be decrypted is failed with the
    reason (its key was retired or the row was altered), never sent garbled."""
    keys = atrest.keys_for(db)
    opened, broken = [], []
    for row in rows:
        try:
            payload = _open_payload(keys, kind, row)
        except (CryptoError, ValueError) as exc:
            broken.append((row.id, f"undecryptable: {exc}"))
            continue
        opened.append(_Row(row.id, row.ref, payload, row.attempts))
    if broken:
        _fail(db, broken, moment)
        log.error("%d %s record(s) in the outbox cannot be decrypted", len(broken), kind)
    return opened


def _push_blobs(db: sqlite_utils.Database, client: PlatformClient, blobs_dir: Path,
                result: PushResult, backoff: Backoff, force: bool, moment: datetime) -> None:
    after = 0
    while rows := _due(db, "blob", after, 50, force, moment):
        for row in rows:
            after = row.id
            _push_blob(db, client, blobs_dir, row, result, backoff, moment)


def _push_blob(db: sqlite_utils.Database, client: PlatformClient, blobs_dir: Path, row: _Row,
               result: PushResult, backoff: Backoff, moment: datetime) -> None:
    path = blob_path(blobs_dir, row.ref)
    try:
        data = read_blob(blobs_dir, row.ref, atrest.keys_for(db))
    except OSError as exc:
        _fail(db, [(row.id, f"blob_missing: {path} cannot be read ({exc.strerror or exc})")], moment)
        result.failed["blob"] += 1
        return
    except CryptoError:
        data = b""  # altered or truncated on disk: fails the hash check below
    if hashlib.sha256(data).hexdigest() != row.ref:
        # The bytes on our disk are not the ones filed: sending them would be a lie.
        _fail(db, [(row.id, f"hash_mismatch: the stored file {path} is corrupted")], moment)
        result.failed["blob"] += 1
        log.error("blob %s refused locally: the file's bytes do not match its hash", row.ref)
        return
    try:
        client.put_blob(row.ref, data)
    except RequestRefused as exc:
        if exc.code == "hash_mismatch":
            # Our copy checks out, so the bytes were damaged on the way: try again later.
            _defer(db, [row], str(exc), backoff, moment)
            result.deferred += 1
            return
        _fail(db, [(row.id, f"{exc.code or exc.status}: {exc}")], moment)
        result.failed["blob"] += 1
        return
    except SyncError as exc:
        _defer_if_transient(db, [row], exc, result, backoff, moment)
        raise
    _mark_sent(db, [row.id], moment)
    result.sent["blob"] += 1


def _push_decisions(db: sqlite_utils.Database, client: PlatformClient, result: PushResult,
                    backoff: Backoff, force: bool, moment: datetime) -> None:
    """Each decision to POST /v1/applications/{id}/decision; a 4xx (409 final, 404) fails it."""
    after = 0
    while rows := _due(db, "decision", after, 50, force, moment):
        for row in rows:
            after = row.id
            wire = json.loads(row.payload)
            try:
                client.post_decision(wire["application_id"], canonical_dumps(wire["body"]))
            except RequestRefused as exc:
                _fail(db, [(row.id, f"{exc.code or exc.status}: {exc}")], moment)
                result.failed["event"] += 1
                continue
            except SyncError as exc:
                _defer_if_transient(db, [row], exc, result, backoff, moment)
                raise
            _mark_sent(db, [row.id], moment)
            result.sent["event"] += 1


def _fail_blocked_applications(db: sqlite_utils.Database, result: PushResult,
                               moment: datetime) -> None:
    """Applications waiting for a file that was refused for good can never go: say so."""
    rows = db.execute(
        f"""SELECT o.id, json_extract(m.value, '$.sha256') FROM outbox o,
                  json_each({_MATERIALS}) m
           WHERE o.kind = 'application' AND o.state = 'pending'
           AND json_extract(m.value, '$.sha256') IS NOT NULL
           AND EXISTS (SELECT 1 FROM outbox b WHERE b.kind = 'blob' AND b.state = 'failed'
                       AND b.ref = json_extract(m.value, '$.sha256'))
           AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.kind = 'blob'
                           AND b.state IN ('pending', 'sent')
                           AND b.ref = json_extract(m.value, '$.sha256'))"""
    ).fetchall()
    reasons = {row_id: f"blob_failed:{sha}" for row_id, sha in rows}
    if reasons:
        _fail(db, list(reasons.items()), moment)
        result.failed["application"] += len(reasons)
        log.error("%d application(s) cannot be sent: a file they reference was refused",
                  len(reasons))


def _push_batches(db: sqlite_utils.Database, client: PlatformClient, kind: str,
                  result: PushResult, batch_size: int, backoff: Backoff, force: bool,
                  moment: datetime) -> None:
    after = 0
    while rows := _due(db, kind, after, batch_size, force, moment):
        after = rows[-1].id
        _send(db, client, kind, rows, result, backoff, moment)


def _send(db: sqlite_utils.Database, client: PlatformClient, kind: str, rows: Sequence[_Row],
          result: PushResult, backoff: Backoff, moment: datetime) -> None:
    try:
        answers = client.post_batch(f"{kind}s", [row.payload for row in rows])
    except RequestRefused as exc:
        # The request as a whole was refused (too large, malformed): find the record at fault by
        # halving; a single refused record is failed with the server's reason.
        if len(rows) > 1:
            half = len(rows) // 2
            _send(db, client, kind, rows[:half], result, backoff, moment)
            _send(db, client, kind, rows[half:], result, backoff, moment)
            return
        _fail(db, [(rows[0].id, f"{exc.code or exc.status}: {exc}")], moment)
        result.failed[kind] += 1
        return
    except SyncError as exc:
        _defer_if_transient(db, rows, exc, result, backoff, moment)
        raise
    _mark_batch(db, kind, rows, answers, result, backoff, moment)


def _mark_batch(db: sqlite_utils.Database, kind: str, rows: Sequence[_Row], answers: list,
                result: PushResult, backoff: Backoff, moment: datetime) -> None:
    """Apply the server's per-item answers to the batch, in one transaction."""
    # Only well-formed answers count; an id that is not text (a list, a number) names no record.
    by_id = {a["id"]: a for a in answers if isinstance(a, dict) and isinstance(a.get("id"), str)}
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    unanswered: list[_Row] = []
    for row in rows:
        answer = by_id.get(row.ref)
        verdict = answer.get("result") if answer else None
        if verdict in ("accepted", "duplicate"):
            sent.append(row.id)
            if verdict == "duplicate":
                result.duplicates[kind] += 1
        elif verdict == "rejected":
            failed.append((row.id, f"rejected: {answer.get('reason') or 'no reason given'}"))
        else:
            unanswered.append(row)
    with db.atomic():
        _mark_sent(db, sent, moment)
        _fail(db, failed, moment)
        _defer(db, unanswered, "the server gave no answer for this record", backoff, moment)
    result.sent[kind] += len(sent)
    result.failed[kind] += len(failed)
    result.deferred += len(unanswered)
    for row_id, reason in failed:
        log.error("%s outbox #%d rejected by the platform: %s", kind, row_id, reason)


# --- marking ---------------------------------------------------------------------------------


def _mark_sent(db: sqlite_utils.Database, ids: Sequence[int], moment: datetime) -> None:
    if not ids:
        return
    stamp = iso(moment)
    with db.atomic():
        db.conn.executemany(
            "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ? AND state = 'pending'",
            [(stamp, i) for i in ids],
        )


def _storable(text: str) -> str:
    """A reason for last_error: at most 500 characters, and no lone surrogate (a server's
    "\\ud800" in JSON) that SQLite would refuse to store."""
    return text[:500].encode("utf-8", "replace").decode("utf-8")


def _fail(db: sqlite_utils.Database, failures: Sequence[tuple[int, str]], moment: datetime) -> None:
    if not failures:
        return
    stamp = iso(moment)
    with db.atomic():
        db.conn.executemany(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = ? WHERE id = ? AND state = 'pending'",
            [(_storable(reason), stamp, i) for i, reason in failures],
        )


def _defer_if_transient(db: sqlite_utils.Database, rows: Sequence[_Row], exc: SyncError,
                        result: PushResult, backoff: Backoff, moment: datetime) -> None:
    """A network error, timeout or 5xx: these rows wait for their backoff; others stay due."""
    if is_transient(exc):
        _defer(db, rows, str(exc), backoff, moment)
        result.deferred += len(rows)


def _defer(db: sqlite_utils.Database, rows: Sequence[_Row], error: str, backoff: Backoff,
           moment: datetime) -> None:
    if not rows:
        return
    with db.atomic():
        db.conn.executemany(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE id = ? AND state = 'pending'",
            [(_storable(error), iso(moment + timedelta(seconds=backoff.delay(row.attempts + 1))),
              row.id)
             for row in rows],
        )


# --- what the admin screen and the heartbeat read --------------------------------------------


def depth(db: sqlite_utils.Database) -> int:
    """Records still waiting to reach the platform."""
    return db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]


def depth_by_kind(db: sqlite_utils.Database) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for kind, n in db.execute(
        "SELECT kind, COUNT(*) FROM outbox WHERE state = 'pending' GROUP BY kind"
    ).fetchall():
        counts[kind] = n
    return counts


@dataclass(frozen=True)
class FailedRecord:
    id: int
    kind: str
    ref: str
    label: str  # application number / event type / file size: what a person recognises
    attempts: int
    error: str
    at: str


def failed_records(db: sqlite_utils.Database, limit: int = 200) -> list[FailedRecord]:
    """Records the platform refused for good (newest first), kept for the administrator."""
    rows = db.execute(
        "SELECT id, kind, ref, payload, attempts, last_error, next_attempt_at FROM outbox "
        "WHERE state = 'failed' ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    out = []
    keys = atrest.keys_for(db)
    for row_id, kind, ref, payload, attempts, error, at in rows:
        try:
            data = json.loads(atrest.unseal(keys, payload, outbox_context(ref))
                              if kind == "application" else payload)
        except (CryptoError, ValueError):
            data = {"number": "(cannot be decrypted)"}
        label = {"application": data.get("number", ""), "event": data.get("type", ""),
                 "blob": f"{ref[:12]}… ({data.get('size', 0)} bytes)"}[kind]
        out.append(FailedRecord(row_id, kind, ref, label, attempts, error or "", at))
    return out


def failed_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'failed'").fetchone()[0]


def retry_failed(db: sqlite_utils.Database, ids: Sequence[int] | None = None) -> int:
    """Put failed records back in the queue (after the cause was fixed); returns how many."""
    stamp = iso(utc_now())
    with db.atomic():
        if ids is None:
            cur = db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ? WHERE state = 'failed'",
                [stamp],
            )
        else:
            cur = db.conn.executemany(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ? "
                "WHERE state = 'failed' AND id = ?",
                [(stamp, i) for i in ids],
            )
        return cur.rowcount


def prune_heartbeats(db: sqlite_utils.Database, keep_days: int = 7,
                     now: datetime | None = None) -> int:
    """Forget heartbeats the platform confirmed more than ``keep_days`` ago (telemetry only)."""
    cutoff = iso((now or utc_now()) - timedelta(days=keep_days))
    with db.atomic():
        ids = [r[0] for r in db.execute(
            "SELECT o.ref FROM outbox o JOIN events e ON e.id = o.ref "
            "WHERE o.kind = 'event' AND o.state = 'sent' AND e.type = 'heartbeat' "
            "AND o.sent_at < ?", [cutoff]).fetchall()]
        db.conn.executemany("DELETE FROM outbox WHERE kind = 'event' AND ref = ?",
                            [(i,) for i in ids])
        db.conn.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
    return len(ids)
