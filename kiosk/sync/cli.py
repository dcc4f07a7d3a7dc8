"""Terminal-side admin commands: ``kiosk admin rollback | sync | outbox | save-token``.

They act on this terminal's own store (``--data-dir``) and configuration, like the admin screen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_sync_commands(adm_sub: Any) -> None:
    """Register the terminal's sync commands under ``kiosk admin``."""
    adm_sub.add_parser("rollback", help="restore the previous catalog version on this terminal")
    sync = adm_sub.add_parser("sync", help="run one sync round with the platform now")
    sync.add_argument("--force", action="store_true",
                      help="also retry records whose backoff time has not come yet")
    box = adm_sub.add_parser("outbox", help="records waiting for the platform, and refused ones")
    box.add_argument("--retry-failed", action="store_true",
                     help="queue the refused records again (after fixing the cause)")
    save = adm_sub.add_parser("save-token", help="store the terminal token read from stdin "
                              "(mode 0600), e.g. kiosk admin enroll ... | kiosk admin save-token")
    save.add_argument("--file", type=Path, help="default: [sync] token_file")


def _open(data_dir: Path) -> Any:
    from kiosk import catalog
    from kiosk.store import open_store

    db = open_store(data_dir / "kiosk.db")
    catalog.ensure_catalog(db)
    return db


def admin_rollback(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk.store import open_store
    from kiosk.sync.catalog_updater import rollback
    from kiosk.sync.errors import NothingToRollBack

    db = open_store(data_dir / "kiosk.db")
    try:
        version = rollback(db)
    except NothingToRollBack as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(f"catalog rolled back to version {version}")
    return 0


def admin_sync(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk.audit import cli_actor
    from kiosk.sync.runner import SyncAgent

    report = SyncAgent(config, data_dir).run_round(_open(data_dir), force=args.force,
                                                   actor=cli_actor())
    print(f"online: {'yes' if report.online else 'no'}")
    print(f"sent: {report.pushed_total} {report.pushed}")
    print(f"refused: {sum(report.failed.values())} {report.failed}")
    print(f"waiting: {report.outbox_depth}")
    print(f"catalog version: {report.catalog_version} ({report.catalog_state or 'not checked'})")
    for line in report.errors:
        print(f"problem: {line}", file=sys.stderr)
    return 0 if report.online and not report.errors else 1


def admin_outbox(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk.store import open_store
    from kiosk.sync import outbox

    db = open_store(data_dir / "kiosk.db")
    if args.retry_failed:
        print(f"queued again: {outbox.retry_failed(db)}")
    print("waiting: " + ", ".join(f"{k} {n}" for k, n in outbox.depth_by_kind(db).items()))
    records = outbox.failed_records(db)
    print(f"refused: {outbox.failed_count(db)}")
    for r in records:
        print(f"  #{r.id} {r.kind} {r.label or r.ref} attempts={r.attempts} {r.at}: {r.error}")
    return 0


def admin_save_token(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk.sync.http import write_token
    from kiosk.sync.runner import SyncAgent

    token = sys.stdin.readline().strip()
    if not token:
        print("kiosk: no token on stdin", file=sys.stderr)
        return 1
    path = args.file or SyncAgent(config, data_dir).path(config.sync.token_file)
    write_token(path, token)
    print(f"token saved to {path} (mode 0600)")
    return 0


SYNC_ADMIN_COMMANDS = {"rollback": admin_rollback, "sync": admin_sync, "outbox": admin_outbox,
                       "save-token": admin_save_token}
