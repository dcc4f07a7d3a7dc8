"""Applications filed at this terminal, and events, each written with its outbox records.

Filing is one transaction: the application, its first status row and the outbox rows (the
material files first, then the application itself) commit together or not at all, so nothing a
visitor filed can exist here without also being on its way to the platform. Material files are
stored by SHA-256 under the blob directory, durably, before that transaction commits.

Personal data is encrypted at rest (kiosk.atrest): the applicant, form and pre-review columns,
the application's frozen wire payload in the outbox, and every material file (still named by
the SHA-256 of its plaintext; read it with :func:`read_blob`).

The human number is hall + terminal + local date + per-day sequence
(``H0001-K01-20261207-0042``): unique with no network, because the hall and terminal ids are
unique and the sequence is taken from this store inside the filing transaction.
Later issues build forms, pre-review and receipts on top of this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from kiosk import atrest, freetext
from kiosk.config import Config
from kiosk.crypto import CryptoError, KeyRing

EVENT_TYPES = ("ticket", "evaluation", "audit", "heartbeat")
FILED = "filed"  # local status until the platform reports its own ("received", ...)


class ApplicationError(Exception):
    """An application could not be filed; the message says which part was wrong."""


@dataclass(frozen=True)
class Application:
    id: str
    number: str
    item_code: str
    hall_id: str
    terminal_id: str
    filed_at: str
    applicant: dict
    form: dict
    materials: list[dict]
    prereview: dict
    status: str
    updated_at: str

    def wire(self) -> dict:
        """The application as POST /v1/applications carries it (docs/protocol.md)."""
        return {
            "id": self.id, "number": self.number, "item_code": self.item_code,
            "hall_id": self.hall_id, "terminal_id": self.terminal_id, "filed_at": self.filed_at,
            "applicant": self.applicant, "form": self.form, "materials": self.materials,
            "prereview": self.prereview,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so stored times also compare correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def canonical_dumps(value: Any) -> str:
    """Compact, key-sorted JSON: the form stored for applications, events and decisions."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


PROGRESS_PATH = "/progress/"


def progress_url(guide_url_template: str, number: str) -> str:
    """The public progress page of an application, on the same site as the guides: what the
    receipt's and the notice's QR codes hold, and what kiosk.review.find reads back."""
    parts = urlsplit(guide_url_template)
    return f"{parts.scheme}://{parts.netloc}{PROGRESS_PATH}{number}"


def blob_path(blobs_dir: Path, sha256: str) -> Path:
    """Where a material file with this SHA-256 lives: fanned out by the first two hex digits."""
    return Path(blobs_dir) / sha256[:2] / sha256


def read_blob(blobs_dir: Path, sha256: str, keys: KeyRing) -> bytes:
    """The plaintext of the material file with this SHA-256 (decrypted; OSError if missing)."""
    return atrest.unseal_bytes(keys, blob_path(blobs_dir, sha256).read_bytes(), sha256)


def store_blob(blobs_dir: Path, data: bytes, keys: KeyRing) -> str:
    """Store ``data`` encrypted, named by the SHA-256 of the plaintext (temp file + fsync +
    rename); returns the hex digest. Storing the same bytes twice is harmless.
    """
    sha = hashlib.sha256(data).hexdigest()
    write_durably(blob_path(blobs_dir, sha), atrest.seal_bytes(keys, data, sha))
    return sha


