"""Encrypting a store that was plaintext, and rotating its data key without stopping the kiosk.

Rotation makes a new key current (new filings use it at once), then re-encrypts the old values
in small batches, each its own short transaction, so filing, the counter and the sync agent keep
working between batches; scan files are rewritten one by one (temp file + rename, so a reader
sees the old or the new file, both readable while the old key is kept). Only when a final
sweep finds nothing sealed with an old key is that key retired.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk import atrest, audit, crypto, freetext
from kiosk.applications import (
    SEALED_FIELDS,
    canonical_dumps,
    field_context,
    outbox_context,
    write_durably,
)
from kiosk.crypto import KeyRing
from kiosk.store import set_setting

BATCH = 50
PURGED = atrest.PURGED


def blobs_dir_of(db: sqlite_utils.Database) -> Path | None:
    data_dir = atrest.data_dir_of(db)
    return data_dir / "blobs" if data_dir else None


def blob_files(blobs_dir: Path | None) -> Iterator[Path]:
    """Every stored scan/photo file (``ab/<sha256>`` and captured pages ``ab/<sha256>.jpg``)."""
    if blobs_dir is None or not Path(blobs_dir).is_dir():
        return
    for sub in sorted(Path(blobs_dir).iterdir()):
        if sub.is_dir() and len(sub.name) == 2:
            for path in sorted(sub.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    yield path


def backup_files(db: sqlite_utils.Database) -> list[Path]:
    """The migration backups next to the store (``kiosk.db.before-<migration>.bak``)."""
    data_dir = atrest.data_dir_of(db)
    return sorted(data_dir.glob("*.bak")) if data_dir else []


def _reseal_backup(path: Path, keys: KeyRing) -> bool:
    """Rewrite a backup sealed with the current key (it was plaintext before 0007, or sealed
    with an older key); False when it already was."""
    data = path.read_bytes()
    if crypto.is_encrypted(data):
        if keys.key_id_of(data) == keys.current:
            return False
        data = atrest.open_backup_bytes(keys, data)
    write_durably(path, keys.encrypt_bytes(data, atrest.BACKUP_CONTEXT))
    return True


def _sha_of(path: Path) -> str:
    return path.name.split(".")[0]


def _reseal_file(path: Path, keys: KeyRing) -> bool:
    """Rewrite ``path`` sealed with the current key; False when it already was."""
    data = path.read_bytes()
    if crypto.is_encrypted(data) and keys.key_id_of(data) == keys.current:
        return False
    plain = atrest.unseal_bytes(keys, data, _sha_of(path), legacy=True)
    write_durably(path, atrest.seal_bytes(keys, plain, _sha_of(path)))
    return True


# --- migration 0007: a plaintext store becomes encrypted ---------------------------------


def encrypt_existing(db: sqlite_utils.Database) -> None:
    """Migration 0007: add the ID-number blind index, seal every plaintext personal field and
    application payload, and encrypt every scan file under the store's ``blobs`` directory."""
    db.execute("ALTER TABLE applications ADD COLUMN id_index TEXT")
    db.execute("CREATE INDEX applications_id_index ON applications(id_index, filed_at)")
    keys = atrest.keys_for(db)
    _reseal_rows(db, keys, limit=None)
    for path in blob_files(blobs_dir_of(db)):
        if not crypto.is_encrypted(path.read_bytes()):
            _reseal_file(path, keys)
    for path in backup_files(db):  # plaintext backups left by earlier migrations
        if not crypto.is_encrypted(path.read_bytes()):
            _reseal_backup(path, keys)


# --- rotation ------------------------------------------------------------------------------


def _stale(value: str | None, keys: KeyRing) -> bool:
    """Plaintext (not a purge marker of kiosk.retention) or sealed with an older key."""
    if value is None:
        return False
    if crypto.is_encrypted(value):
        return keys.key_id_of(value) != keys.current
    return not value.startswith(PURGED)


