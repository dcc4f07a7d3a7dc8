"""The sync round checks the local audit chain against the platform's anchor by itself.

At most once per ``every_s`` (an hour by default: one small GET), after a round that reached
the platform, the agent fetches GET /v1/terminals/{hall}/{terminal}/audit-anchor and runs
:func:`kiosk.audit.verify` with it. A chain rewritten on this terminal, even re-hashed
consistently from record 1 with its local copies, no longer holds the anchor's hash at that
seq. A mismatch is logged (seq and kind only), kept in the store so every round reports it to
the admin screen until a later check finds the chain whole, and audited once per distinct
mismatch, not every round.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlite_utils

from kiosk import audit
from kiosk.applications import iso
from kiosk.store import get_setting, set_setting
from kiosk.sync.errors import AuditChainMismatch, SyncError
from kiosk.sync.http import PlatformClient

log = logging.getLogger(__name__)

CHECKED_AT = "audit.anchor_checked_at"
MISMATCH = "audit.anchor_mismatch"  # the stored mismatch ("" or absent: the chain was whole)
EVERY_S = 3600


def stored_mismatch(db: sqlite_utils.Database) -> AuditChainMismatch | None:
    """The mismatch the last check found, still standing; None when the chain was whole."""
    text = get_setting(db, MISMATCH)
    return AuditChainMismatch(text) if text else None


def mismatch_text(report: audit.AuditReport, held: dict) -> str:
    """One line naming what is wrong: kinds and seqs only, never a record's content."""
    parts = [f"{p.kind} at record {p.seq}" for p in report.problems]
    if held.get("conflict_seq"):
        parts.append(f"platform got record {held['conflict_seq']} twice with different hashes")
    return (f"audit trail does not match the platform's anchor {held.get('seq')}: "
            + "; ".join(parts[:5]))


def check(db: sqlite_utils.Database, client: PlatformClient, hall_id: str, terminal_id: str,
          *, now: datetime) -> AuditChainMismatch | None:
    """Fetch the anchor and verify the chain with it now; the mismatch found, or None.
    Raises SyncError when the anchor cannot be fetched or is not understood."""
    held = client.get_audit_anchor(hall_id, terminal_id)
    if not isinstance(held, dict) or not isinstance(held.get("seq"), int) or (
            held["seq"] and not isinstance(held.get("hash"), str)):
        raise SyncError("the platform's audit anchor answer is not understood")
    report = audit.verify(db, anchor=(held["seq"], held["hash"]) if held["seq"] else None)
    text = "" if report.ok and not held.get("conflict_seq") else mismatch_text(report, held)
    if text and text != get_setting(db, MISMATCH):
        log.error("sync: %s", text)
        audit.append(db, "system", "audit.anchor_mismatch", "audit_log",
                     {"anchor_seq": held["seq"], "problems": len(report.problems),
                      "conflict_seq": held.get("conflict_seq")}, now=now)
    set_setting(db, MISMATCH, text)
    set_setting(db, CHECKED_AT, iso(now))
    return AuditChainMismatch(text) if text else None


def check_if_due(db: sqlite_utils.Database, client: PlatformClient, hall_id: str,
                 terminal_id: str, *, now: datetime, every_s: int = EVERY_S
                 ) -> AuditChainMismatch | None:
    """The round's call: check when ``every_s`` has passed since the last check, else report
    the stored result. A failed fetch is logged and tried again next round."""
    last = get_setting(db, CHECKED_AT)
    if last and datetime.fromisoformat(last) > now - timedelta(seconds=every_s):
        return stored_mismatch(db)
    try:
        return check(db, client, hall_id, terminal_id, now=now)
    except SyncError as exc:
        log.warning("sync: the audit anchor could not be checked: %s", exc)
        return stored_mismatch(db)
