"""Ed25519 signing of catalog bundles over their canonical JSON.

The admin CLI signs with these functions and both the platform server and the
terminal's sync client verify with them, so all three agree byte for byte on
what was signed (docs/protocol.md, "POST /v1/catalog").
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

PRIVATE_KEY_NAME = "catalog_signing_key.pem"
PUBLIC_KEY_NAME = "catalog_signing_key.pub.pem"


class KeyFileError(Exception):
    """A key file is missing, unreadable, or not an Ed25519 key in PEM form."""


def canonical_json(bundle: Any) -> bytes:
    """The exact bytes a catalog signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign_bundle(bundle: Any, private_key: Ed25519PrivateKey) -> str:
    """Sign the canonical JSON of ``bundle``; returns the signature in standard base64."""
    return base64.b64encode(private_key.sign(canonical_json(bundle))).decode("ascii")


def verify_bundle(bundle: Any, signature_b64: str | None, public_key: Ed25519PublicKey) -> bool:
    """True only when ``signature_b64`` is a valid Ed25519 signature of ``bundle``.

    Never raises for bad input: a missing, malformed or wrong signature is simply False.
    """
    try:
        data = canonical_json(bundle)
    except (ValueError, TypeError):
        return False
    return verify_bytes(data, signature_b64, public_key)


def verify_bytes(data: bytes, signature_b64: str | None, public_key: Ed25519PublicKey) -> bool:
    """True only when ``signature_b64`` is a valid Ed25519 signature of exactly ``data``."""
    if not signature_b64 or not isinstance(signature_b64, str):
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


# The reference server sends GET /v1/catalog as {"version":N,"bundle":<the signed canonical
# bytes, verbatim>,"signature":"..."}; a terminal that finds this layout verifies the signature
# over those bytes instead of parsing and re-serialising 30 MB (docs/protocol.md).
_ANSWER_HEAD = re.compile(rb'\{"version":(0|[1-9][0-9]{0,17}),"bundle":')
_ANSWER_TAIL = re.compile(rb',"signature":"([A-Za-z0-9+/=]{1,200})"\}\s*\Z')


def split_signed_answer(raw: bytes) -> tuple[int, bytes, str] | None:
    """(version, signed bundle bytes, signature) of an answer in the reference server's layout;
    None for any other layout (the caller then parses the whole answer)."""
    head = _ANSWER_HEAD.match(raw)
    tail = _ANSWER_TAIL.search(raw[-300:])
    if head is None or tail is None:
        return None
    end = len(raw) - (len(raw[-300:]) - tail.start())
    if end <= head.end():
        return None
    return int(head.group(1)), raw[head.end():end], tail.group(1).decode("ascii")


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an unencrypted PKCS#8 PEM Ed25519 private key."""
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Read a PEM (SubjectPublicKeyInfo) Ed25519 public key."""
    data = _read(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def public_key_from_pem(data: bytes) -> Ed25519PublicKey:
    """Parse a PEM Ed25519 public key held in memory (config values, tests)."""
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"not an Ed25519 public key: {type(key).__name__}")
    return key


def generate_keypair(out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair into ``out_dir``; returns (private, public) paths.

    The private key file is created with mode 0600 and never overwritten: losing an
    existing signing key by accident would lock every kiosk out of catalog updates.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    priv_path = out / PRIVATE_KEY_NAME
    pub_path = out / PUBLIC_KEY_NAME
    for p in (priv_path, pub_path):
        if p.exists():
            raise KeyFileError(f"{p} already exists; move it away first (it may be in use)")
    key = Ed25519PrivateKey.generate()
    priv_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(priv_pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(priv_path, 0o600)  # the umask cannot widen it, but make it explicit
    pub_path.write_bytes(pub_pem)
    return priv_path, pub_path


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