def _reseal_rows(db: sqlite_utils.Database, keys: KeyRing, limit: int | None) -> int:
    """Re-seal up to ``limit`` stale application rows and outbox payloads (one transaction)."""
    done = 0
    current = f"{crypto.TEXT_PREFIX}{keys.current}:%"
    with db.atomic():
        rows = db.execute(
            "SELECT id, applicant, form, prereview FROM applications WHERE (applicant NOT LIKE ? "
            "OR form NOT LIKE ? OR prereview NOT LIKE ?) AND applicant NOT LIKE ? LIMIT ?",
            [current, current, current, PURGED + "%", -1 if limit is None else limit]).fetchall()
        for app_id, *values in rows:
            fields = dict(zip(SEALED_FIELDS, values, strict=True))
            if not any(_stale(v, keys) for v in fields.values()):
                continue
            plain = {n: atrest.unseal(keys, v, field_context(n, app_id), legacy=True)
                     for n, v in fields.items()}
            if plain["applicant"].startswith(PURGED):
                continue  # purged by kiosk.retention: nothing personal left to seal
            applicant = json.loads(plain["applicant"])
            db.execute(
                "UPDATE applications SET applicant = ?, form = ?, prereview = ?, id_index = ? "
                "WHERE id = ?",
                [*(atrest.seal(keys, plain[n], field_context(n, app_id)) for n in SEALED_FIELDS),
                 atrest.id_index(keys, applicant.get("id_number", "")
                                 if isinstance(applicant, dict) else ""), app_id])
            done += 1
        left = None if limit is None else max(0, limit - done)
        if left == 0:
            return done
        rows = db.execute(
            "SELECT id, ref, payload FROM outbox WHERE kind = 'application' "
            "AND payload NOT LIKE ? AND payload NOT LIKE ? LIMIT ?",
            [current, PURGED + "%", -1 if left is None else left]).fetchall()
        for row_id, ref, payload in rows:
            if not _stale(payload, keys):
                continue
            plain = atrest.unseal(keys, payload, outbox_context(ref), legacy=True)
            db.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                       [atrest.seal(keys, plain, outbox_context(ref)), row_id])
            done += 1
    return done


# --- free text sealed inside plain JSON records (kiosk.freetext) -------------------------------

# Where a sealed free text lives: (table, id column, JSON column, SQL condition on the row,
# JSON path of the text). The condition picks the rows of the types that carry free text.
_TEXT_PLACES = [
    *(("events", "id", "payload", f"type = '{t}'", f"$.{k}")
      for t, ks in freetext.EVENT_TEXT.items() for k in ks),
    *(("outbox", "id", "payload", f"kind = 'event' AND json_extract(payload, '$.type') = '{t}'",
       f"$.{'body' if t == 'decision' else 'payload'}.{k}")
      for t, ks in freetext.EVENT_TEXT.items() for k in ks),
    *(("application_status", "seq", "detail", "1", f"$.{k}") for k in freetext.STATUS_TEXT),
]


def _resealed(keys: KeyRing, table: str, row_id: str, owner: str, record: Any) -> Any:
    """``record`` (a row's JSON) with its free text opened (plaintext taken as it is) and
    sealed again under the current key. ``owner``: the event type of an events row, the
    application id of a status row."""
    if table == "events":
        opened = freetext.open_event(keys, owner, row_id, record, legacy=True)
        return freetext.seal_event(keys, owner, row_id, opened)
    if table == "outbox":
        return freetext.seal_wire(keys, freetext.open_wire(keys, record, legacy=True))
    return freetext.seal_status(keys, owner, freetext.open_status(keys, owner, record,
                                                                   legacy=True))


