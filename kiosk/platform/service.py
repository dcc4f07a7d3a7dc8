"""What the platform server does, apart from HTTP: the rules of protocol v1 over PlatformDB.

Each function takes the caller (a Principal) and already-validated input, and either returns the
answer or raises ApiError with the protocol's error code. Every batch is one transaction: a
batch is stored whole or not at all, and a retried batch finds its records and answers
``duplicate`` for each, so nothing is doubled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.platform import audit_anchor
from kiosk.platform.db import PlatformDB, Principal, now_iso
from kiosk.platform.models import Application, DecisionIn, Event
from kiosk.sync.signing import canonical_json, verify_bundle

STATUS_OF_DECISION = {"accept": "accepted", "return": "returned", "reject": "rejected"}
FINAL_STATUSES = ("accepted", "rejected")
STATUS_PAGE_MAX = 1000


class ApiError(Exception):
    """A refusal with an HTTP status, a protocol error code and a sentence for a person."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def require_admin(who: Principal) -> None:
    if who.role != "admin":
        raise ApiError(403, "forbidden", "this call needs an admin token")


def require_terminal(who: Principal) -> None:
    if who.role != "terminal":
        raise ApiError(403, "forbidden", "this call needs a terminal token (admin tokens only "
                       "publish catalogs, enroll and list terminals)")


def content_hash(record: Any) -> str:
    """SHA-256 of the canonical JSON: two sends of the same record hash the same."""
    try:
        return hashlib.sha256(canonical_json(record)).hexdigest()
    except ValueError as exc:  # json.loads lets NaN/Infinity in; JSON itself has no such numbers
        raise ApiError(422, "invalid", f"not storable as JSON: {exc}") from exc


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- catalog ------------------------------------------------------------------------------

def publish_catalog(db: PlatformDB, public_key: Ed25519PublicKey | None,
                    bundle: dict, signature: str | None) -> tuple[bool, int]:
    """Check and store a signed bundle. Returns (created, version); False = same one again."""
    from kiosk.catalog import CatalogError, validate_bundle

    if public_key is None:
        raise ApiError(409, "conflict", "this server was started without --catalog-key, so it "
                       "cannot check signatures and refuses every publication")
    if not signature:
        raise ApiError(422, "bad_signature", "the bundle is not signed")
    try:
        text = canonical_json(bundle)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"the bundle cannot be put in canonical JSON: {exc}") from exc
    if not verify_bundle(bundle, signature, public_key):
        raise ApiError(422, "bad_signature", "the signature does not match the bundle: it was "
                       "changed after signing, or signed with another key than this server's")
    version = bundle.get("version")
    if type(version) is int:
        # Decide the cheap cases before the schema check, which takes seconds on a big catalog.
        with db.read() as conn:
            if _check_version(conn, version, signature):
                return False, version
    try:
        validate_bundle(bundle)
    except CatalogError as exc:
        raise ApiError(422, "invalid", str(exc)) from exc
    with db.write() as conn:
        if _check_version(conn, version, signature):  # again: another publisher may have won
            return False, version
        conn.execute("INSERT INTO catalogs (version, bundle, signature, items, published_at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (version, text.decode("utf-8"), signature, len(bundle["items"]), now_iso()))
    return True, version


def _check_version(conn, version: int, signature: str) -> bool:
    """True when exactly this publication is already stored; ApiError when it is stale."""
    same = conn.execute("SELECT signature FROM catalogs WHERE version = ?", (version,)).fetchone()
    if same is not None:
        if same[0] == signature:  # Ed25519 is deterministic: same signature, same bundle
            return True
        raise ApiError(409, "stale_version", f"version {version} is already published with "
                       "other content; publish a higher version")
    current = conn.execute("SELECT MAX(version) FROM catalogs").fetchone()[0]
    if current is not None and version <= current:
        raise ApiError(409, "stale_version", f"version {version} is not newer than the "
                       f"current version {current}")
    return False


def latest_catalog_version(db: PlatformDB) -> int | None:
    """The newest published version (cheap: terminals poll this every sync round)."""
    with db.read() as conn:
        return conn.execute("SELECT MAX(version) FROM catalogs").fetchone()[0]


def catalog(db: PlatformDB, version: int) -> tuple[str, str]:
    """(canonical bundle JSON, signature) of a published version."""
    with db.read() as conn:
        row = conn.execute("SELECT bundle, signature FROM catalogs WHERE version = ?",
                           (version,)).fetchone()
    if row is None:
        raise ApiError(404, "not_found", f"catalog version {version} is not on this server")
    return row[0], row[1]


# --- blobs --------------------------------------------------------------------------------

def blob_known(db: PlatformDB, sha256: str) -> bool:
    with db.read() as conn:
        return conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,)).fetchone() is not None


