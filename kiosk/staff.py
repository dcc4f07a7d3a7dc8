"""Clerks who may sign in at a counter: staff ids with PINs hashed by scrypt (no Qt).

A PIN is never stored: only ``scrypt(PIN, salt)`` with a random salt per clerk and the cost
parameters used (so they can be raised later without locking anyone out). Five wrong PINs in a
row lock the staff id for five minutes. ``kiosk admin add-staff`` creates clerks. Every sign-in,
failed attempt and lockout is an audit record (kiosk.audit); the PIN tried never is.
Roles: a ``clerk`` signs in at a counter; an ``admin`` also opens the admin console and is the
only one whose PIN lets a locked-down kiosk exit. ``verify(..., role="admin")`` refuses a clerk
with a correct PIN (audited as staff.refused_role). Adding staff, changing a role and changing a
PIN are audited in the same transaction as the change.
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
ROLES = ("clerk", "admin")


class StaffError(Exception):
    """A staff record cannot be created or a sign-in is refused; ``key`` names the ui.json text."""

    key = "counter.signin.failed"


class BadPin(StaffError):
    """Unknown staff id or wrong PIN (one message for both: it must not reveal which)."""


class LockedOut(StaffError):
    """Too many wrong PINs in a row."""

    key = "counter.signin.locked"


class NotAdmin(StaffError):
    """The right PIN, but this staff member is a clerk and an admin is needed."""

    key = "pin.not_admin"


@dataclass(frozen=True)
class Clerk:
    staff_id: str
    name: str
    role: str = "clerk"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_pin(pin: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32).hex()


def create_tables(db: sqlite_utils.Database) -> None:
    """Migration 0008_staff_roles: every staff member has a role; existing ones are clerks."""
    db.execute("ALTER TABLE staff ADD COLUMN role TEXT NOT NULL DEFAULT 'clerk' "
               "CHECK (role IN ('clerk', 'admin'))")


def add_staff(db: sqlite_utils.Database, staff_id: str, name: str, pin: str,
              role: str = "clerk", *, actor: str = "admin") -> None:
    """Create a staff member or give an existing one a new PIN and role (and unlock them)."""
    if role not in ROLES:
        raise StaffError(f"role {role!r}: one of {', '.join(ROLES)}")
    if not STAFF_ID.match(staff_id):
        raise StaffError(f"staff id {staff_id!r}: use letters, digits, _ and - (at most 32)")
    if not PIN.match(pin):
        raise StaffError("a PIN is 4 to 12 digits")
    if not name.strip():
        raise StaffError("the clerk's name is empty")
    salt = secrets.token_bytes(16)
    with db.atomic():
        before = db.execute("SELECT role FROM staff WHERE staff_id = ?", [staff_id]).fetchone()
        db.execute(
            "INSERT INTO staff (staff_id, name, pin_hash, salt, n, r, p, created_at, role) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(staff_id) DO UPDATE SET "
            "name = excluded.name, pin_hash = excluded.pin_hash, salt = excluded.salt, "
            "n = excluded.n, r = excluded.r, p = excluded.p, failed = 0, locked_until = NULL, "
            "disabled = 0, role = excluded.role",
            [staff_id, name.strip(), hash_pin(pin, salt), salt.hex(), SCRYPT_N, SCRYPT_R,
             SCRYPT_P, datetime.now(UTC).isoformat(timespec="seconds"), role])
        # The name is personal data: the audit record has the staff id and role only.
        if before is None:
            audit.append(db, actor, "staff.add", staff_id, {"role": role})
        else:
            audit.append(db, actor, "staff.reset_pin", staff_id, {"role": role})
            if before[0] != role:
                audit.append(db, actor, "staff.role_change", staff_id,
                             {"from": before[0], "to": role})


def set_role(db: sqlite_utils.Database, staff_id: str, role: str, *, actor: str = "admin") -> None:
    """Make a staff member a clerk or an admin (audited)."""
    if role not in ROLES:
        raise StaffError(f"role {role!r}: one of {', '.join(ROLES)}")
    with db.atomic():
        row = db.execute("SELECT role FROM staff WHERE staff_id = ?", [staff_id]).fetchone()
        if row is None:
            raise StaffError(f"no staff member {staff_id!r} on this terminal")
        if row[0] != role:
            db.execute("UPDATE staff SET role = ? WHERE staff_id = ?", [role, staff_id])
            audit.append(db, actor, "staff.role_change", staff_id, {"from": row[0], "to": role})


def change_pin(db: sqlite_utils.Database, staff_id: str, old_pin: str, new_pin: str) -> None:
    """A signed-in staff member changes their own PIN: the old one is checked first (as a
    sign-in: wrong ones count toward the lockout)."""
    if not PIN.match(new_pin):
        raise StaffError("a PIN is 4 to 12 digits")
    verify(db, staff_id, old_pin)
    salt = secrets.token_bytes(16)
    with db.atomic():
        db.execute("UPDATE staff SET pin_hash = ?, salt = ?, n = ?, r = ?, p = ? "
                   "WHERE staff_id = ?",
                   [hash_pin(new_pin, salt), salt.hex(), SCRYPT_N, SCRYPT_R, SCRYPT_P, staff_id])
        audit.append(db, staff_id, "staff.pin_change", staff_id, {})


def verify(db: sqlite_utils.Database, staff_id: str, pin: str,
           now: datetime | None = None, *, role: str = "clerk", purpose: str = "") -> Clerk:
    """The staff member if ``pin`` is theirs and they hold ``role`` (an admin holds both);
    BadPin, LockedOut or NotAdmin otherwise (attempts are counted, everything is audited).
    ``purpose`` (e.g. "admin_console", "kiosk_exit") goes into the audit record."""
    now = now or datetime.now(UTC)
    # Only a well-formed staff id goes into the audit trail: a visitor may type anything here.
    who = staff_id if STAFF_ID.match(staff_id) else "(not a staff id)"
    row = db.execute("SELECT name, pin_hash, salt, n, r, p, failed, locked_until, disabled, "
                     "role FROM staff WHERE staff_id = ?", [staff_id]).fetchone()
    why = {"purpose": purpose} if purpose else {}
    if row is None or row[8]:
        # Same cost as a real check, so timing does not tell which staff ids exist.
        hash_pin(pin, b"\0" * 16)
        audit.append(db, who, "staff.signin_failed", who,
                     {"reason": "unknown or disabled", **why}, now=now)
        raise BadPin(f"unknown staff id or wrong PIN for {staff_id!r}")
    name, pin_hash, salt, n, r, p, failed, locked_until, _, held_role = row
    if locked_until and datetime.fromisoformat(locked_until) > now:
        audit.append(db, who, "staff.signin_refused_locked", who,
                     {"locked_until": locked_until, **why}, now=now)
        raise LockedOut(f"{staff_id} is locked until {locked_until} after {failed} wrong PINs")
    good = hmac.compare_digest(hash_pin(pin, bytes.fromhex(salt), n, r, p), pin_hash)
    with db.atomic():
        if good:
            db.execute("UPDATE staff SET failed = 0, locked_until = NULL WHERE staff_id = ?",
                       [staff_id])
            if role != "admin" or held_role == "admin":
                audit.append(db, who, "staff.signin", who, {"role": held_role, **why}, now=now)
                return Clerk(staff_id, name, held_role)
            # The right PIN of a clerk where an admin is needed: refused, not a wrong PIN.
            audit.append(db, who, "staff.refused_role", who,
                         {"role": held_role, "needed": role, **why}, now=now)
    if good:
        raise NotAdmin(f"{staff_id} is a {held_role}; this needs an admin")
    with db.atomic():
        failed += 1
        lock = (now + LOCKOUT).isoformat(timespec="seconds") if failed >= MAX_FAILURES else None
        db.execute("UPDATE staff SET failed = ?, locked_until = ? WHERE staff_id = ?",
                   [0 if lock else failed, lock, staff_id])
        if lock:
            audit.append(db, who, "staff.lockout", who,
                         {"failures": MAX_FAILURES, "locked_until": lock}, now=now)
        else:
            audit.append(db, who, "staff.signin_failed", who,
                         {"reason": "wrong PIN", "failures": failed, **why}, now=now)
    if lock:
        raise LockedOut(f"{staff_id} locked until {lock} after {MAX_FAILURES} wrong PINs")
    raise BadPin(f"unknown staff id or wrong PIN for {staff_id!r}")


def admin_gate(db: sqlite_utils.Database, staff_id: str, pin: str, purpose: str) -> Clerk:
    """An admin's PIN for ``purpose`` ("kiosk_exit", "admin_console"); a kiosk exit is also
    audited as kiosk.exit. Raises like :func:`verify` (NotAdmin for a clerk)."""
    admin = verify(db, staff_id, pin, role="admin", purpose=purpose)
    if purpose == "kiosk_exit":
        audit.append(db, admin.staff_id, "kiosk.exit", admin.staff_id, {})
    return admin


def staff_list(db: sqlite_utils.Database) -> list[Clerk]:
    """Every staff member who may sign in, with their role."""
    return [Clerk(s, n, r) for s, n, r in db.execute(
        "SELECT staff_id, name, role FROM staff WHERE disabled = 0 ORDER BY staff_id").fetchall()]
