"""A tamper-evident audit trail (electronic supervision): records chained by SHA-256 (no Qt).

Every record carries the hash of the record before it (``prev_hash``) and its own ``hash`` =
SHA-256 over the canonical JSON of its fields plus ``prev_hash``, so changing, removing,
inserting or moving one record breaks the chain at that point. ``seq`` numbers the records
1, 2, 3 ... with no gaps, so a removal shows as a gap even when the chain around it is rebuilt.

The hash is not keyed: someone who can write the database file and knows this scheme can
re-hash every record after the one they changed. Two copies outside the chain catch that:
each record is also written as an 'audit' event with its outbox row in the same transaction
(so it reaches the platform, which keeps it out of this terminal's reach), and :func:`verify`
compares the chain with those local copies and, when given one, with the head the platform
holds. See docs/security.md for what this does and does not protect against.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from kiosk.applications import iso, record_event, utc_now

GENESIS = "0" * 64  # prev_hash of the first record
_FIELDS = ("id", "at", "actor", "action", "subject", "details", "prev_hash")


class AuditError(Exception):
    """An audit record cannot be written; the message says which part was wrong."""


def create_tables(db: sqlite_utils.Database) -> None:
    """The audit table (migration 0006_audit)."""
    db.execute(
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,         -- 1, 2, 3 ...: a gap means a removed record
            id TEXT NOT NULL UNIQUE,         -- uuid4
            at TEXT NOT NULL,                -- ISO 8601 UTC
            actor TEXT NOT NULL,             -- staff id, 'admin', 'system', 'kiosk'
            action TEXT NOT NULL,            -- e.g. staff.signin, catalog.rollback
            subject TEXT NOT NULL,           -- what it acted on (never a personal field)
            details TEXT NOT NULL,           -- canonical JSON
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )"""
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def record_hash(record: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of a record's fields and its prev_hash.

    ``seq`` is deliberately left out: the chain fixes the order, ``seq`` only exposes gaps.
    """
    return hashlib.sha256(_canonical({k: record[k] for k in _FIELDS}).encode("utf-8")).hexdigest()


def cli_actor() -> str:
    """Who ran an admin command, for the audit trail: the OS account (no PIN on the CLI)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def append(db: sqlite_utils.Database, actor: str, action: str, subject: str = "",
           details: dict | None = None, *, now: datetime | None = None) -> dict:
    """Append one record to the chain, with its 'audit' event for the platform; returns it.

    Runs inside the caller's transaction when there is one (db.atomic nests as a savepoint),
    so the audit record commits or rolls back together with the change it records.
    """
    if not actor or not action:
        raise AuditError("an audit record needs an actor and an action")
    details = dict(details or {})
    try:
        _canonical(details)
    except (TypeError, ValueError) as exc:
        raise AuditError(f"audit details for {action!r} are not JSON: {exc}") from exc
    moment = now or utc_now()
    with db.atomic():
        last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        record = {"seq": seq, "id": str(uuid.uuid4()), "at": iso(moment), "actor": actor,
                  "action": action, "subject": subject, "details": details,
                  "prev_hash": prev_hash}
        record["hash"] = record_hash(record)
        db.execute(
            "INSERT INTO audit_log (seq, id, at, actor, action, subject, details, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, record["id"], record["at"], actor, action, subject, _canonical(details),
             prev_hash, record["hash"]],
        )
        record_event(db, "audit", record, now=moment)
    return record


def _row(row: tuple) -> dict:
    seq, id_, at, actor, action, subject, details, prev_hash, hash_ = row
    try:
        parsed: Any = json.loads(details)
    except ValueError:
        parsed = details  # an edit that broke the JSON still hashes (to the wrong value)
    return {"seq": seq, "id": id_, "at": at, "actor": actor, "action": action,
            "subject": subject, "details": parsed, "prev_hash": prev_hash, "hash": hash_}


def records(db: sqlite_utils.Database, last: int | None = None) -> list[dict]:
    """The audit records in chain order (only the newest ``last`` when given)."""
    columns = "seq, id, at, actor, action, subject, details, prev_hash, hash"
    if last is None:
        rows = db.execute(f"SELECT {columns} FROM audit_log ORDER BY seq").fetchall()
    else:
        rows = db.execute(f"SELECT {columns} FROM audit_log ORDER BY seq DESC LIMIT ?",
                          [max(0, last)]).fetchall()[::-1]
    return [_row(r) for r in rows]


