"""Encryption at rest wired to the store: which key ring a store uses, sealed fields, blind index.

One place opens the data keys of a data directory (:func:`open_keys`): the OS keyring when a
usable one is present, else ``<data dir>/data-keys.json`` (mode 0600). A store's data
directory is the directory of its database file, so code holding only the ``db`` finds the
keys with :func:`keys_for`. Rings are cached per data directory; a process picks up a rotation
made by another process (``kiosk admin keys rotate`` writes the current key id into the store's
``settings``) and reloads when it meets a key it does not hold.

Sealed text is ``enc:v1:<key id>:...`` (kiosk.crypto) bound to ``<table>.<field>:<record>``;
files are bound to ``blob:<sha256 of the plaintext>``. Lookups by ID number go through a
keyed HMAC (blind index) computed under every key in the ring, so rotation never hides a row.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import sqlite3
import threading
import weakref
from pathlib import Path

import sqlite_utils

from kiosk import crypto
from kiosk.crypto import KeyRing, UnknownKey

CURRENT_SETTING = "data_keys.current"  # written by rotation so other processes reload
PURGED = '{"_purged_at":'  # how kiosk.retention's marker starts: not personal, stored as it is

_rings: dict[str, KeyRing] = {}
_db_dirs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class MemoryKeyStore:
    """Keys of an in-memory store (tests): gone with the process, like the data."""

    def __init__(self) -> None:
        self.text: str | None = None

    def __repr__(self) -> str:
        return "in-memory keys"

    def load(self) -> str | None:
        return self.text

    def save(self, text: str) -> None:
        self.text = text


def key_store(data_dir: Path) -> crypto.KeyStore:
    """The OS keyring (one entry per data directory) when usable, else the 0600 key file.

    A key file already there is always kept: a keyring that appears later (a package
    installed, a desktop session) must not start an empty ring beside the keys in use.
    """
    data_dir = Path(data_dir).resolve()
    if (data_dir / crypto.KEY_FILE).exists():
        return crypto.FileKeyStore(data_dir / crypto.KEY_FILE)
    backend = crypto.os_keyring()
    if backend is not None:
        return crypto.KeyringStore(backend, user=f"{crypto.KEYRING_USER}:{data_dir}")
    return crypto.FileKeyStore(data_dir / crypto.KEY_FILE)


def open_keys(data_dir: Path) -> KeyRing:
    """The data keys of ``data_dir`` (created on first use), shared within this process."""
    path = str(Path(data_dir).resolve())
    with _lock:
        ring = _rings.get(path)
        if ring is None:
            Path(path).mkdir(parents=True, exist_ok=True)
            # Two processes starting on a fresh data directory must not each create a first
            # key (one would be lost with what it sealed): creating the ring is serialised.
            lock = os.open(Path(path) / ".data-keys.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                ring = _rings[path] = KeyRing.open(key_store(Path(path)))
            finally:
                os.close(lock)  # closing releases the lock
        return ring


def reload_keys(ring: KeyRing) -> KeyRing:
    """Re-read ``ring`` from its store in place (another process rotated or retired a key)."""
    fresh = KeyRing.open(ring.store)
    ring.keys, ring.current = fresh.keys, fresh.current
    ring._ciphers.clear()
    return ring


def data_dir_of(db: sqlite_utils.Database) -> Path | None:
    """The directory of the store's database file, or None for an in-memory store."""
    if db not in _db_dirs:
        row = db.execute("PRAGMA database_list").fetchone()
        _db_dirs[db] = Path(row[2]).resolve().parent if row and row[2] else None
    return _db_dirs[db]


_memory_rings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def keys_for(db: sqlite_utils.Database) -> KeyRing:
    """The key ring of the store ``db``, reloaded if another process made a newer key current."""
    data_dir = data_dir_of(db)
    if data_dir is None:
        if db not in _memory_rings:
            _memory_rings[db] = KeyRing.open(MemoryKeyStore())
        return _memory_rings[db]
    ring = open_keys(data_dir)
    try:
        row = db.execute("SELECT value FROM settings WHERE key = ?", [CURRENT_SETTING]).fetchone()
    except sqlite3.OperationalError:  # a store still being created: no settings table yet
        row = None
    if row and row[0] != ring.current:
        reload_keys(ring)
    return ring


