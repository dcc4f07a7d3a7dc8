"""Clerks who may sign in at a counter: staff ids with PINs hashed by scrypt (no Qt).

A PIN is never stored: only ``scrypt(PIN, salt)`` with a random salt per clerk and the cost
parameters used (so they can be raised later without locking anyone out). Five wrong PINs in a
row lock the staff id for five minutes. ``kiosk admin add-staff`` creates clerks. Every sign-in,
failed attempt and lockout is an audit record (kiosk.audit); the PIN tried never is.
(Still to come with the security issue: roles, PIN change.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from kiosk import audit

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
STAFF_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PIN = re.compile(r"^\d{4,12}$")


class StaffError(Exception):
    """A staff record cannot be created or a sign-in is refused; ``key`` names the ui.json text."""

    key = "counter.signin.failed"


class BadPin(StaffError):
    """Unknown staff id or wrong PIN (one message for both: it must not reveal which)."""


class LockedOut(StaffError):
    """Too many wrong PINs in a row."""

    key = "counter.signin.locked"


@dataclass(frozen=True)
class Clerk:
    staff_id: str
    name: str


def hash_pin(pin: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32).hex()


def add_staff(db: sqlite_utils.Database, staff_id: str, name: str, pin: str) -> None:
    """Create a clerk or give an existing one a new PIN (and unlock them)."""
    if not STAFF_ID.match(staff_id):
        raise StaffError(f"staff id {staff_id!r}: use letters, digits, _ and - (at most 32)")
    if not PIN.match(pin):
        raise StaffError("a PIN is 4 to 12 digits")
    if not name.strip():
        raise StaffError("the clerk's name is empty")
    salt = secrets.token_bytes(16)
    with db.atomic():
        db.execute(
            "INSERT INTO staff (staff_id, name, pin_hash, salt, n, r, p, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(staff_id) DO UPDATE SET "
            "name = excluded.name, pin_hash = excluded.pin_hash, salt = excluded.salt, "
            "n = excluded.n, r = excluded.r, p = excluded.p, failed = 0, locked_until = NULL, "
            "disabled = 0",
            [staff_id, name.strip(), hash_pin(pin, salt), salt.hex(), SCRYPT_N, SCRYPT_R,
             SCRYPT_P, datetime.now(UTC).isoformat(timespec="seconds")])


def verify(db: sqlite_utils.Database, staff_id: str, pin: str,
           now: datetime | None = None) -> Clerk:
    """The clerk if ``pin`` is theirs; BadPin or LockedOut otherwise (attempts are counted)."""
    now = now or datetime.now(UTC)
    # Only a well-formed staff id goes into the audit trail: a visitor may type anything here.
    who = staff_id if STAFF_ID.match(staff_id) else "(not a staff id)"
    row = db.execute("SELECT name, pin_hash, salt, n, r, p, failed, locked_until, disabled "
                     "FROM staff WHERE staff_id = ?", [staff_id]).fetchone()
    if row is None or row[8]:
        # Same cost as a real check, so timing does not tell which staff ids exist.
        hash_pin(pin, b"\0" * 16)
        audit.append(db, who, "staff.signin_failed", who, {"reason": "unknown or disabled"},
                     now=now)
        raise BadPin(f"unknown staff id or wrong PIN for {staff_id!r}")
    name, pin_hash, salt, n, r, p, failed, locked_until, _ = row
    if locked_until and datetime.fromisoformat(locked_until) > now:
        audit.append(db, who, "staff.signin_refused_locked", who,
                     {"locked_until": locked_until}, now=now)
        raise LockedOut(f"{staff_id} is locked until {locked_until} after {failed} wrong PINs")
    good = hmac.compare_digest(hash_pin(pin, bytes.fromhex(salt), n, r, p), pin_hash)
    with db.atomic():
        if good:
            db.execute("UPDATE staff SET failed = 0, locked_until = NULL WHERE staff_id = ?",
                       [staff_id])
            audit.append(db, who, "staff.signin", who, {}, now=now)
            return Clerk(staff_id, name)
        failed += 1
        lock = (now + LOCKOUT).isoformat(timespec="seconds") if failed >= MAX_FAILURES else None
        db.execute("UPDATE staff SET failed = ?, locked_until = ? WHERE staff_id = ?",
                   [0 if lock else failed, lock, staff_id])
        if lock:
            audit.append(db, who, "staff.lockout", who,
                         {"failures": MAX_FAILURES, "locked_until": lock}, now=now)
        else:
            audit.append(db, who, "staff.signin_failed", who,
                         {"reason": "wrong PIN", "failures": failed}, now=now)
    if lock:
        raise LockedOut(f"{staff_id} locked until {lock} after {MAX_FAILURES} wrong PINs")
    raise BadPin(f"unknown staff id or wrong PIN for {staff_id!r}")


def staff_list(db: sqlite_utils.Database) -> list[Clerk]:
    return [Clerk(s, n) for s, n in db.execute(
        "SELECT staff_id, name FROM staff WHERE disabled = 0 ORDER BY staff_id").fetchall()]