def write_durably(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so that a power cut leaves the old or the new file."""
    # Always (re)write: a file already there may be the corrupted copy we are replacing.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself must survive a power cut too: sync the directory entry.
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _material_entries(materials: Iterable[dict], blobs_dir: Path, keys: KeyRing) -> list[dict]:
    """Store each material's bytes and replace them by their hash (the wire form)."""
    entries = []
    for n, material in enumerate(materials):
        if not isinstance(material, dict) or not material.get("material"):
            raise ApplicationError(f"material #{n + 1} has no name ('material')")
        entry = {k: v for k, v in material.items() if k not in ("data", "file")}
        data = material.get("data")
        if material.get("file") is not None:
            try:
                data = atrest.read_file(Path(material["file"]), keys)  # a captured page
            except OSError as exc:
                raise ApplicationError(
                    f"material {material['material']!r}: cannot read {material['file']}: "
                    f"{exc.strerror or exc}") from exc
            except CryptoError as exc:
                raise ApplicationError(
                    f"material {material['material']!r}: {material['file']} cannot be "
                    f"decrypted: {exc}") from exc
        if data is not None:
            entry["sha256"] = store_blob(blobs_dir, bytes(data), keys)
            entry["size"] = len(data)
        else:
            entry.setdefault("sha256", None)
        entries.append(entry)
    return entries


def next_number(db: sqlite_utils.Database, hall_id: str, terminal_id: str, day: str) -> str:
    """Take the next per-day number; call inside the filing transaction."""
    prefix = f"{hall_id}-{terminal_id}-{day}"
    (seq,) = db.execute(
        "INSERT INTO application_numbers (prefix, last) VALUES (?, 1) "
        "ON CONFLICT(prefix) DO UPDATE SET last = last + 1 RETURNING last",
        [prefix],
    ).fetchone()
    return f"{prefix}-{seq:04d}"


def _enqueue(db: sqlite_utils.Database, kind: str, ref: str, payload: str, now: str) -> None:
    db.execute(
        "INSERT INTO outbox (kind, ref, payload, created_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [kind, ref, payload, now, now],
    )


def file_application(
    db: sqlite_utils.Database,
    config: Config,
    item_code: str,
    applicant: dict,
    form: dict,
    materials: list[dict],
    blobs_dir: Path,
    *,
    prereview: dict | None = None,
    now: datetime | None = None,
) -> Application:
    """File an application: stored, numbered and queued for the platform in one transaction.

    ``materials``: dicts with ``material`` (its name in the guide) and the bytes as ``data`` or
    a ``file`` path (or neither, for a material not provided); other keys pass through.
    The files are stored by SHA-256 under ``blobs_dir`` before anything is committed.
    """
    if not item_code:
        raise ApplicationError("an application needs the service item's code")
    moment = now or utc_now()
    stamp = iso(moment)
    keys = atrest.keys_for(db)
    entries = _material_entries(materials, blobs_dir, keys)
    day = moment.astimezone().strftime("%Y%m%d")  # the hall's own calendar day
    app_id = str(uuid.uuid4())
    with db.atomic():
        number = next_number(db, config.hall_id, config.terminal_id, day)
        application = Application(
            id=app_id, number=number, item_code=item_code, hall_id=config.hall_id,
            terminal_id=config.terminal_id, filed_at=stamp, applicant=applicant, form=form,
            materials=entries, prereview=prereview or {}, status=FILED, updated_at=stamp,
        )
        sealed = seal_personal(keys, app_id, applicant, form, application.prereview)
        db.execute(
            f"INSERT INTO applications ({APPLICATION_COLUMNS}, id_index) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [app_id, number, item_code, config.hall_id, config.terminal_id, stamp,
             sealed["applicant"], sealed["form"], canonical_dumps(entries), sealed["prereview"],
             FILED, stamp, atrest.id_index(keys, applicant.get("id_number", ""))],
        )
        db.execute(
            "INSERT INTO application_status (application_id, number, status, at, source) "
            "VALUES (?, ?, ?, ?, 'local')",
            [app_id, number, FILED, stamp],
        )
        # Blobs before the application: the platform refuses an application whose files it lacks.
        for sha in dict.fromkeys(e["sha256"] for e in entries if e.get("sha256")):
            already = db.execute(
                "SELECT 1 FROM outbox WHERE kind = 'blob' AND ref = ? AND state != 'failed'",
                [sha],
            ).fetchone()
            if not already:
                size = next(e["size"] for e in entries if e.get("sha256") == sha)
                _enqueue(db, "blob", sha, canonical_dumps({"size": size}), stamp)
        _enqueue(db, "application", app_id, atrest.seal(
            keys, canonical_dumps(application.wire()), outbox_context(app_id)), stamp)
        from kiosk import audit  # here: kiosk.audit imports this module

        audit.append(db, f"kiosk:{config.terminal_id}", "application.filed", number,
                     {"item": item_code}, now=moment)
    return application


