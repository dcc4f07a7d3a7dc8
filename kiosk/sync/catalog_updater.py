"""Pulling signed catalog bundles from the platform, and rolling back to the last good one.

A bundle is applied only if it is signed by the administrator's key that this terminal holds
(Ed25519 over the canonical JSON, kiosk.sync.signing), is newer than what we have, and validates.
Anything else is refused with one clear log line and the catalog already in the store keeps
serving. Applying is one transaction (kiosk.catalog.apply_bundle, search index included) that
also keeps the version it replaces as 'previous', which :func:`rollback` restores.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk import audit, catalog, search
from kiosk.store import get_setting, set_setting
from kiosk.sync.errors import (
    CatalogApplyFailed,
    CatalogRefused,
    NotConfigured,
    NothingToRollBack,
)
from kiosk.sync.http import PlatformClient
from kiosk.sync.signing import (
    KeyFileError,
    load_public_key,
    split_signed_answer,
    verify_bundle,
    verify_bytes,
)

log = logging.getLogger(__name__)

# After a rollback we must not take the version we rolled back from again at the next round.
ROLLED_BACK_FROM = "catalog.rolled_back_from"


@dataclass(frozen=True)
class CatalogUpdate:
    """What a pull did: ``state`` is 'updated', 'current' (nothing newer) or 'none' (nothing
    published yet); ``version`` is the version serving afterwards; ``timings`` the seconds
    spent verifying, parsing, validating, preparing rows and index (beside the validation, on
    another core in the helper process) and writing; the helper adds its whole time."""

    state: str
    version: int | None
    items: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def public_key(path: Path) -> Ed25519PublicKey:
    """The administrator's public key; NotConfigured when it is missing or not a key."""
    try:
        return load_public_key(path)
    except KeyFileError as exc:
        raise NotConfigured(f"cannot verify catalog updates: {exc} "
                            "(set [sync] public_key_file)") from exc


def floor_version(db: sqlite_utils.Database) -> int:
    """Versions at or below this are never taken from the platform."""
    current = catalog.current_version(db) or 0
    pinned = int(get_setting(db, ROLLED_BACK_FROM, "0") or 0)
    return max(current, pinned)


def check_answer(answer: object, key: Ed25519PublicKey, floor: int,
                 timings: dict[str, float] | None = None, *, signature_checked: bool = False,
                 validate: bool = True) -> dict:
    """The bundle of a GET /v1/catalog answer, or CatalogRefused saying why not.

    ``signature_checked``: the bundle was parsed from bytes :func:`read_answer` already verified;
    ``validate=False``: the caller validates the bundle itself (see apply_answer).
    """
    timings = {} if timings is None else timings
    started = time.perf_counter()
    if not isinstance(answer, dict) or not isinstance(answer.get("bundle"), dict):
        raise CatalogRefused("the answer holds no catalog bundle")
    bundle = answer["bundle"]
    version = bundle.get("version")
    label = f"version {version}" if isinstance(version, int) else "a bundle without a version"
    signature = answer.get("signature")
    if not signature:
        raise CatalogRefused(f"{label} is unsigned")
    if not signature_checked and not verify_bundle(bundle, signature, key):
        raise CatalogRefused(f"{label}: the signature does not match "
                             "(tampered, or signed with another key)")
    timings.setdefault("verify", time.perf_counter() - started)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CatalogRefused(f"{label}: the version is not a number")
    if answer.get("version") not in (None, version):
        raise CatalogRefused(f"{label}: the answer says version {answer.get('version')}")
    if version <= floor:
        raise CatalogRefused(f"{label} is not newer than version {floor} (older or replayed)")
    if not validate:
        return bundle
    started = time.perf_counter()
    try:
        catalog.validate_bundle(bundle)
    except catalog.CatalogError as exc:
        raise CatalogRefused(f"{label}: {exc}") from exc
    timings["validate"] = time.perf_counter() - started
    return bundle


def update_catalog(db: sqlite_utils.Database, client: PlatformClient,
                   key: Ed25519PublicKey) -> CatalogUpdate:
    """Pull the newest catalog and apply it if it is signed, newer and valid.

    Refusals raise CatalogRefused after logging one line; transport failures raise the
    kiosk.sync.errors they are. Either way the catalog in the store is unchanged.
    """
    floor = floor_version(db)
    serving = catalog.current_version(db)
    answer = client.get_catalog(floor)
    if answer is None:
        return CatalogUpdate("current" if serving else "none", serving)
    try:
        return apply_answer(db, answer, key, f"platform:{client.base_url}")
    except CatalogRefused as exc:
        _log_refusal(client.base_url, exc, serving)
        raise


def _log_refusal(url: str, exc: Exception, serving: int | None) -> None:
    log.warning("catalog update refused from %s: %s; still serving version %s", url, exc, serving)