@dataclass(frozen=True)
class AuditProblem:
    """One finding: ``kind`` is edited, removed, inserted or reordered; ``seq`` where it shows."""

    kind: str
    seq: int | None
    message: str


@dataclass
class AuditReport:
    """What :func:`verify` found; ``ok`` when the chain is whole."""

    records: int
    head_seq: int | None
    head_hash: str | None
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


def _queued_copies(db: sqlite_utils.Database) -> dict[str, dict]:
    """The 'audit' events written with each record (by record id): the platform's copies."""
    copies: dict[str, dict] = {}
    for (payload,) in db.execute("SELECT payload FROM events WHERE type = 'audit'").fetchall():
        try:
            record = json.loads(payload)
        except ValueError:
            continue
        # Only whole records: other 'audit' events (none are written today) are not copies.
        if (isinstance(record, dict) and isinstance(record.get("id"), str)
                and all(k in record for k in (*_FIELDS, "hash"))):
            copies[record["id"]] = record
    return copies


def verify(db: sqlite_utils.Database, *, anchor: tuple[int, str] | None = None) -> AuditReport:
    """Check the whole chain and say which records were edited, removed, inserted or reordered.

    ``anchor`` is a (seq, hash) known from outside this store (the platform's newest copy, or a
    head written down at an earlier verify): the chain must still hold that record unchanged.
    """
    chain = records(db)
    problems: list[AuditProblem] = []

    def report(kind: str, seq: int | None, message: str) -> None:
        problems.append(AuditProblem(kind, seq, message))

    hashes = {r["hash"] for r in chain}
    linked_from = {r["prev_hash"] for r in chain}
    copies = _queued_copies(db)
    expected_seq, prev_hash = 1, GENESIS
    linked = [True] * len(chain)  # whether each record follows the one it was written after
    for n, rec in enumerate(chain):
        seq = rec["seq"]
        if record_hash(rec) != rec["hash"]:
            report("edited", seq, f"record {seq} ({rec['action']}) does not match its hash: "
                                  "a field was changed after it was written")
        copy = copies.get(rec["id"])
        if copy is None:
            report("inserted", seq, f"record {seq} ({rec['action']}) has no copy queued for the "
                                    "platform: it was not written by the kiosk")
        elif copy.get("hash") != rec["hash"] or record_hash(copy) != copy.get("hash"):
            report("edited", seq, f"record {seq} ({rec['action']}) differs from the copy queued "
                                  "for the platform")
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            report("removed", seq, f"record(s) {missing} are missing before record {seq}")
        elif rec["prev_hash"] != prev_hash:
            linked[n] = False
            if rec["prev_hash"] not in hashes and rec["prev_hash"] != GENESIS:
                report("removed", seq, f"the record before record {seq} is missing "
                                       "(the numbers after it were closed up)")
            elif n > 0 and linked[n - 1] and chain[n - 1]["hash"] not in linked_from:
                # It joins the chain properly, yet nothing was written after it: added later.
                prev = chain[n - 1]
                report("inserted", prev["seq"], f"record {prev['seq']} ({prev['action']}) was "
                                                "put into the chain: no record follows from it")
            else:
                report("reordered", seq, f"record {seq} ({rec['action']}) is out of order: "
                                         "it follows a different record than it was written after")
        expected_seq, prev_hash = seq + 1, rec["hash"]
    # Records missing at the end: the chain alone cannot show them, the copies can.
    present = {r["id"] for r in chain}
    head_seq = chain[-1]["seq"] if chain else 0
    tail = max((c["seq"] for i, c in copies.items() if i not in present
                and isinstance(c.get("seq"), int) and c["seq"] > head_seq), default=None)
    if tail is not None:
        report("removed", tail, f"record {tail} was queued for the platform but is no longer "
                                "in the audit trail")
    if anchor is not None:
        problem = anchor_problem(chain, anchor)
        if problem is not None:
            problems.append(problem)
    head = chain[-1] if chain else None
    return AuditReport(len(chain), head["seq"] if head else None,
                       head["hash"] if head else None, problems)


