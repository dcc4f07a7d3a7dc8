"""``kiosk platform ...`` (run the reference server) and ``kiosk admin ...`` (keys, enrollment,
publishing) commands.

Secrets are printed once on stdout and nothing else is (so ``TOKEN=$(kiosk admin enroll ...)``
works); explanations go to stderr. Heavy imports (FastAPI, uvicorn, cryptography) happen inside
the commands, so building the parser stays cheap for every other ``kiosk`` command.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("kiosk.platform")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
ADMIN_TOKEN_ENV = "KIOSK_ADMIN_TOKEN"


def add_platform_commands(sub: Any) -> None:
    """Register ``kiosk platform serve`` and ``kiosk platform admin-token``."""
    plat = sub.add_parser("platform", help="the reference platform server")
    plat_sub = plat.add_subparsers(dest="platform_command", required=True)
    serve = plat_sub.add_parser("serve", help="run the platform server (protocol v1, HTTP)")
    serve.add_argument("--db", metavar="URL",
                       help="database URL, sqlite:///PATH (default: platform.db in the data dir)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    serve.add_argument("--catalog-key", type=Path, metavar="PUBLIC_KEY_FILE",
                       help="the administrator's Ed25519 public key (PEM) that catalogs must be "
                            "signed with (made by kiosk admin keygen)")
    token = plat_sub.add_parser("admin-token", help="print a new admin token (shown once)")
    token.add_argument("--db", metavar="URL", help="database URL (as for serve)")


def add_admin_commands(sub: Any) -> Any:
    """Register ``kiosk admin keygen|enroll|publish``; returns the subparsers for more commands."""
    adm = sub.add_parser("admin", help="administration: signing keys, enrollment, publishing")
    adm_sub = adm.add_subparsers(dest="admin_command", required=True)
    keygen = adm_sub.add_parser("keygen", help="write a new Ed25519 catalog signing key pair")
    keygen.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="directory for the key files (private key mode 0600)")

    enroll = adm_sub.add_parser("enroll", help="enroll a terminal; prints its token once")
    _server_args(enroll)
    enroll.add_argument("--hall", required=True, help="hall id, e.g. H0001")
    enroll.add_argument("--terminal", required=True, help="terminal id, e.g. K01")

    publish = adm_sub.add_parser("publish", help="sign a catalog and publish it to the server")
    publish.add_argument("catalog", type=Path, metavar="CATALOG.json")
    publish.add_argument("--key", type=Path, required=True, metavar="PRIVATE_KEY",
                         help="the Ed25519 private key (PEM) from kiosk admin keygen")
    _server_args(publish)
    return adm_sub


def _server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", metavar="URL",
                        help="platform server URL (default: platform_url of the configuration)")
    parser.add_argument("--admin-token", metavar="TOKEN",
                        help=f"admin token (default: ${ADMIN_TOKEN_ENV})")


def _err(message: str) -> None:
    print(f"kiosk: {message}", file=sys.stderr)


def _db_url(args: argparse.Namespace, data_dir: Path) -> str:
    return args.db or f"sqlite:///{(data_dir / 'platform.db').absolute()}"


# --- kiosk platform ------------------------------------------------------------------------

def cmd_platform(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    """Dispatch ``kiosk platform serve|admin-token``."""
    from kiosk.platform.db import DatabaseURLError, PlatformDB, PlatformDBError

    try:
        db = PlatformDB.from_url(_db_url(args, data_dir))
    except (DatabaseURLError, PlatformDBError) as exc:
        _err(str(exc))
        return 2
    if args.platform_command == "admin-token":
        token = db.issue_admin_token()
        db.close()
        print("admin token (shown once; the server keeps only its SHA-256):", file=sys.stderr)
        print(token)
        return 0
    return _serve(args, db)


def _serve(args: argparse.Namespace, db: Any) -> int:
    import uvicorn

    from kiosk.platform.server import create_app
    from kiosk.sync.signing import KeyFileError, load_public_key

    if args.catalog_key is None:
        _err("the server needs the administrator's public key to check catalog signatures: "
             "--catalog-key PUBLIC_KEY_FILE (make a pair with: kiosk admin keygen --out DIR)")
        return 2
    try:
        public_key = load_public_key(args.catalog_key)
    except KeyFileError as exc:
        _err(str(exc))
        return 2
    app = create_app(db, public_key)
    log.info("platform server: database %s, blobs in %s, catalog key %s", db.path, db.blob_dir,
             args.catalog_key)
    # log_config=None: keep our logging set-up; access_log=False: Gate writes one line per
    # request itself (method, path, status, time, caller — never the token).
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                server_header=False, timeout_graceful_shutdown=5)
    db.close()
    return 0


# --- kiosk admin ---------------------------------------------------------------------------

def cmd_admin(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    """Dispatch ``kiosk admin keygen|enroll|publish``."""
    return ADMIN_COMMANDS[args.admin_command](args, config, data_dir)


def admin_keygen(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    from kiosk.sync.signing import KeyFileError, generate_keypair

    try:
        private, public = generate_keypair(args.out)
    except (KeyFileError, OSError) as exc:
        _err(f"no key written: {exc}")
        return 1
    print(f"private key: {private}  (mode 0600; keep it offline, it signs catalogs)")
    print(f"public key:  {public}  (give it to kiosk platform serve --catalog-key and to "
          "every terminal)")
    return 0


def _admin_session(args: argparse.Namespace, config: Any) -> tuple[str, Any] | None:
    from kiosk.sync.http import make_session

    token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV)
    if not token:
        _err(f"an admin token is needed: --admin-token TOKEN or ${ADMIN_TOKEN_ENV} "
             "(made on the server machine with: kiosk platform admin-token)")
        return None
    server = (args.server or config.platform_url).rstrip("/")
    return server, make_session(token, timeout_s=120)


def _refusal(response: Any) -> str:
    try:
        body = response.json()
        return f"{response.status_code} {body['error']}: {body['detail']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.text[:200]}"


def admin_enroll(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    import requests

    got = _admin_session(args, config)
    if got is None:
        return 2
    server, session = got
    try:
        response = session.post(f"{server}/v1/terminals",
                                json={"hall_id": args.hall, "terminal_id": args.terminal})
    except requests.RequestException as exc:
        _err(f"cannot reach the platform server {server}: {exc}")
        return 1
    if response.status_code != 201:
        _err(f"enrollment refused: {_refusal(response)}")
        return 1
    print(f"terminal {args.hall}/{args.terminal} enrolled; its token (shown once, earlier tokens "
          "of this terminal no longer work):", file=sys.stderr)
    print(response.json()["token"])
    return 0


def admin_publish(args: argparse.Namespace, config: Any, data_dir: Path) -> int:
    import requests

    from kiosk.catalog import CatalogError, load_bundle
    from kiosk.sync.signing import KeyFileError, load_private_key, sign_bundle

    try:
        bundle = load_bundle(args.catalog)
    except CatalogError as exc:
        _err(f"not published: {exc}")
        return 1
    try:
        key = load_private_key(args.key)
    except KeyFileError as exc:
        _err(f"not published: {exc}")
        return 1
    got = _admin_session(args, config)
    if got is None:
        return 2
    server, session = got
    try:
        version = _next_version(session, server, bundle["version"])
        if version is None:
            return 1
        bundle["version"] = version
        signature = sign_bundle(bundle, key)
        # UTF-8, not \u escapes: a Chinese catalog is then less than half the size on the wire.
        body = json.dumps({"bundle": bundle, "signature": signature}, ensure_ascii=False)
        response = session.post(f"{server}/v1/catalog", data=body.encode("utf-8"),
                                headers={"Content-Type": "application/json"})
    except requests.RequestException as exc:
        _err(f"cannot reach the platform server {server}: {exc}")
        return 1
    if response.status_code not in (200, 201):
        _err(f"not published: {_refusal(response)}")
        return 1
    again = " (it was already there)" if response.status_code == 200 else ""
    print(f"published catalog version {version} ({len(bundle['items'])} items) "
          f"to {server}{again}")
    return 0


def _next_version(session: Any, server: str, file_version: int) -> int | None:
    """max(server's version + 1, the file's version), without downloading the catalog when the
    file's version is already the higher one (since=file_version-1 answers 304 then)."""
    response = session.get(f"{server}/v1/catalog", params={"since": max(file_version - 1, 0)})
    if response.status_code in (304, 404):
        return file_version
    if response.status_code != 200:
        _err(f"cannot read the server's catalog version: {_refusal(response)}")
        return None
    return max(int(response.json()["version"]) + 1, file_version)


ADMIN_COMMANDS = {"keygen": admin_keygen, "enroll": admin_enroll, "publish": admin_publish}
