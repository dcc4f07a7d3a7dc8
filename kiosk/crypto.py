"""Encryption at rest for personal fields and scans: AES-256-GCM with rotating data keys (no Qt).

Each value is sealed with the *current* data key under a fresh random 96-bit nonce. The key id
travels in every ciphertext and is bound, with a ``context`` naming the field and record
(``"applications.applicant:<id>"``), into the GCM associated data: a ciphertext copied into
another field or record, or altered in any bit, does not decrypt. Rotation adds a new current
key; older keys stay in the ring and keep decrypting, so nothing has to stop while
:meth:`KeyRing.reencrypt` moves old values to the new key, after which :meth:`KeyRing.retire`
drops the old key.

The ring is kept in the OS keyring when a usable one is present (``keyring`` package), else in
a key file created mode 0600 under the data directory (refused if others can read it).
A key file on the same disk protects copies of the database, not a stolen disk: see
docs/security.md. Wired into the store by kiosk.atrest (which ring a store uses, sealed fields,
blind index) and kiosk.rekey (migrating a plaintext store, rotation in batches).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TEXT_PREFIX = "enc:v1:"  # text fields: enc:v1:<key id>:<base64url(nonce || ciphertext+tag)>
BLOB_MAGIC = b"KENC1\0"  # files: magic, key id length (1 byte), key id, nonce, ciphertext+tag
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_FILE = "data-keys.json"
KEYRING_SERVICE = "gov-kiosk"
KEYRING_USER = "data-keys"


class CryptoError(Exception):
    """Base of the encryption errors; every message says what to do."""


class KeyStoreError(CryptoError):
    """The key ring cannot be read or written safely."""


class UnknownKey(CryptoError):
    """A ciphertext names a key this terminal does not hold (retired too early, or another
    terminal's data)."""


class DecryptionFailed(CryptoError):
    """The ciphertext was altered, truncated, or belongs to another field or record."""


class KeyStore(Protocol):
    """Where the serialized key ring lives."""

    def load(self) -> str | None: ...

    def save(self, text: str) -> None: ...


class FileKeyStore:
    """The ring in a JSON file readable only by its owner (created 0600, refused when wider)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"key file {self.path}"

    def load(self) -> str | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise KeyStoreError(
                f"the key file {self.path} can be read by other users (mode "
                f"{stat.S_IMODE(info.st_mode):o}); run: chmod 600 {self.path}")
        try:
            return self.path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyStoreError(f"cannot read the key file {self.path}: {exc}") from exc

    def save(self, text: str) -> None:
        """Write atomically (temp file 0600 + fsync + rename): a crash leaves the old ring."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class KeyringStore:
    """The ring as one secret in the OS keyring (Secret Service, macOS Keychain, Windows)."""

    def __init__(self, backend: Any, service: str = KEYRING_SERVICE,
                 user: str = KEYRING_USER) -> None:
        self.backend, self.service, self.user = backend, service, user

    def __repr__(self) -> str:
        return f"OS keyring {type(self.backend).__name__} ({self.service}/{self.user})"

    def load(self) -> str | None:
        try:
            return self.backend.get_password(self.service, self.user)
        except Exception as exc:  # keyring backends raise their own types
            raise KeyStoreError(f"cannot read the data keys from {self!r}: {exc}") from exc

    def save(self, text: str) -> None:
        try:
            self.backend.set_password(self.service, self.user, text)
        except Exception as exc:
            raise KeyStoreError(f"cannot store the data keys in {self!r}: {exc}") from exc


def os_keyring() -> Any | None:
    """The OS keyring backend when a real one is usable here, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return backend


def default_store(data_dir: Path, *, use_os_keyring: bool = True) -> KeyStore:
    """The OS keyring when present and usable, else ``<data dir>/data-keys.json`` (0600)."""
    backend = os_keyring() if use_os_keyring else None
    return KeyringStore(backend) if backend is not None else FileKeyStore(Path(data_dir) / KEY_FILE)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(key_id: str, context: str) -> bytes:
    return f"kiosk:v1:{key_id}:{context}".encode()


def is_encrypted(value: str | bytes) -> bool:
    """Whether a stored value is one of our ciphertexts (text field or file contents)."""
    if isinstance(value, bytes):
        return value.startswith(BLOB_MAGIC)
    return value.startswith(TEXT_PREFIX)


@dataclass
class KeyRing:
    """The data keys: one current (used to encrypt), older ones kept to decrypt."""

    store: KeyStore
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str = ""
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never the keys themselves
        return f"KeyRing({self.store!r}, current={self.current!r}, keys={sorted(self.keys)})"

    # --- persistence -----------------------------------------------------------------------

    @classmethod
    def open(cls, store: KeyStore) -> KeyRing:
        """Load the ring from ``store``, creating it with a first key if there is none."""
        text = store.load()
        ring = cls(store)
        if text is None:
            ring.rotate()
            return ring
        try:
            data = json.loads(text)
            ring.keys = {k: base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            ring.current = data["current"]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyStoreError(f"the data keys in {store!r} are damaged ({exc}); restore them "
                                "from the backup: without them the stored data is unreadable"
                                ) from exc
        if ring.current not in ring.keys or any(len(k) != KEY_BYTES for k in ring.keys.values()):
            raise KeyStoreError(f"the data keys in {store!r} are inconsistent (current key "
                                f"{ring.current!r} missing or a key of the wrong length)")
        return ring

    def _save(self) -> None:
        self.store.save(json.dumps({
            "current": self.current,
            "keys": {k: base64.b64encode(v).decode("ascii") for k, v in self.keys.items()},
        }, sort_keys=True))

    def rotate(self) -> str:
        """Make a new random key current (older keys still decrypt); returns its id."""
        key_id = secrets.token_hex(4)
        while key_id in self.keys:
            key_id = secrets.token_hex(4)
        self.keys[key_id] = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        previous = self.current
        self.current = key_id
        try:
            self._save()
        except BaseException:
            del self.keys[key_id]
            self.current = previous
            raise
        return key_id

    def retire(self, key_id: str) -> None:
        """Forget an old key once nothing is encrypted with it any more (see reencrypt)."""
        if key_id == self.current:
            raise CryptoError(f"key {key_id} is the current key; rotate before retiring it")
        if key_id not in self.keys:
            raise UnknownKey(f"there is no key {key_id} to retire")
        removed = self.keys.pop(key_id)
        try:
            self._save()
        except BaseException:
            self.keys[key_id] = removed
            raise
        self._ciphers.pop(key_id, None)

    def _cipher(self, key_id: str) -> AESGCM:
        if key_id not in self.keys:
            raise UnknownKey(f"the data was encrypted with key {key_id}, which this terminal "
                             "does not hold (retired too early, or another terminal's data)")
        if key_id not in self._ciphers:
            self._ciphers[key_id] = AESGCM(self.keys[key_id])
        return self._ciphers[key_id]

    # --- bytes (scans, photos) -----------------------------------------------------------

    def encrypt_bytes(self, data: bytes, context: str) -> bytes:
        """Seal ``data`` with the current key; ``context`` must be given again to open it."""
        kid = self.current.encode("ascii")
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._cipher(self.current).encrypt(nonce, data, _aad(self.current, context))
        return BLOB_MAGIC + bytes([len(kid)]) + kid + nonce + sealed

    def key_id_of(self, value: str | bytes) -> str:
        """The id of the key a ciphertext was sealed with."""
        if isinstance(value, bytes):
            return self._split_bytes(value)[0]
        return self._split_text(value)[0]

    def _split_bytes(self, blob: bytes) -> tuple[str, bytes, bytes]:
        if not blob.startswith(BLOB_MAGIC) or len(blob) < len(BLOB_MAGIC) + 1:
            raise DecryptionFailed("these bytes are not a kiosk ciphertext (no KENC1 header)")
        at = len(BLOB_MAGIC)
        n = blob[at]
        kid, rest = blob[at + 1:at + 1 + n], blob[at + 1 + n:]
        if len(kid) != n or len(rest) < NONCE_BYTES + 16:
            raise DecryptionFailed("the ciphertext is truncated")
        try:
            key_id = kid.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecryptionFailed("the ciphertext's key id is damaged") from exc
        return key_id, rest[:NONCE_BYTES], rest[NONCE_BYTES:]

    def decrypt_bytes(self, blob: bytes, context: str) -> bytes:
        """Open what :meth:`encrypt_bytes` sealed under the same ``context``."""
        key_id, nonce, sealed = self._split_bytes(blob)
        try:
            return self._cipher(key_id).decrypt(nonce, sealed, _aad(key_id, context))
        except InvalidTag as exc:
            raise DecryptionFailed(f"the ciphertext for {context!r} was altered or belongs to "
                                   "another field or record") from exc

    # --- text (personal fields, JSON) ----------------------------------------------------

    def encrypt_text(self, text: str, context: str) -> str:
        """``enc:v1:<key id>:<base64url>`` holding ``text`` (UTF-8) sealed with the current key."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._cipher(self.current).encrypt(nonce, text.encode("utf-8"),
                                                    _aad(self.current, context))
        return f"{TEXT_PREFIX}{self.current}:{_b64(nonce + sealed)}"

    def _split_text(self, token: str) -> tuple[str, bytes]:
        if not token.startswith(TEXT_PREFIX):
            raise DecryptionFailed("this value is not a kiosk ciphertext (no enc:v1: prefix)")
        key_id, sep, body = token[len(TEXT_PREFIX):].partition(":")
        if not sep or not key_id:
            raise DecryptionFailed("the ciphertext has no key id")
        try:
            raw = _unb64(body)
        except ValueError as exc:
            raise DecryptionFailed("the ciphertext is not valid base64") from exc
        if len(raw) < NONCE_BYTES + 16:
            raise DecryptionFailed("the ciphertext is truncated")
        return key_id, raw

    def decrypt_text(self, token: str, context: str) -> str:
        """Open what :meth:`encrypt_text` sealed under the same ``context``."""
        key_id, raw = self._split_text(token)
        try:
            plain = self._cipher(key_id).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                                 _aad(key_id, context))
        except InvalidTag as exc:
            raise DecryptionFailed(f"the ciphertext for {context!r} was altered or belongs to "
                                   "another field or record") from exc
        return plain.decode("utf-8")

    def reencrypt(self, value: str | bytes, context: str) -> str | bytes:
        """The value sealed with the current key (unchanged if it already is): for rotation."""
        if self.key_id_of(value) == self.current:
            return value
        if isinstance(value, bytes):
            return self.encrypt_bytes(self.decrypt_bytes(value, context), context)
        return self.encrypt_text(self.decrypt_text(value, context), context)


def open_keyring(data_dir: Path, *, use_os_keyring: bool = True) -> KeyRing:
    """This terminal's key ring (created on first use) from its default store."""
    return KeyRing.open(default_store(data_dir, use_os_keyring=use_os_keyring))