# --- fields ------------------------------------------------------------------------------


def seal(keys: KeyRing, text: str, context: str) -> str:
    """``text`` encrypted with the current key, bound to ``context``."""
    return keys.encrypt_text(text, context)


def unseal(keys: KeyRing, value: str, context: str, *, legacy: bool = False) -> str:
    """The plaintext of a sealed field. Unencrypted values are refused (someone wrote them
    around the program), except kiosk.retention's purge marker and, with ``legacy``, rows of
    a store from before encryption being migrated."""
    if not crypto.is_encrypted(value):
        if legacy or value.startswith(PURGED):
            return value
        raise crypto.DecryptionFailed(f"the value for {context!r} is stored unencrypted")
    try:
        return keys.decrypt_text(value, context)
    except UnknownKey:
        return reload_keys(keys).decrypt_text(value, context)


def blob_context(sha256: str) -> str:
    return f"blob:{sha256}"


def seal_bytes(keys: KeyRing, data: bytes, sha256: str) -> bytes:
    return keys.encrypt_bytes(data, blob_context(sha256))


def unseal_bytes(keys: KeyRing, data: bytes, sha256: str, *, legacy: bool = False) -> bytes:
    """A stored file's plaintext; an unencrypted file is refused unless ``legacy`` (a file
    written before encryption, or a page given as input)."""
    if not crypto.is_encrypted(data):
        if legacy:
            return data
        raise crypto.DecryptionFailed(f"the stored file {sha256[:12]}… is not encrypted")
    try:
        return keys.decrypt_bytes(data, blob_context(sha256))
    except UnknownKey:
        return reload_keys(keys).decrypt_bytes(data, blob_context(sha256))


def read_file(path: Path, keys: KeyRing) -> bytes:
    """The plaintext of a page file given to filing: one the capture stored (encrypted, named
    ``<sha256>.jpg``) or any image file an administrator imports (taken as it is)."""
    path = Path(path)
    data, sha = path.read_bytes(), path.name.split(".")[0]
    try:
        return unseal_bytes(keys, data, sha, legacy=True)
    except UnknownKey:
        # A page captured under another data directory (blobs/ab/<sha>.jpg): its own keys.
        if len(path.parents) < 3 or not crypto.is_encrypted(data):
            raise
        return unseal_bytes(open_keys(path.parents[2]), data, sha)


# --- blind index -------------------------------------------------------------------------


def normalise_id(id_number: str) -> str:
    return str(id_number or "").strip().upper()


def _index_with(key: bytes, id_number: str) -> str:
    index_key = hmac.new(key, b"kiosk id-number index v1", hashlib.sha256).digest()
    return hmac.new(index_key, normalise_id(id_number).encode(), hashlib.sha256).hexdigest()


def id_index(keys: KeyRing, id_number: str) -> str | None:
    """The blind index of an ID number under the current key (None for no number)."""
    if not normalise_id(id_number):
        return None
    return _index_with(keys.keys[keys.current], id_number)


def id_index_candidates(keys: KeyRing, id_number: str) -> list[str]:
    """The index under every key in the ring: rows not yet re-encrypted still match."""
    return [_index_with(k, id_number) for k in keys.keys.values()]


# --- migration backups ---------------------------------------------------------------------

BACKUP_CONTEXT = "store-backup"


def write_backup(db: sqlite_utils.Database, target: Path) -> None:
    """A consistent copy of the store, encrypted as a whole (``kiosk admin keys open-backup``
    decrypts it for a restore): no plaintext copy of the store is ever written to disk."""
    data = db.conn.serialize()
    sealed = keys_for(db).encrypt_bytes(data, BACKUP_CONTEXT)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(sealed)
        fh.flush()
        os.fsync(fh.fileno())


def open_backup_bytes(keys: KeyRing, data: bytes) -> bytes:
    """The SQLite file inside an encrypted backup."""
    try:
        return keys.decrypt_bytes(data, BACKUP_CONTEXT)
    except UnknownKey:
        return reload_keys(keys).decrypt_bytes(data, BACKUP_CONTEXT)
