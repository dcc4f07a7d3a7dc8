"""Command line: ``kiosk run``, ``kiosk demo``, ``kiosk config``, ``kiosk catalog ...``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

STARTED_AT = time.perf_counter()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Government service-hall kiosk.")
    parser.add_argument("--data-dir", type=Path, help="where the local store lives "
                        "(default: $KIOSK_DATA_DIR or the platform's user data directory)")
    parser.add_argument("--config", type=Path, help="TOML configuration file "
                        "(default: config.toml in the data directory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the terminal in its configured mode")
    run.add_argument("--mode", choices=["kiosk", "counter", "display", "admin"],
                     help="screen mode (overrides the config)")
    run.add_argument("--windowed", action="store_true", help="a window, not full screen")

    demo = sub.add_parser("demo", help="the kiosk on the bundled sample catalog, no network needed")
    demo.add_argument("--screenshots", type=Path, metavar="DIR",
                      help="drive through every screen offscreen, write PNGs to DIR and exit")
    demo.add_argument("--lang", choices=["zh-Hans", "zh-Hant", "en"],
                      help="only this language (screenshots) / start language")
    demo.add_argument("--exit-when-shown", action="store_true",
                      help="quit as soon as the home screen is shown (for bench/startup.py)")

    sub.add_parser("config", help="print the configuration in use, with every key documented")

    cat = sub.add_parser("catalog", help="check or load a catalog bundle")
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True)
    check = cat_sub.add_parser("validate", help="validate a catalog JSON file")
    check.add_argument("file", type=Path)
    load = cat_sub.add_parser("apply", help="validate a catalog JSON file and make it current")
    load.add_argument("file", type=Path)
    cat_sub.add_parser("info", help="the catalog version in the store")

    from kiosk.platform.cli import add_admin_commands, add_platform_commands

    add_platform_commands(sub)
    from kiosk.sync.cli import add_sync_commands

    adm_sub = add_admin_commands(sub)
    add_sync_commands(adm_sub)  # rollback, sync, outbox, save-token
    from kiosk.queue_cli import add_queue_commands

    add_queue_commands(adm_sub)  # add-staff, queue-stats
    from kiosk.audit import add_audit_commands

    add_audit_commands(adm_sub)  # audit verify, audit list
    from kiosk.notice_pdf import add_notice_commands

    add_notice_commands(adm_sub)  # notice NUMBER --out FILE.pdf
    from kiosk.retention import add_retention_commands

    add_retention_commands(adm_sub)  # purge [--dry-run]
    from kiosk.rekey import add_keys_commands

    add_keys_commands(adm_sub)  # keys status, keys rotate, keys open-backup
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from kiosk.config import ConfigError, default_data_dir, load_config

    data_dir = args.data_dir or default_data_dir()
    config_path = args.config or data_dir / "config.toml"
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"kiosk: configuration refused: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command](args, config, data_dir)


def _open_db(data_dir: Path):
    from kiosk import catalog
    from kiosk.store import open_store

    def open_db():
        db = open_store(data_dir / "kiosk.db")
        catalog.ensure_catalog(db)
        return db

    return open_db


def cmd_run(args, config, data_dir: Path) -> int:
    from dataclasses import replace

    from kiosk.ui.app import run_kiosk

    if args.mode:
        config = replace(config, mode=args.mode)
    from kiosk.sync.runner import SyncAgent

    # A terminal syncs with the platform in every mode; catalogs are applied in a helper process.
    agent = SyncAgent(config, data_dir, isolate_catalog=True)
    if config.mode == "admin":
        from kiosk.ui.app import run_admin

        return run_admin(_open_db(data_dir), config, sync_agent=agent, windowed=args.windowed,
                         data_dir=data_dir, config_path=args.config or data_dir / "config.toml")
    if config.mode in ("counter", "display"):
        from kiosk.ui.counter_window import run_queue_mode

        return run_queue_mode(config.mode, _open_db(data_dir), config, data_dir,
                              windowed=args.windowed)
    if config.mode != "kiosk":
        print(f"kiosk: mode {config.mode!r} is not built yet", file=sys.stderr)
        return 2
    return run_kiosk(_open_db(data_dir), config, windowed=args.windowed, sync_agent=agent,
                     data_dir=data_dir)


def cmd_demo(args, config, data_dir: Path) -> int:
    from dataclasses import replace

    if args.data_dir is None:
        data_dir = Path(tempfile.gettempdir()) / "kiosk-demo"
    if config.capture.kind == "files":
        # The demo has no scanner and nobody to pick files: its twin renders sample pages.
        config = replace(config, capture=replace(config.capture, kind="simulated"))
    if args.lang:
        config = replace(config, language=args.lang)
    from kiosk.ui.app import has_display

    shots_dir = args.screenshots
    if shots_dir is None and not has_display() and not args.exit_when_shown:
        shots_dir = Path("screenshots")
        print("kiosk demo: no display here; touring every screen offscreen instead, "
              f"PNGs in {shots_dir}/", file=sys.stderr)
    if shots_dir is not None or args.exit_when_shown:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if shots_dir is not None:
        from kiosk.ui.app import take_screenshots

        langs = (args.lang,) if args.lang else ("zh-Hans", "zh-Hant", "en")
        written = take_screenshots(_open_db(data_dir), config, shots_dir, langs)
        for path in written:
            print(path)
        return 0
    from kiosk.ui.app import run_kiosk

    return run_kiosk(_open_db(data_dir), replace(config, fullscreen=False), windowed=True,
                     started_at=STARTED_AT, exit_when_shown=args.exit_when_shown,
                     data_dir=data_dir, demo_queue=True)


def cmd_config(args, config, data_dir: Path) -> int:
    print(f"# data directory: {data_dir}")
    print(config.template(), end="")
    return 0


def cmd_catalog(args, config, data_dir: Path) -> int:
    from kiosk import catalog
    from kiosk.store import open_store

    try:
        if args.catalog_command == "validate":
            bundle = catalog.load_bundle(args.file)
            print(f"ok: version {bundle['version']}, {len(bundle['items'])} items, "
                  f"{len(bundle['departments'])} departments")
        elif args.catalog_command == "apply":
            bundle = catalog.load_bundle(args.file)
            db = open_store(data_dir / "kiosk.db")
            catalog.apply_bundle(db, bundle, source=str(args.file))
            print(f"applied: version {bundle['version']}, {len(bundle['items'])} items")
        else:
            db = open_store(data_dir / "kiosk.db")
            print(f"catalog version: {catalog.current_version(db)}")
    except catalog.CatalogError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_platform(args, config, data_dir: Path) -> int:
    from kiosk.platform.cli import cmd_platform as run

    return run(args, config, data_dir)


def cmd_admin(args, config, data_dir: Path) -> int:
    from kiosk.audit import AUDIT_ADMIN_COMMANDS
    from kiosk.notice_pdf import NOTICE_ADMIN_COMMANDS
    from kiosk.platform.cli import ADMIN_COMMANDS
    from kiosk.queue_cli import QUEUE_ADMIN_COMMANDS
    from kiosk.rekey import KEYS_ADMIN_COMMANDS
    from kiosk.retention import RETENTION_ADMIN_COMMANDS
    from kiosk.sync.cli import SYNC_ADMIN_COMMANDS

    commands = {**ADMIN_COMMANDS, **SYNC_ADMIN_COMMANDS, **QUEUE_ADMIN_COMMANDS,
                **AUDIT_ADMIN_COMMANDS, **NOTICE_ADMIN_COMMANDS, **RETENTION_ADMIN_COMMANDS,
                **KEYS_ADMIN_COMMANDS}
    return commands[args.admin_command](args, config, data_dir)


COMMANDS = {"run": cmd_run, "demo": cmd_demo, "config": cmd_config, "catalog": cmd_catalog,
            "platform": cmd_platform, "admin": cmd_admin}

if __name__ == "__main__":
    sys.exit(main())
