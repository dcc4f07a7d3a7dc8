"""Storage of the reference platform server: database URL, connection, numbered migrations.

SQLite by default (WAL, synchronous=FULL: an answered request survives a power cut). The SQL is
kept plain (no SQLite-only functions in queries, ``ON CONFLICT ... DO NOTHING`` rather than
``INSERT OR IGNORE``) so a PostgreSQL backend can be added behind the same interface; until then
``postgresql://`` URLs are refused with a message that says so.

All access goes through one connection guarded by a lock: the server's request threads take turns,
a write is one ``BEGIN IMMEDIATE`` transaction, and several server processes on one SQLite file
wait for each other through the busy timeout instead of failing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit


class DatabaseURLError(ValueError):
    """The --db URL names no usable database; the message says what is accepted."""


class PlatformDBError(Exception):
    """The platform database cannot be opened or migrated."""


def now_iso() -> str:
    """Server time, UTC, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def sqlite_path_from_url(url: str) -> Path:
    """``sqlite:///relative.db`` / ``sqlite:////abs/path.db`` / a bare path → the file path."""
    if "://" not in url:
        if not url:
            raise DatabaseURLError("the database URL is empty; use sqlite:///PATH")
        return Path(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        raise DatabaseURLError(
            "the PostgreSQL backend is not built yet in this reference server; "
            "use a SQLite URL such as sqlite:///var/lib/kiosk/platform.db"
        )
    if scheme != "sqlite":
        raise DatabaseURLError(f"unsupported database URL scheme {parts.scheme!r}; "
                               "use sqlite:///PATH")
    if parts.netloc:
        raise DatabaseURLError(f"{url!r}: a SQLite URL has no host; write sqlite:///PATH "
                               "(three slashes, four for an absolute path)")
    path = unquote(parts.path)
    # sqlite:///x.db has path "/x.db" (relative), sqlite:////abs/x.db has "//abs/x.db".
    path = path[1:] if path.startswith("/") else path
    if not path or path == ":memory:":
        raise DatabaseURLError(f"{url!r}: the platform database must be a file")
    return Path(path)


# --- schema --------------------------------------------------------------------------------

def _m0001_init(conn: sqlite3.Connection) -> None:
    """Tokens, terminals, catalogs, blobs, applications with their status history, events."""
    statements = [
        """CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('admin', 'terminal')),
            hall_id TEXT,
            terminal_id TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
        "CREATE INDEX tokens_terminal ON tokens (hall_id, terminal_id)",
        """CREATE TABLE terminals (
            hall_id TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            enrolled_at TEXT NOT NULL,
            last_seen TEXT,
            heartbeat_at TEXT,
            heartbeat TEXT,
            PRIMARY KEY (hall_id, terminal_id)
        )""",
        """CREATE TABLE catalogs (
            version INTEGER PRIMARY KEY,
            bundle TEXT NOT NULL,
            signature TEXT NOT NULL,
            items INTEGER NOT NULL,
            published_at TEXT NOT NULL
        )""",
        """CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            stored_at TEXT NOT NULL
        )""",
        """CREATE TABLE applications (
            id TEXT PRIMARY KEY,
            hall_id TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            number TEXT NOT NULL,
            item_code TEXT NOT NULL,
            filed_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            data TEXT NOT NULL,
            status TEXT NOT NULL,
            received_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX applications_number ON applications (hall_id, number)",
        # seq is the status cursor: it only grows (AUTOINCREMENT never reuses a value; a
        # PostgreSQL migration would use GENERATED ALWAYS AS IDENTITY).
        """CREATE TABLE status_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            hall_id TEXT NOT NULL,
            application_id TEXT NOT NULL REFERENCES applications (id),
            number TEXT NOT NULL,
            status TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX status_changes_hall ON status_changes (hall_id, seq)",
        """CREATE TABLE decisions (
            decision_id TEXT PRIMARY KEY,
            application_id TEXT NOT NULL REFERENCES applications (id),
            content_hash TEXT NOT NULL,
            status TEXT NOT NULL,
            data TEXT NOT NULL,
            decided_at TEXT NOT NULL
        )""",
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,
            hall_id TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            type TEXT NOT NULL,
            at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
        "CREATE INDEX events_terminal ON events (hall_id, terminal_id, type)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m0002_hall_queue(conn: sqlite3.Connection) -> None:
    """The shared hall queue (kiosk.platform.queue_api)."""
    from kiosk.platform.hall_queue import create_queue_tables

    create_queue_tables(conn)


def _m0003_audit_anchor(conn: sqlite3.Connection) -> None:
    """Each terminal's audit chain as received, and how far it is verified (audit_anchor)."""
    from kiosk.platform.audit_anchor import create_tables

    create_tables(conn)


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("0001_init", _m0001_init),
    ("0002_hall_queue", _m0002_hall_queue),
    ("0003_audit_anchor", _m0003_audit_anchor),
]


# --- connection ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for."""

    role: str  # "admin" | "terminal"
    hall_id: str | None = None
    terminal_id: str | None = None

    def __str__(self) -> str:
        return "admin" if self.role == "admin" else f"terminal {self.hall_id}/{self.terminal_id}"


def hash_token(token: str) -> str:
    """Tokens are stored only as their SHA-256: a copied database grants nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """32 random bytes, urlsafe base64 (protocol.md, Authentication)."""
    return secrets.token_urlsafe(32)


class PlatformDB:
    """One SQLite platform database plus its blob directory (``<db stem>.blobs`` beside it)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.blob_dir = self.path.with_name(self.path.stem + ".blobs")
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.blob_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlatformDBError(f"cannot create {self.path.parent}: {exc.strerror}") from exc
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly
            # what the code says and not what the sqlite3 module guesses.
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise PlatformDBError(f"cannot open the platform database {self.path}: {exc}") from exc

    @classmethod
    def from_url(cls, url: str) -> PlatformDB:
        return cls(sqlite_path_from_url(url))

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT), rolled back on any exception."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # also when COMMIT itself failed (disk full)
                    self.conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read snapshot (one deferred transaction)."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")  # nothing was written; just end the snapshot

    def applied_migrations(self) -> list[str]:
        with self._lock:
            rows = self.conn.execute("SELECT name FROM _migrations ORDER BY name").fetchall()
        return [r[0] for r in rows]

    def _migrate(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS _migrations "
                          "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")}
        pending = [(n, fn) for n, fn in MIGRATIONS if n not in done]
        if pending and done:
            # Back the database up before changing the schema of one that holds data.
            dest = sqlite3.connect(str(self.path.with_name(
                f"{self.path.name}.before-{pending[0][0]}.bak")))
            try:
                self.conn.backup(dest)
            finally:
                dest.close()
        for name, fn in pending:
            with self.write() as conn:
                fn(conn)
                conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                             (name, now_iso()))

    # --- tokens ----------------------------------------------------------------------------

    def issue_admin_token(self) -> str:
        """A new admin token; shown once, stored as its hash."""
        token = new_token()
        with self.write() as conn:
            conn.execute("INSERT INTO tokens (token_hash, role, created_at) VALUES (?, 'admin', ?)",
                         (hash_token(token), now_iso()))
        return token

    def enroll_terminal(self, hall_id: str, terminal_id: str) -> str:
        """Register (or re-register) a terminal and return its new token.

        Re-enrolling revokes the terminal's earlier tokens: one live token per terminal, so a
        replaced or stolen machine's token stops working.
        """
        token = new_token()
        now = now_iso()
        with self.write() as conn:
            conn.execute("UPDATE tokens SET revoked_at = ? WHERE role = 'terminal' AND "
                         "hall_id = ? AND terminal_id = ? AND revoked_at IS NULL",
                         (now, hall_id, terminal_id))
            conn.execute("INSERT INTO tokens (token_hash, role, hall_id, terminal_id, created_at) "
                         "VALUES (?, 'terminal', ?, ?, ?)",
                         (hash_token(token), hall_id, terminal_id, now))
            conn.execute("INSERT INTO terminals (hall_id, terminal_id, enrolled_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (hall_id, terminal_id) DO NOTHING",
                         (hall_id, terminal_id, now))
        return token

    def principal_for(self, token: str) -> Principal | None:
        """The holder of ``token``, or None when it is unknown or revoked."""
        with self._lock:
            row = self.conn.execute(
                "SELECT role, hall_id, terminal_id FROM tokens "
                "WHERE token_hash = ? AND revoked_at IS NULL", (hash_token(token),)
            ).fetchone()
        return Principal(*row) if row else None


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