def anchor_problem(chain: list[dict], anchor: tuple[int, str]) -> AuditProblem | None:
    """None when the chain still holds record ``seq`` with that ``hash``, else what is wrong."""
    a_seq, a_hash = anchor
    match = next((r for r in chain if r["seq"] == a_seq), None)
    if match is not None and match["hash"] == a_hash:
        return None
    return AuditProblem("edited" if match else "removed", a_seq,
                        f"record {a_seq} no longer matches the copy held outside this terminal")


# --- ``kiosk admin audit verify | list`` ------------------------------------------------------


def add_audit_commands(adm_sub: Any) -> None:
    """Register ``kiosk admin audit verify`` and ``kiosk admin audit list`` under ``kiosk admin``."""
    cmd = adm_sub.add_parser("audit", help="the tamper-evident audit trail of this terminal")
    sub = cmd.add_subparsers(dest="audit_command", required=True)
    check = sub.add_parser("verify", help="check the hash chain; exit status 1 and one line per "
                           "edited, removed, inserted or reordered record")
    check.add_argument("--anchor", metavar="SEQ:HASH",
                       help="a record known from outside (the platform's copy, an earlier "
                            "verify's head) that must still be in the chain unchanged")
    check.add_argument("--server", metavar="URL", nargs="?", const="",
                       help="also fetch this terminal's anchor from the platform (default URL: "
                            "platform_url of the configuration; the terminal token is used)")
    show = sub.add_parser("list", help="the audit records, oldest first")
    show.add_argument("--last", type=int, metavar="N", help="only the newest N records")


def _parse_anchor(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise AuditError(f"--anchor {text!r}: expected SEQ:HASH, e.g. 12:<64 hex digits>")
    return int(seq), digest.lower()


def admin_audit(args: Any, config: Any, data_dir: Any) -> int:
    """Run ``kiosk admin audit verify`` or ``kiosk admin audit list`` on this terminal's store."""
    import sys
    from pathlib import Path

    from kiosk.store import open_store

    db = open_store(Path(data_dir) / "kiosk.db")
    try:
        if args.audit_command == "list":
            for r in records(db, args.last):
                print(f"{r['seq']:>6} {r['at']} {r['actor']:<16} {r['action']:<28} "
                      f"{r['subject']} {_canonical(r['details'])} {r['hash'][:12]}")
            return 0
        try:
            anchor = _parse_anchor(args.anchor) if args.anchor else None
            held = _platform_anchor(config, data_dir, args.server) \
                if args.server is not None else None
        except AuditError as exc:
            print(f"kiosk: {exc}", file=sys.stderr)
            return 2
        report = verify(db, anchor=anchor)
        if held is not None:
            print(f"platform anchor: {held['seq']}:{held['hash']} "
                  f"({held['records']} records held)")
            problem = anchor_problem(records(db), (held["seq"], held["hash"])) \
                if held["seq"] else None
            if problem is not None:
                report.problems.append(problem)
            if held.get("conflict_seq"):
                report.problems.append(AuditProblem(
                    "edited", held["conflict_seq"], f"the platform was sent record "
                    f"{held['conflict_seq']} again with a different hash"))
    finally:
        db.conn.close()
    print(f"audit trail: {report.records} records, head {report.head_seq}:{report.head_hash}")
    for p in report.problems:
        print(f"{p.kind}: {p.message}")
    print("ok: the chain is whole" if report.ok else f"TAMPERED: {len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def _platform_anchor(config: Any, data_dir: Any, server: str) -> dict:
    """This terminal's anchor as the platform holds it (GET .../audit-anchor)."""
    from pathlib import Path

    from kiosk.sync.errors import SyncError
    from kiosk.sync.http import PlatformClient
    from kiosk.sync.runner import SyncAgent

    try:
        agent = SyncAgent(config, Path(data_dir))
        client = PlatformClient(server or config.platform_url, agent.client.session)
        held = client.get_audit_anchor(config.hall_id, config.terminal_id)
    except SyncError as exc:
        raise AuditError(f"the platform's anchor cannot be fetched: {exc}") from exc
    if not isinstance(held, dict) or not isinstance(held.get("seq"), int) or (
            held["seq"] and not isinstance(held.get("hash"), str)):
        raise AuditError("the platform's anchor answer is not understood")
    return held


AUDIT_ADMIN_COMMANDS = {"audit": admin_audit}
