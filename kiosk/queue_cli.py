"""``kiosk admin add-staff`` (clerks and their PINs) and ``kiosk admin queue-stats`` (no Qt).

The PIN is read without echo from the terminal, or from stdin with ``--pin-stdin`` (for set-up
scripts); it is never a command-line argument, where other users could read it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any


def add_queue_commands(adm_sub: Any) -> None:
    """Register the queue's commands under ``kiosk admin``."""
    add = adm_sub.add_parser("add-staff", help="create a clerk who signs in at a counter with a "
                             "PIN (or give one a new PIN)")
    add.add_argument("staff_id", help="staff id (letters, digits, _ and -), e.g. S001")
    add.add_argument("--name", required=True, help="the clerk's name, shown at the counter")
    add.add_argument("--pin-stdin", action="store_true",
                     help="read the PIN from stdin (else asked twice, without echo)")
    add.add_argument("--role", choices=["clerk", "admin"], default="clerk",
                     help="clerk: counters only; admin: also the admin console and the kiosk's "
                          "PIN exit (default: clerk)")
    adm_sub.add_parser("list-staff", help="the staff who may sign in here, with their roles")
    change = adm_sub.add_parser("change-pin", help="a staff member changes their own PIN (the "
                                "old one is checked first; wrong ones count toward the lockout)")
    change.add_argument("staff_id")
    change.add_argument("--pin-stdin", action="store_true",
                        help="read the old and the new PIN from stdin, one per line")
    role = adm_sub.add_parser("set-role", help="make a staff member a clerk or an admin")
    role.add_argument("staff_id")
    role.add_argument("role", choices=["clerk", "admin"])
    stats = adm_sub.add_parser("queue-stats", help="the hall queue's statistics for a day: per "
                               "category and window, tickets, served, no-shows, waiting and "
                               "service times (median, p90)")
    stats.add_argument("--day", help="YYYY-MM-DD (default: today)")
    stats.add_argument("--csv", action="store_true", help="CSV on stdout (default: a table)")
    stats.add_argument("--db", metavar="URL", help="read a platform database directly "
                       "(sqlite:///PATH) instead of asking the platform server")
    stats.add_argument("--hall", help="hall id (default: hall_id of the configuration)")


def _err(message: str) -> None:
    print(f"kiosk: {message}", file=sys.stderr)


def admin_add_staff(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk import audit, staff
    from kiosk.store import open_store

    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass("PIN (4-12 digits): ")
        if getpass.getpass("PIN again: ") != pin:
            _err("the two PINs differ; nothing changed")
            return 1
    db = open_store(data_dir / "kiosk.db")
    try:
        staff.add_staff(db, args.staff_id, args.name, pin, args.role, actor=audit.cli_actor())
    except staff.StaffError as exc:
        _err(str(exc))
        return 1
    finally:
        db.conn.close()
    where = "the counters and the admin console" if args.role == "admin" else "the counters"
    print(f"{args.role} {args.staff_id} ({args.name}) can sign in at {where} of this terminal")
    return 0


def admin_list_staff(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk import staff
    from kiosk.store import open_store

    db = open_store(data_dir / "kiosk.db")
    try:
        for member in staff.staff_list(db):
            print(f"{member.staff_id:<16} {member.role:<6} {member.name}")
    finally:
        db.conn.close()
    return 0


def admin_change_pin(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk import staff
    from kiosk.store import open_store

    if args.pin_stdin:
        old, new = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    else:
        old = getpass.getpass("current PIN: ")
        new = getpass.getpass("new PIN (4-12 digits): ")
        if getpass.getpass("new PIN again: ") != new:
            _err("the two new PINs differ; nothing changed")
            return 1
    db = open_store(data_dir / "kiosk.db")
    try:
        staff.change_pin(db, args.staff_id, old, new)
    except staff.StaffError as exc:
        _err(str(exc))
        return 1
    finally:
        db.conn.close()
    print(f"{args.staff_id}: PIN changed")
    return 0


def admin_set_role(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk import audit, staff
    from kiosk.store import open_store

    db = open_store(data_dir / "kiosk.db")
    try:
        staff.set_role(db, args.staff_id, args.role, actor=audit.cli_actor())
    except staff.StaffError as exc:
        _err(str(exc))
        return 1
    finally:
        db.conn.close()
    print(f"{args.staff_id} is now {args.role}")
    return 0


def admin_queue_stats(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk import queue as q
    from kiosk import queue_stats

    hall = args.hall or config.hall_id
    try:
        if args.db:
            from kiosk.platform.db import DatabaseURLError, PlatformDB, PlatformDBError, Principal
            from kiosk.platform.hall_queue import stats

            try:
                pdb = PlatformDB.from_url(args.db)
            except (DatabaseURLError, PlatformDBError) as exc:
                _err(str(exc))
                return 2
            try:
                answer = stats(pdb, Principal("admin"), hall, args.day)
            finally:
                pdb.close()
        else:
            from kiosk.queue_client import HttpHallQueue
            from kiosk.sync.http import make_session, read_token

            token = os.environ.get("KIOSK_ADMIN_TOKEN") or read_token(
                _token_path(config, data_dir))
            session = make_session(token, connect_timeout_s=config.queue.connect_timeout_s,
                                   timeout_s=30)
            answer = HttpHallQueue(config.platform_url, session, hall).stats(args.day)
    except q.QueueError as exc:
        _err(f"no statistics: {exc}")
        return 1
    except Exception as exc:  # NotConfigured (no token) and the like: say it, no traceback
        if type(exc).__module__.startswith("kiosk."):
            _err(f"no statistics: {exc}")
            return 1
        raise
    rows = queue_stats.from_dicts(answer["rows"])
    if args.csv:
        sys.stdout.write(queue_stats.to_csv(rows))
        return 0
    print(_table(rows))
    return 0


def _token_path(config: Any, data_dir: Path) -> Path:
    path = Path(config.sync.token_file).expanduser()
    return path if path.is_absolute() else data_dir / path


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def _table(rows: list) -> str:
    from kiosk.queue_stats import COLUMNS

    cols = [c for c in COLUMNS if c != "day"]
    data = [[_fmt(getattr(r, c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(d[i]) for d in data)) if data else len(c)
              for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(d, widths, strict=True)) for d in data]
    day = rows[0].day if rows else ""
    return f"hall queue statistics for {day} (times in seconds)\n" + "\n".join(lines)


QUEUE_ADMIN_COMMANDS = {"add-staff": admin_add_staff, "queue-stats": admin_queue_stats,
                        "list-staff": admin_list_staff, "set-role": admin_set_role,
                        "change-pin": admin_change_pin}
