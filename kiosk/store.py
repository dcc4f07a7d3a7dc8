"""The terminal's local SQLite store: opening, pragmas and numbered migrations.

Every terminal keeps one store (catalog cache, later the outbox and the local queue).
The schema changes only through the ordered migrations below; each runs in its own
transaction, is recorded in ``_migrations``, and the file is backed up before any
pending migration touches an existing database.
"""

from __future__ import annotations

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


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_catalog", m0001_catalog),
    ("0002_search", m0002_search),
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
        migrate(db, path, MIGRATIONS if migrations is None else migrations)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the local store {path}: {exc}") from exc
    return db


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
        backup(db, path.with_name(f"{path.name}.before-{pending[0][0]}.bak"))
    for name, fn in pending:
        with db.atomic():
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
    return [name for name, _ in pending]


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