@dataclass(frozen=True)
class ReadAnswer:
    """A parsed GET /v1/catalog answer; ``signed``: the verified bytes of its bundle, if known."""

    answer: object
    signed: bytes | None = None


def read_answer(raw: bytes, key: Ed25519PublicKey,
                timings: dict[str, float] | None = None) -> ReadAnswer:
    """Parse a downloaded GET /v1/catalog answer, verifying its signature when it can.

    In the reference server's layout the signature is checked over the signed bytes as they
    came, before parsing them (one pass of SHA-512 instead of re-serialising the bundle); any
    other layout, or bytes that do not verify, are parsed whole and left to check_answer.
    """
    timings = {} if timings is None else timings
    started = time.perf_counter()
    split = split_signed_answer(raw)
    if split is not None:
        version, signed, signature = split
        if verify_bytes(signed, signature, key):
            timings["verify"] = time.perf_counter() - started
            started = time.perf_counter()
            try:
                bundle = json.loads(signed)
            except ValueError as exc:  # signed, yet not JSON: the publisher's tool is broken
                raise CatalogRefused(f"version {version}: the signed bundle is not JSON ({exc})") from exc
            timings["parse"] = time.perf_counter() - started
            return ReadAnswer({"version": version, "bundle": bundle, "signature": signature},
                              signed)
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise CatalogRefused(f"the answer is not readable JSON ({exc})") from exc
    timings["parse"] = time.perf_counter() - started
    return ReadAnswer(answer)


def apply_answer(db: sqlite_utils.Database, answer: object, key: Ed25519PublicKey,
                 source: str, timings: dict[str, float] | None = None, *,
                 signed: bytes | None = None, fork: bool = False) -> CatalogUpdate:
    """Check a GET /v1/catalog answer and apply its bundle (CatalogRefused when it is not fit).

    ``signed``: the bundle's bytes, already verified by read_answer. With ``fork`` (only in
    the single-threaded helper process: forking a process with threads is unsafe), validating
    the bundle (on a second core, in a forked child that also compresses ``signed`` for
    keeping) and turning it into rows and a search index (here) run side by side; nothing is
    written unless both succeed.
    """
    timings = {} if timings is None else timings
    serving = catalog.current_version(db)
    bundle = check_answer(answer, key, floor_version(db), timings,
                          signature_checked=signed is not None, validate=False)
    started = time.perf_counter()
    validation = _validate_aside(bundle, signed, fork)
    try:
        prepared = catalog.prepare_bundle(bundle, keep=signed is None)
        timings["prepare"] = time.perf_counter() - started
    finally:
        problem, kept, timings["validate"] = validation()
    if problem:
        raise CatalogRefused(f"version {bundle['version']}: {problem}")
    if kept:
        prepared = dataclasses.replace(prepared, kept=kept)
    started = time.perf_counter()
    catalog.write_prepared(db, prepared, source=source)
    timings["write"] = time.perf_counter() - started
    log.info("catalog version %s applied (%d items), was %s",
             bundle["version"], len(bundle["items"]), serving)
    return CatalogUpdate("updated", bundle["version"], len(bundle["items"]), timings)


def _validate_aside(bundle: dict, signed: bytes | None, fork: bool
                    ) -> Callable[[], tuple[str | None, bytes, float]]:
    """Validate ``bundle`` (and compress ``signed``), in a forked child if ``fork``; returns the
    function that waits for it: (refusal message or None, compressed signed bytes or b"",
    seconds taken)."""
    started = time.perf_counter()

    def work() -> tuple[str | None, bytes]:
        try:
            catalog.validate_bundle(bundle)
        except catalog.CatalogError as exc:
            return str(exc), b""
        return None, zlib.compress(signed, 1) if signed is not None else b""

    if not (fork and hasattr(os, "fork")):
        problem, kept = work()
        took = time.perf_counter() - started
        return lambda: (problem, kept, took)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, never return into the caller's code
        status = 1
        try:
            os.close(read_fd)
            problem, kept = work()
            head = b"E" + problem.encode("utf-8") if problem else b"V"
            with os.fdopen(write_fd, "wb") as out:
                out.write(struct.pack(">d", time.perf_counter() - started) + head + kept)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)

    def result() -> tuple[str | None, bytes, float]:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or len(data) < 9:
            raise CatalogApplyFailed(f"the catalog validation process failed (status {status})")
        (took,) = struct.unpack(">d", data[:8])
        if data[8:9] == b"E":
            return data[9:].decode("utf-8"), b"", took
        return None, data[9:], took

    return result