def record_event(
    db: sqlite_utils.Database, type: str, payload: dict, *, now: datetime | None = None
) -> str:
    """Record an event (ticket, evaluation, audit, heartbeat) and queue it; returns its id."""
    if type not in EVENT_TYPES:
        raise ApplicationError(f"unknown event type {type!r}; one of {', '.join(EVENT_TYPES)}")
    stamp = iso(now or utc_now())
    event_id = str(uuid.uuid4())
    # Free text a person wrote (an evaluation's comment) is sealed at rest (kiosk.freetext).
    if type in freetext.EVENT_TEXT:
        payload = freetext.seal_event(atrest.keys_for(db), type, event_id, payload)
    wire = {"id": event_id, "type": type, "at": stamp, "payload": payload}
    with db.atomic():
        db.execute("INSERT INTO events VALUES (?, ?, ?, ?)", [event_id, type, stamp, canonical_dumps(payload)])
        _enqueue(db, "event", event_id, canonical_dumps(wire), stamp)
    return event_id


# Personal fields of an application, sealed each under its own context (field + record).
SEALED_FIELDS = ("applicant", "form", "prereview")
APPLICATION_COLUMNS = ("id, number, item_code, hall_id, terminal_id, filed_at, applicant, form, "
                       "materials, prereview, status, updated_at")


def field_context(name: str, app_id: str) -> str:
    return f"applications.{name}:{app_id}"


def outbox_context(app_id: str) -> str:
    """The context of an application's frozen wire payload in the outbox."""
    return f"outbox.application:{app_id}"


def seal_personal(keys: KeyRing, app_id: str, applicant: dict, form: dict,
                  prereview: dict) -> dict[str, str]:
    """The sealed column values of an application's personal fields."""
    values = {"applicant": applicant, "form": form, "prereview": prereview}
    return {name: atrest.seal(keys, canonical_dumps(values[name]), field_context(name, app_id))
            for name in SEALED_FIELDS}


def _row_to_application(row: tuple, keys: KeyRing) -> Application:
    (id_, number, item_code, hall_id, terminal_id, filed_at, applicant, form, materials,
     prereview, status, updated_at) = row

    def opened(name: str, value: str) -> Any:
        return json.loads(atrest.unseal(keys, value, field_context(name, id_)))

    return Application(id_, number, item_code, hall_id, terminal_id, filed_at,
                       opened("applicant", applicant), opened("form", form), json.loads(materials),
                       opened("prereview", prereview), status, updated_at)


def get_application(db: sqlite_utils.Database, key: str) -> Application | None:
    """The application with this id or human number (personal fields decrypted), or None."""
    row = db.execute(
        f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE id = ? OR number = ?", [key, key]
    ).fetchone()
    return _row_to_application(row, atrest.keys_for(db)) if row else None


def status_history(db: sqlite_utils.Database, application_id: str) -> list[dict]:
    """Every status the application had, oldest first."""
    rows = db.execute(
        "SELECT status, at, detail, source FROM application_status WHERE application_id = ? "
        "ORDER BY at, seq",
        [application_id],
    ).fetchall()
    keys = atrest.keys_for(db)
    return [{"status": s, "at": at, "detail": _opened_detail(keys, application_id, d), "source": src}
            for s, at, d, src in rows]


def _opened_detail(keys: KeyRing, application_id: str, detail: str) -> Any:
    """A status detail with its sealed reason opened; one that cannot be opened shows none."""
    value = json.loads(detail)
    try:
        opened = freetext.open_status(keys, application_id, value)
    except CryptoError:
        return {**value, "reason": ""}
    if isinstance(opened, dict) and str(opened.get("reason", "")).startswith(atrest.PURGED):
        return {**opened, "reason": ""}  # purged by kiosk.retention: no text to show
    return opened