def record_blob(db: PlatformDB, sha256: str, size: int) -> None:
    """Note a blob whose file is already durably in place (written before this row)."""
    with db.write() as conn:
        conn.execute("INSERT INTO blobs (sha256, size, stored_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (sha256) DO NOTHING", (sha256, size, now_iso()))


# --- applications -------------------------------------------------------------------------

def file_applications(db: PlatformDB, who: Principal,
                      applications: Sequence[Application]) -> list[dict[str, Any]]:
    """Store a batch; one result per application, in order (protocol.md POST /v1/applications)."""
    require_terminal(who)
    results: list[dict[str, Any]] = []
    now = now_iso()
    prepared = [(app, record, content_hash(record))
                for app in applications for record in [app.model_dump()]]
    with db.write() as conn:
        for app, record, digest in prepared:
            result = _file_one(conn, who, app, record, digest, now)
            results.append({"id": app.id, **result})
    return results


def _file_one(conn, who: Principal, app: Application, record: dict, digest: str,
              now: str) -> dict[str, Any]:
    if app.hall_id != who.hall_id:
        return {"result": "rejected", "reason": "wrong_hall"}
    if app.terminal_id != who.terminal_id:
        return {"result": "rejected", "reason": "wrong_terminal"}
    known = conn.execute("SELECT content_hash FROM applications WHERE id = ?", (app.id,)).fetchone()
    if known is not None:
        if known[0] == digest:
            return {"result": "duplicate", "reason": None}
        return {"result": "rejected", "reason": "conflict"}
    for material in app.materials:
        sha = material.sha256
        if sha and conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone() is None:
            return {"result": "rejected", "reason": f"missing_blob:{sha}"}
    conn.execute(
        "INSERT INTO applications (id, hall_id, terminal_id, number, item_code, filed_at, "
        "content_hash, data, status, received_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?)",
        (app.id, app.hall_id, app.terminal_id, app.number, app.item_code, app.filed_at, digest,
         _dumps(record), now, now),
    )
    conn.execute(
        "INSERT INTO status_changes (hall_id, application_id, number, status, at, detail) "
        "VALUES (?, ?, ?, 'received', ?, ?)",
        (app.hall_id, app.id, app.number, now, _dumps({"filed_at": app.filed_at})),
    )
    return {"result": "accepted", "reason": None}


def parse_cursor(since: str | None) -> int:
    if since is None or since == "":
        return 0
    if not since.isdigit() or len(since) > 18:
        raise ApiError(422, "invalid", f"since={since!r} is not a cursor this server gave out; "
                       "start without since")
    return int(since)


def status_changes(db: PlatformDB, who: Principal, since: str | None,
                   limit: int = 500) -> dict[str, Any]:
    """Status changes of the caller's hall after the cursor, oldest first, one page."""
    require_terminal(who)
    after = parse_cursor(since)
    limit = max(1, min(limit, STATUS_PAGE_MAX))
    with db.read() as conn:
        rows = conn.execute(
            "SELECT seq, application_id, number, status, at, detail FROM status_changes "
            "WHERE hall_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (who.hall_id, after, limit + 1),
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1][0] if rows else after
    changes = [{"id": r[1], "number": r[2], "status": r[3], "at": r[4], "detail": json.loads(r[5])}
               for r in rows]
    return {"changes": changes, "cursor": str(cursor), "more": more}


def application_status(db: PlatformDB, who: Principal, number: str) -> dict[str, Any]:
    """An application of the caller's hall by its number, with every status it had.

    Another hall's application answers 404 like an unknown one: a terminal learns nothing
    about halls it does not belong to.
    """
    require_terminal(who)
    with db.read() as conn:
        app = conn.execute("SELECT id, number, item_code, status FROM applications "
                           "WHERE hall_id = ? AND number = ?", (who.hall_id, number)).fetchone()
        if app is None:
            raise ApiError(404, "not_found", f"no application {number!r} in hall {who.hall_id}")
        rows = conn.execute("SELECT status, at, detail FROM status_changes "
                            "WHERE application_id = ? ORDER BY seq", (app[0],)).fetchall()
    history = [{"status": r[0], "at": r[1], "detail": json.loads(r[2])} for r in rows]
    return {"id": app[0], "number": app[1], "item_code": app[2], "status": app[3],
            "history": history}