def _reseal_texts(db: sqlite_utils.Database, keys: KeyRing, limit: int | None) -> int:
    """Re-seal up to ``limit`` records whose free text is plaintext or under an older key:
    evaluation and decision events, their outbox rows, status-history reasons (one transaction)."""
    done = 0
    current = f"{crypto.TEXT_PREFIX}{keys.current}:%"
    with db.atomic():
        for table, id_col, col, where, path in _TEXT_PLACES:
            left = -1 if limit is None else limit - done
            if left == 0:
                break
            owner = {"events": "type", "outbox": "ref"}.get(table, "application_id")
            rows = db.execute(
                f"SELECT {id_col}, {col}, {owner} FROM {table} WHERE {where} "
                f"AND json_type({col}, ?) = 'text' AND json_extract({col}, ?) != '' "
                f"AND json_extract({col}, ?) NOT LIKE ? AND json_extract({col}, ?) NOT LIKE ? "
                "LIMIT ?", [path, path, path, current, path, PURGED + "%", left]).fetchall()
            for row_id, text, owner_value in rows:
                value = _resealed(keys, table, str(row_id), str(owner_value), json.loads(text))
                db.execute(f"UPDATE {table} SET {col} = ? WHERE {id_col} = ?",
                           [canonical_dumps(value), row_id])
                done += 1
    return done


def _text_values(db: sqlite_utils.Database) -> Iterator[str]:
    """Every stored free text of kiosk.freetext (sealed or not, purge markers excepted)."""
    for table, _, col, where, path in _TEXT_PLACES:
        for (value,) in db.execute(
                f"SELECT json_extract({col}, ?) FROM {table} WHERE {where} "
                f"AND COALESCE(json_extract({col}, ?), '') != ''", [path, path]):
            yield str(value)


def encrypt_free_text(db: sqlite_utils.Database) -> None:
    """Migration 0009: seal the evaluation comments and clerks' reasons stored before."""
    _reseal_texts(db, atrest.keys_for(db), limit=None)


@dataclass
class RotationResult:
    new_key: str
    rows: int = 0
    files: int = 0
    retired: list[str] = field(default_factory=list)


def rotate(db: sqlite_utils.Database, blobs_dir: Path | None = None, *, batch: int = BATCH,
           retire: bool = True, actor: str = "admin") -> RotationResult:
    """Make a new data key current, re-encrypt everything in batches, then retire the old keys
    (only when a final sweep finds nothing left under them). Audited: key ids and counts."""
    keys = atrest.keys_for(db)
    old = [k for k in keys.keys if k != keys.current] + [keys.current]
    result = RotationResult(keys.rotate())
    set_setting(db, atrest.CURRENT_SETTING, keys.current)  # other processes reload
    result.files += reencrypt_all(db, blobs_dir, keys, batch, result)
    if retire:
        counts = usage(db, blobs_dir, keys)
        for key_id in old:
            if counts.get(key_id, 0) == 0:
                keys.retire(key_id)
                result.retired.append(key_id)
    audit.append(db, actor, "admin.key_rotation", result.new_key,
                 {"rows": result.rows, "files": result.files, "retired": result.retired})
    return result


def reencrypt_all(db: sqlite_utils.Database, blobs_dir: Path | None, keys: KeyRing, batch: int,
                  result: RotationResult) -> int:
    """Move every row (in batches) and file to the current key; returns files rewritten."""
    while n := _reseal_rows(db, keys, batch):
        result.rows += n
    while n := _reseal_texts(db, keys, batch):
        result.rows += n
    files = 0
    for path in blob_files(blobs_dir if blobs_dir is not None else blobs_dir_of(db)):
        files += _reseal_file(path, keys)
    for path in backup_files(db):
        files += _reseal_backup(path, keys)
    return files


