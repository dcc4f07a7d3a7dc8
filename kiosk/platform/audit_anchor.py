"""The platform's anchor of each terminal's audit chain (no Qt).

Audit records reach the platform as 'audit' events (kiosk.audit). For each terminal the platform
keeps the first copy it received of every record (by seq) and the highest (seq, hash) up to which
it has checked the chain link by link from the first record: each record's own hash, and its
prev_hash equal to the hash of the record before. A terminal whose local chain was rewritten
(even re-hashed consistently from record 1) no longer holds that hash at that seq, which
``kiosk admin audit verify --server URL`` reports. A copy that arrives later with the same seq and
a different hash is never taken; the lowest such seq is kept as ``conflict_seq``.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from kiosk.audit import GENESIS, record_hash

HASH = re.compile(r"^[0-9a-f]{64}$")


def create_tables(conn: sqlite3.Connection) -> None:
    """Platform migration 0003_audit_anchor."""
    conn.execute(
        """CREATE TABLE audit_chain (
            hall_id TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            PRIMARY KEY (hall_id, terminal_id, seq)
        )""")
    conn.execute(
        """CREATE TABLE audit_anchors (
            hall_id TEXT NOT NULL,
            terminal_id TEXT NOT NULL,
            seq INTEGER NOT NULL,            -- highest record verified link by link from 1
            hash TEXT NOT NULL,
            conflict_seq INTEGER,            -- lowest seq re-sent with a different hash
            updated_at TEXT NOT NULL,
            PRIMARY KEY (hall_id, terminal_id)
        )""")


def _whole_record(payload: Any) -> bool:
    return (isinstance(payload, dict) and isinstance(payload.get("seq"), int)
            and payload["seq"] >= 1 and isinstance(payload.get("hash"), str)
            and bool(HASH.match(payload["hash"])) and isinstance(payload.get("prev_hash"), str))


def take_records(conn: sqlite3.Connection, hall_id: str, terminal_id: str,
                 payloads: list[Any], now: str) -> None:
    """Keep the audit records of one batch (inside its transaction) and move the anchor on."""
    for payload in payloads:
        try:
            own_hash_ok = _whole_record(payload) and record_hash(payload) == payload["hash"]
        except (KeyError, TypeError, ValueError):
            own_hash_ok = False
        if not own_hash_ok:
            continue  # stored as an event all the same, but it anchors nothing
        known = conn.execute("SELECT hash FROM audit_chain WHERE hall_id = ? AND terminal_id = ? "
                             "AND seq = ?", (hall_id, terminal_id, payload["seq"])).fetchone()
        if known is None:
            conn.execute("INSERT INTO audit_chain (hall_id, terminal_id, seq, hash, prev_hash) "
                         "VALUES (?, ?, ?, ?, ?)", (hall_id, terminal_id, payload["seq"],
                                                    payload["hash"], payload["prev_hash"]))
        elif known[0] != payload["hash"]:
            _anchor_row(conn, hall_id, terminal_id, now)
            conn.execute("UPDATE audit_anchors SET conflict_seq = min(coalesce(conflict_seq, ?), ?)"
                         " WHERE hall_id = ? AND terminal_id = ?",
                         (payload["seq"], payload["seq"], hall_id, terminal_id))
    seq, head = _anchor_row(conn, hall_id, terminal_id, now)
    start = seq
    while True:
        nxt = conn.execute("SELECT hash, prev_hash FROM audit_chain WHERE hall_id = ? AND "
                           "terminal_id = ? AND seq = ?", (hall_id, terminal_id, seq + 1)).fetchone()
        if nxt is None or nxt[1] != head:
            break
        seq, head = seq + 1, nxt[0]
    if seq != start:
        conn.execute("UPDATE audit_anchors SET seq = ?, hash = ?, updated_at = ? "
                     "WHERE hall_id = ? AND terminal_id = ?", (seq, head, now, hall_id, terminal_id))


def _anchor_row(conn: sqlite3.Connection, hall_id: str, terminal_id: str,
                now: str) -> tuple[int, str]:
    conn.execute("INSERT OR IGNORE INTO audit_anchors (hall_id, terminal_id, seq, hash, "
                 "updated_at) VALUES (?, ?, 0, ?, ?)", (hall_id, terminal_id, GENESIS, now))
    row = conn.execute("SELECT seq, hash FROM audit_anchors WHERE hall_id = ? AND "
                       "terminal_id = ?", (hall_id, terminal_id)).fetchone()
    return int(row[0]), str(row[1])


def anchor(conn: sqlite3.Connection, hall_id: str, terminal_id: str) -> dict[str, Any]:
    """The terminal's anchor: ``seq`` 0 and ``hash`` null when nothing is verified yet."""
    row = conn.execute("SELECT seq, hash, conflict_seq, updated_at FROM audit_anchors "
                       "WHERE hall_id = ? AND terminal_id = ?", (hall_id, terminal_id)).fetchone()
    records = conn.execute("SELECT count(*) FROM audit_chain WHERE hall_id = ? AND "
                           "terminal_id = ?", (hall_id, terminal_id)).fetchone()[0]
    seq = int(row[0]) if row else 0
    return {"hall_id": hall_id, "terminal_id": terminal_id, "seq": seq,
            "hash": row[1] if row and seq else None, "records": records,
            "conflict_seq": row[2] if row else None, "updated_at": row[3] if row else None}