def decide(db: PlatformDB, who: Principal, application_id: str, decision: DecisionIn) -> str:
    """Record a clerk's decision once (idempotent by decision_id); returns the new status."""
    require_terminal(who)
    record = decision.model_dump()
    digest = content_hash({"application_id": application_id, **record})
    now = now_iso()
    with db.write() as conn:
        app = conn.execute("SELECT hall_id, number, status FROM applications WHERE id = ?",
                           (application_id,)).fetchone()
        if app is None:
            raise ApiError(404, "not_found", f"no application {application_id} on this server")
        hall_id, number, status = app
        if hall_id != who.hall_id:
            raise ApiError(403, "forbidden", f"application {application_id} belongs to another hall")
        prior = conn.execute("SELECT content_hash, status FROM decisions WHERE decision_id = ?",
                             (decision.decision_id,)).fetchone()
        if prior is not None:
            if prior[0] == digest:
                return prior[1]
            raise ApiError(409, "conflict", f"decision_id {decision.decision_id} was already "
                           "used for a different decision")
        if status in FINAL_STATUSES:
            raise ApiError(409, "conflict", f"application {number} is already {status}; "
                           "that decision is final")
        new_status = STATUS_OF_DECISION[decision.decision]
        conn.execute("INSERT INTO decisions (decision_id, application_id, content_hash, status, "
                     "data, decided_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (decision.decision_id, application_id, digest, new_status, _dumps(record), now))
        conn.execute("UPDATE applications SET status = ?, updated_at = ? WHERE id = ?",
                     (new_status, now, application_id))
        conn.execute(
            "INSERT INTO status_changes (hall_id, application_id, number, status, at, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (hall_id, application_id, number, new_status, now, _dumps(record)),
        )
    return new_status


# --- events -------------------------------------------------------------------------------

def _utc(text: str) -> str:
    """An ISO time in one comparable form (UTC, milliseconds); naive times are taken as UTC."""
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


def record_events(db: PlatformDB, who: Principal, events: Sequence[Event]) -> list[dict[str, Any]]:
    """Store a batch of events; a heartbeat also updates its terminal's health record."""
    require_terminal(who)
    results: list[dict[str, Any]] = []
    now = now_iso()
    prepared = [(event, content_hash(event.model_dump())) for event in events]
    audit_records: list[Any] = []
    with db.write() as conn:
        for event, digest in prepared:
            known = conn.execute("SELECT content_hash, hall_id, terminal_id FROM events "
                                 "WHERE id = ?", (event.id,)).fetchone()
            if known is not None:
                same = known[0] == digest and tuple(known[1:]) == (who.hall_id, who.terminal_id)
                results.append({"id": event.id, "result": "duplicate" if same else "rejected",
                                "reason": None if same else "conflict"})
                continue
            conn.execute("INSERT INTO events (id, hall_id, terminal_id, type, at, content_hash, "
                         "payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (event.id, who.hall_id, who.terminal_id, event.type, event.at, digest,
                          _dumps(event.payload), now))
            if event.type == "heartbeat":
                _heartbeat(conn, who, _utc(event.at), event.payload, now)
            elif event.type == "audit":
                audit_records.append(event.payload)
            results.append({"id": event.id, "result": "accepted", "reason": None})
        if audit_records:
            audit_anchor.take_records(conn, str(who.hall_id), str(who.terminal_id),
                                      audit_records, now)
    return results


def get_audit_anchor(db: PlatformDB, who: Principal, hall_id: str,
                     terminal_id: str) -> dict[str, Any]:
    """A terminal's audit anchor, for that terminal itself or an admin."""
    if who.role != "admin" and (who.hall_id, who.terminal_id) != (hall_id, terminal_id):
        raise ApiError(403, "forbidden", "a terminal reads only its own audit anchor")
    with db.read() as conn:
        return audit_anchor.anchor(conn, hall_id, terminal_id)


def _heartbeat(conn, who: Principal, at: str, payload: dict, now: str) -> None:
    # An old heartbeat replayed from an outbox says the terminal is alive now (last_seen) but
    # must not overwrite a newer health report.
    conn.execute(
        "INSERT INTO terminals (hall_id, terminal_id, enrolled_at, last_seen, heartbeat_at, "
        "heartbeat) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (hall_id, terminal_id) DO UPDATE SET last_seen = excluded.last_seen",
        (who.hall_id, who.terminal_id, now, now, at, _dumps(payload)),
    )
    conn.execute(
        "UPDATE terminals SET heartbeat_at = ?, heartbeat = ? WHERE hall_id = ? AND "
        "terminal_id = ? AND (heartbeat_at IS NULL OR heartbeat_at <= ?)",
        (at, _dumps(payload), who.hall_id, who.terminal_id, at),
    )


# --- terminals ----------------------------------------------------------------------------

def enroll(db: PlatformDB, who: Principal, hall_id: str, terminal_id: str) -> str:
    require_admin(who)
    return db.enroll_terminal(hall_id, terminal_id)


def list_terminals(db: PlatformDB, who: Principal) -> list[dict[str, Any]]:
    require_admin(who)
    with db.read() as conn:
        rows = conn.execute("SELECT hall_id, terminal_id, enrolled_at, last_seen, heartbeat_at, "
                            "heartbeat FROM terminals ORDER BY hall_id, terminal_id").fetchall()
    return [{"hall_id": r[0], "terminal_id": r[1], "enrolled_at": r[2], "last_seen": r[3],
             "heartbeat_at": r[4], "heartbeat": json.loads(r[5]) if r[5] else None}
            for r in rows]