def update_catalog_isolated(db: sqlite_utils.Database, client: PlatformClient, key_path: Path,
                            work_dir: Path) -> CatalogUpdate:
    """Like update_catalog, but the new bundle is parsed, checked and applied by a helper process.

    Parsing, hashing and indexing a 10,000-item bundle holds Python's GIL for long stretches
    (a 30 MB ``json.loads`` is one call of ~0.6 s): in the app's own process that would freeze
    the screen, so the app only streams the answer to a file and a child process does the rest,
    writing to the same store (WAL). The child is started as soon as the server says a newer
    catalog is coming, so its ~0.5 s of imports and warm-up overlap the download; nothing newer
    on the server costs no process at all.
    """
    floor = floor_version(db)
    serving = catalog.current_version(db)
    work_dir.mkdir(parents=True, exist_ok=True)
    download = work_dir / "catalog-download.part"
    db_path = db.execute("PRAGMA database_list").fetchone()[2]
    helper: list[subprocess.Popen] = []

    def start_helper() -> None:
        helper.append(subprocess.Popen(
            [sys.executable, "-m", "kiosk.sync.catalog_updater", "--db", db_path,
             "--key", str(key_path), "--answer", str(download),
             "--source", f"platform:{client.base_url}", "--wait"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))

    try:
        try:
            if not client.download_catalog(floor, download, on_start=start_helper):
                return CatalogUpdate("current" if serving else "none", serving)
        except BaseException:
            for child in helper:  # told nothing, it would wait forever: it must not apply
                child.kill()
                child.wait()
            raise
        stdout, stderr = helper[0].communicate("go\n", timeout=900)
        returncode = helper[0].returncode
    finally:
        download.unlink(missing_ok=True)
    try:
        result = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {}
    if returncode == REFUSED and "refused" in result:
        exc = CatalogRefused(result["refused"])
        _log_refusal(client.base_url, exc, serving)
        raise exc
    if returncode != 0 or "state" not in result:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        raise CatalogApplyFailed(f"the catalog helper process failed ({returncode}): {tail}")
    return CatalogUpdate(result["state"], result["version"], result["items"], result["timings"])


REFUSED = 3  # the helper's exit status for a refused bundle
ABANDONED = 4  # the helper was started but the download failed: it did nothing


def _main(argv: list[str] | None = None) -> int:
    """The helper process: check and apply a downloaded catalog answer; one JSON line out."""
    import argparse

    from kiosk.store import open_store

    parser = argparse.ArgumentParser(prog="python -m kiosk.sync.catalog_updater")
    parser.add_argument("--db", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--answer", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--wait", action="store_true",
                        help="warm up, then wait for 'go' on standard input (the download is "
                             "still running); anything else, or its end, means give up")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.wait:
        catalog._fast_check()  # compiling the schema and loading the pinyin tables take
        search.warm_up()  # ~0.3 s: done while the answer is still downloading
        if sys.stdin.readline().strip() != "go":
            return ABANDONED
    started = time.perf_counter()
    timings: dict[str, float] = {}
    key = public_key(Path(args.key))
    try:
        read = read_answer(Path(args.answer).read_bytes(), key, timings)
    except OSError as exc:
        print(json.dumps({"refused": f"the downloaded answer cannot be read ({exc})"}))
        return REFUSED
    except CatalogRefused as exc:
        print(json.dumps({"refused": str(exc)}, ensure_ascii=False))
        return REFUSED
    db = open_store(args.db)
    try:
        update = apply_answer(db, read.answer, key, args.source, timings, signed=read.signed,
                              fork=True)
    except CatalogRefused as exc:
        print(json.dumps({"refused": str(exc)}, ensure_ascii=False))
        return REFUSED
    finally:
        db.conn.close()
    timings["helper"] = time.perf_counter() - started
    print(json.dumps({"state": update.state, "version": update.version, "items": update.items,
                      "timings": timings}))
    return 0


def previous_version(db: sqlite_utils.Database) -> int | None:
    row = db.execute("SELECT version FROM catalog_versions WHERE state = 'previous'").fetchone()
    return row[0] if row else None


def rollback(db: sqlite_utils.Database, *, actor: str = "admin") -> int:
    """Make the kept previous version current again; returns it (an audit record says who).

    The version rolled back from becomes 'previous' (so a second rollback undoes the first) and
    is never pulled again: the next update must be a newer one.
    """
    row = db.execute(
        "SELECT version, bundle FROM catalog_versions WHERE state = 'previous'"
    ).fetchone()
    if row is None:
        raise NothingToRollBack("there is no previous catalog version to roll back to")
    version, text = row
    current = catalog.current_version(db)
    with db.atomic():
        catalog.apply_bundle(db, catalog.kept_bundle(text), source=f"rollback from {current}",
                             validate=False)
        pinned = max(int(get_setting(db, ROLLED_BACK_FROM, "0") or 0), current or 0)
        set_setting(db, ROLLED_BACK_FROM, str(pinned))
        audit.append(db, actor, "catalog.rollback", "catalog", {"from": current, "to": version})
    log.warning("catalog rolled back from version %s to version %s", current, version)
    return version


if __name__ == "__main__":
    sys.exit(_main())
