"""The terminal's local SQLite store: opening, pragmas and numbered migrations.

Every terminal keeps one store (catalog cache, later the outbox and the local queue).
The schema changes only through the ordered migrations below; each runs in its own
transaction, is recorded in ``_migrations``, and the file is backed up before any
pending migration touches an existing database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def m0001_catalog(db: sqlite_utils.Database) -> None:
    """Catalog cache: departments, items and the versions applied."""
    db.execute(
        """CREATE TABLE catalog_versions (
            version INTEGER PRIMARY KEY,
            published TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            source TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('current', 'previous', 'retired')),
            bundle TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE departments (
            code TEXT PRIMARY KEY,
            sort INTEGER NOT NULL,
            name_zh_hans TEXT NOT NULL,
            name_zh_hant TEXT NOT NULL,
            name_en TEXT NOT NULL,
            data TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE items (
            code TEXT PRIMARY KEY,
            department TEXT NOT NULL REFERENCES departments(code),
            queue_category TEXT NOT NULL,
            kind TEXT NOT NULL,
            online_level INTEGER NOT NULL,
            sort INTEGER NOT NULL,
            name_zh_hans TEXT NOT NULL,
            name_zh_hant TEXT NOT NULL,
            name_en TEXT NOT NULL,
            data TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX items_department ON items(department, sort)")
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def m0002_search(db: sqlite_utils.Database) -> None:
    """Search index over the catalog (see kiosk.search)."""
    from kiosk import search

    search.create_tables(db)


def m0003_outbox_applications(db: sqlite_utils.Database) -> None:
    """Applications filed here, their status history, events, and the outbox to the platform.

    Every record the platform must get is written with its outbox row in one transaction
    (kiosk.applications); kiosk.sync.outbox marks a row sent only on the server's per-item answer.
    """
    db.execute(
        """CREATE TABLE applications (
            id TEXT PRIMARY KEY,             -- uuid4 made here: the idempotency key upstream
            number TEXT NOT NULL UNIQUE,     -- H0001-K01-20261207-0042, unique with no network
            item_code TEXT NOT NULL,
            hall_id TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            filed_at TEXT NOT NULL,
            applicant TEXT NOT NULL,         -- JSON
            form TEXT NOT NULL,              -- JSON
            materials TEXT NOT NULL,         -- JSON list: material, sha256 | null, ...
            prereview TEXT NOT NULL,         -- JSON
            status TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    # Status history: our own 'filed' row plus every change pulled from the platform (for the
    # whole hall, so application_id may name an application filed at another terminal).
    db.execute(
        """CREATE TABLE application_status (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            application_id TEXT NOT NULL,
            number TEXT,
            status TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            source TEXT NOT NULL CHECK (source IN ('local', 'platform'))
        )"""
    )
    db.execute(
        "CREATE UNIQUE INDEX application_status_once ON application_status(application_id, status, at)"
    )
    # Per-day sequence behind the human number, taken inside the filing transaction.
    db.execute(
        """CREATE TABLE application_numbers (
            prefix TEXT PRIMARY KEY,         -- hall-terminal-date
            last INTEGER NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            at TEXT NOT NULL,
            payload TEXT NOT NULL            -- JSON
        )"""
    )
    db.execute(
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('blob', 'application', 'event')),
            ref TEXT NOT NULL,               -- sha256 / application id / event id
            payload TEXT NOT NULL,           -- the exact JSON sent (frozen: retries are identical)
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,   -- ISO 8601 UTC; backoff after a failed attempt
            last_error TEXT,
            sent_at TEXT
        )"""
    )
    db.execute("CREATE INDEX outbox_due ON outbox(state, kind, next_attempt_at)")
    db.execute("CREATE INDEX outbox_ref ON outbox(kind, ref)")


def m0004_print_jobs(db: sqlite_utils.Database) -> None:
    """Durable print jobs: stored before sending, reprints, print counts (see kiosk.print_jobs)."""
    from kiosk import print_jobs

    print_jobs.create_tables(db)


def m0005_queue(db: sqlite_utils.Database) -> None:
    """Hall queue: tickets issued here, offline number blocks, a counter's journal, staff PINs."""
    from kiosk import queue

    queue.create_local_tables(db)


def m0006_audit(db: sqlite_utils.Database) -> None:
    """Tamper-evident audit trail, records chained by SHA-256 (see kiosk.audit)."""
    from kiosk import audit

    audit.create_tables(db)


def m0007_encrypt_at_rest(db: sqlite_utils.Database) -> None:
    """Personal fields, application payloads, scan files and old backups encrypted (kiosk.rekey)."""
    from kiosk import rekey

    rekey.encrypt_existing(db)


def m0008_staff_roles(db: sqlite_utils.Database) -> None:
    """Staff roles, clerk or admin (see kiosk.staff)."""
    from kiosk import staff

    staff.create_tables(db)


def m0009_seal_free_text(db: sqlite_utils.Database) -> None:
    """Evaluation comments and clerks' reasons stored before are sealed (kiosk.freetext)."""
    from kiosk import rekey

    rekey.encrypt_free_text(db)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_catalog", m0001_catalog),
    ("0002_search", m0002_search),
    ("0003_outbox_applications", m0003_outbox_applications),
    ("0004_print_jobs", m0004_print_jobs),
    ("0005_queue", m0005_queue),
    ("0006_audit", m0006_audit),
    ("0007_encrypt_at_rest", m0007_encrypt_at_rest),
    ("0008_staff_roles", m0008_staff_roles),
    ("0009_seal_free_text", m0009_seal_free_text),
]


class StoreError(Exception):
    """The store cannot be opened or migrated; the message says why."""


def open_store(path: Path | str, *, migrations: list[tuple[str, Migration]] | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        # WAL lets the UI read while a worker writes; FULL makes a commit survive a power cut.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        # Freed space is zeroed: a value replaced by its ciphertext leaves no plaintext behind.
        db.execute("PRAGMA secure_delete=ON")
        ran = migrate(db, path, MIGRATIONS if migrations is None else migrations)
        if {"0007_encrypt_at_rest", "0009_seal_free_text"} & set(ran) and str(path) != ":memory:":
            # Rewrite the file and empty the WAL: no page of the plaintext store survives.
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if str(path) != ":memory:":
            _open_data_keys(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the local store {path}: {exc}") from exc
    return db


def _open_data_keys(db: sqlite_utils.Database) -> None:
    """Load the data keys with the store (kiosk.atrest), so that a key file with the wrong
    mode shows at start-up and the first filing does not pay for loading them."""
    from kiosk import atrest
    from kiosk.crypto import CryptoError

    try:
        atrest.keys_for(db)
    except CryptoError as exc:  # still open the store: catalog and queue need no keys
        logging.getLogger(__name__).error("the data keys cannot be used: %s", exc)


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        return []
    return [row["name"] for row in db.query("SELECT name FROM _migrations ORDER BY name")]


def migrate(db: sqlite_utils.Database, path: Path, migrations: list[tuple[str, Migration]]) -> list[str]:
    """Run the migrations not yet recorded, in order. Returns the names it ran."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = set(applied_migrations(db))
    pending = [(name, fn) for name, fn in migrations if name not in done]
    if not pending:
        return []
    if done and str(path) != ":memory:":
        from kiosk import atrest  # encrypted: a backup is no plaintext copy of the store

        atrest.write_backup(db, path.with_name(f"{path.name}.before-{pending[0][0]}.bak"))
    ran = []
    for name, fn in pending:
        # IMMEDIATE takes the write lock first: two threads or processes opening a new store at
        # once run each migration exactly once (the second sees it recorded and skips it).
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone():
                db.conn.execute("COMMIT")
                continue
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
            db.conn.execute("COMMIT")
        except BaseException:
            db.conn.rollback()
            raise
        ran.append(name)
    return ran


def backup(db: sqlite_utils.Database, target: Path) -> None:
    """Copy the live database consistently (SQLite's online backup) to ``target``."""
    dest = sqlite3.connect(str(target))
    try:
        db.conn.backup(dest)
    finally:
        dest.close()


def get_setting(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    with db.atomic():
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