def usage(db: sqlite_utils.Database, blobs_dir: Path | None, keys: KeyRing) -> Counter:
    """How many stored values each key id seals (``"plaintext"`` for values not encrypted)."""
    counts: Counter = Counter()

    def count(value: str | bytes) -> None:
        if crypto.is_encrypted(value):
            try:
                counts[keys.key_id_of(value)] += 1
            except crypto.CryptoError:
                counts["damaged"] += 1
        elif not (isinstance(value, str) and value.startswith(PURGED)):
            counts["plaintext"] += 1

    for row in db.execute("SELECT applicant, form, prereview FROM applications"):
        for value in row:
            count(value)
    for (payload,) in db.execute("SELECT payload FROM outbox WHERE kind = 'application'"):
        count(payload)
    for value in _text_values(db):
        count(value)
    for path in blob_files(blobs_dir if blobs_dir is not None else blobs_dir_of(db)):
        with open(path, "rb") as fh:
            count(fh.read(len(crypto.BLOB_MAGIC) + 1 + 255))
    for path in backup_files(db):
        with open(path, "rb") as fh:
            count(fh.read(len(crypto.BLOB_MAGIC) + 1 + 255))
    return counts


def status(db: sqlite_utils.Database, blobs_dir: Path | None = None) -> dict:
    """What ``kiosk admin keys status`` prints: where the keys are, which is current, usage."""
    keys = atrest.keys_for(db)
    return {"store": repr(keys.store), "current": keys.current, "keys": sorted(keys.keys),
            "usage": dict(usage(db, blobs_dir, keys))}


def open_backup(backup: Path, out: Path, keys: KeyRing) -> None:
    """Decrypt an encrypted migration backup to ``out`` (mode 0600) for a restore."""
    data = atrest.open_backup_bytes(keys, Path(backup).read_bytes())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# --- kiosk admin keys ----------------------------------------------------------------------


def add_keys_commands(adm_sub: Any) -> None:
    """Register ``kiosk admin keys status|rotate|open-backup`` under ``kiosk admin``."""
    cmd = adm_sub.add_parser("keys", help="the data keys that encrypt personal data at rest")
    sub = cmd.add_subparsers(dest="keys_command", required=True)
    sub.add_parser("status", help="where the keys are kept, the current key, what each seals")
    rot = sub.add_parser("rotate", help="new current key; re-encrypt in small batches while the "
                         "kiosk keeps running; retire the old key when nothing uses it")
    rot.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")
    rot.add_argument("--keep-old", action="store_true", help="do not retire the old key")
    back = sub.add_parser("open-backup", help="decrypt a migration backup (*.bak) for a restore")
    back.add_argument("backup", type=Path)
    back.add_argument("--out", type=Path, required=True, help="the SQLite file to write (0600)")


def admin_keys(args: Any, config: Any, data_dir: Any) -> int:
    """Run one ``kiosk admin keys`` command on this terminal's store."""
    from kiosk.store import open_store

    db = open_store(Path(data_dir) / "kiosk.db")
    try:
        if args.keys_command == "status":
            info = status(db)
            print(f"keys kept in: {info['store']}")
            print(f"current key: {info['current']}")
            for key_id in info["keys"]:
                print(f"  key {key_id}: {info['usage'].get(key_id, 0)} values")
            for other in ("plaintext", "damaged"):
                if info["usage"].get(other):
                    print(f"  {other}: {info['usage'][other]} values")
        elif args.keys_command == "rotate":
            done = rotate(db, batch=max(1, args.batch), retire=not args.keep_old,
                          actor=audit.cli_actor())
            print(f"new current key {done.new_key}: {done.rows} records and {done.files} files "
                  f"re-encrypted; retired: {', '.join(done.retired) or 'none'}")
        else:
            open_backup(args.backup, args.out, atrest.keys_for(db))
            # A decrypted copy of the store now exists: that is worth a record.
            audit.append(db, audit.cli_actor(), "admin.backup_opened", Path(args.backup).name)
            print(f"decrypted {args.backup} to {args.out}")
    except (crypto.CryptoError, OSError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    finally:
        db.conn.close()
    return 0


KEYS_ADMIN_COMMANDS = {"keys": admin_keys}
