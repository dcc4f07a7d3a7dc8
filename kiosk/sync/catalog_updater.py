"""Pulling signed catalog bundles from the platform, and rolling back to the last good one.

A bundle is applied only if it is signed by the administrator's key that this terminal holds
(Ed25519 over the canonical JSON, kiosk.sync.signing), is newer than what we have, and validates.
Anything else is refused with one clear log line and the catalog already in the store keeps
serving. Applying is one transaction (kiosk.catalog.apply_bundle, search index included) that
also keeps the version it replaces as 'previous', which :func:`rollback` restores.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import threading
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


def read_answer(raw: bytes, key: Ed25519PublicKey, timings: dict[str, float] | None = None, *,
                on_verified: Callable[[bytes], object] | None = None) -> ReadAnswer:
    """Parse a downloaded GET /v1/catalog answer, verifying its signature when it can.

    In the reference server's layout the signature is checked over the signed bytes as they
    came, before parsing them (one pass of SHA-512 instead of re-serialising the bundle);
    ``on_verified`` is then given those bytes before they are parsed. Any other layout, or
    bytes that do not verify, are parsed whole and left to check_answer.
    """
    timings = {} if timings is None else timings
    started = time.perf_counter()
    split = split_signed_answer(raw)
    if split is not None:
        version, signed, signature = split
        if verify_bytes(signed, signature, key):
            timings["verify"] = time.perf_counter() - started
            if on_verified is not None:
                on_verified(signed)
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
                 signed: bytes | None = None, validation: Validation | None = None
                 ) -> CatalogUpdate:
    """Check a GET /v1/catalog answer and apply its bundle (CatalogRefused when it is not fit).

    ``signed``: the bundle's bytes, already verified by read_answer. ``validation``: the
    bundle's validation already running beside this (Validation.forked); without it the
    bundle is validated here. Nothing is written unless the validation passed.
    """
    timings = {} if timings is None else timings
    serving = catalog.current_version(db)
    try:
        bundle = check_answer(answer, key, floor_version(db), timings,
                              signature_checked=signed is not None, validate=False)
    except CatalogRefused:
        if validation is not None:
            validation.cancel()
        raise
    started = time.perf_counter()
    if validation is None:
        validation = Validation.inline(bundle, signed)
    broken: Exception | None = None
    try:
        prepared = catalog.prepare_bundle(bundle, keep=signed is None)
        timings["prepare"] = time.perf_counter() - started
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        broken = exc  # an invalid bundle cannot be turned into rows: validation says why
    finally:
        problem, kept, timings["validate"] = validation.result()
    if problem or broken:
        raise CatalogRefused(f"version {bundle['version']}: "
                             f"{problem or f'malformed ({type(broken).__name__}: {broken})'}")
    if kept:
        prepared = dataclasses.replace(prepared, kept=kept)
    started = time.perf_counter()
    catalog.write_prepared(db, prepared, source=source)
    timings["write"] = time.perf_counter() - started
    log.info("catalog version %s applied (%d items), was %s",
             bundle["version"], len(bundle["items"]), serving)
    return CatalogUpdate("updated", bundle["version"], len(bundle["items"]), timings)


def _validate(bundle: object, signed: bytes | None) -> tuple[str | None, bytes]:
    """(refusal message or None, ``signed`` compressed for keeping, or b"")."""
    try:
        catalog.validate_bundle(bundle)
    except catalog.CatalogError as exc:
        return str(exc), b""
    return None, zlib.compress(signed, 1) if signed is not None else b""


class Validation:
    """A bundle's validation, done here or in a forked child; result() gives (refusal message
    or None, the signed bytes compressed for keeping or b"", seconds taken)."""

    def __init__(self, outcome: tuple[str | None, bytes, float] | None = None,
                 pid: int = 0, pipe: int = -1, compressing: threading.Thread | None = None,
                 kept: list[bytes] | None = None) -> None:
        self._outcome, self._pid, self._pipe = outcome, pid, pipe
        self._compressing, self._kept = compressing, kept

    @classmethod
    def inline(cls, bundle: dict, signed: bytes | None) -> Validation:
        started = time.perf_counter()
        problem, kept = _validate(bundle, signed)
        return cls((problem, kept, time.perf_counter() - started))

    @classmethod
    def forked(cls, signed: bytes) -> Validation:
        """Parse and validate ``signed`` in a forked child, on the other core, while this
        process parses and indexes its own copy (and a thread compresses ``signed``: zlib lets
        go of the GIL). Forked before the parse on purpose: forked after it, both processes
        copied pages of the parsed bundle they touched, and each side took longer. Only for a
        process with no other threads."""
        if not hasattr(os, "fork"):
            try:
                return cls.inline(json.loads(signed), signed)
            except ValueError as exc:
                return cls((f"not JSON ({exc})", b"", 0.0))
        started = time.perf_counter()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: answer through the pipe, never return into the caller's code
            status = 1
            try:
                os.close(read_fd)
                try:
                    problem, _ = _validate(json.loads(signed), None)
                except ValueError as exc:
                    problem = f"not JSON ({exc})"
                head = b"E" + problem.encode("utf-8") if problem else b"V"
                with os.fdopen(write_fd, "wb") as out:
                    out.write(struct.pack(">d", time.perf_counter() - started) + head)
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        kept: list[bytes] = []
        compressing = threading.Thread(target=lambda: kept.append(zlib.compress(signed, 1)),
                                       name="compress-kept-catalog", daemon=True)
        compressing.start()
        return cls(pid=pid, pipe=read_fd, compressing=compressing, kept=kept)

    def result(self) -> tuple[str | None, bytes, float]:
        if self._outcome is None:
            with os.fdopen(self._pipe, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            if status != 0 or len(data) < 9:
                raise CatalogApplyFailed(f"the catalog validation process failed ({status})")
            (took,) = struct.unpack(">d", data[:8])
            problem = data[9:].decode("utf-8") if data[8:9] == b"E" else None
            self._outcome = (problem, b"" if problem else self._compressed(), took)
        return self._outcome

    def _compressed(self) -> bytes:
        if self._compressing is None or self._kept is None:
            return b""
        self._compressing.join()
        if not self._kept:
            raise CatalogApplyFailed("compressing the catalog for keeping failed")
        return self._kept[0]

    def cancel(self) -> None:
        """Stop a forked validation that is no longer wanted (the bundle was refused)."""
        if self._outcome is None:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._pipe)
            self._outcome = ("cancelled", b"", 0.0)
            if self._compressing is not None:
                self._compressing.join()


def update_catalog_isolated(db: sqlite_utils.Database, client: PlatformClient, key_path: Path,
                            work_dir: Path, *, warm: WarmHelper | None = None) -> CatalogUpdate:
    """Like update_catalog, but the new bundle is parsed, checked and applied by a helper process.

    Parsing, hashing and indexing a 10,000-item bundle holds Python's GIL for long stretches
    (a 30 MB ``json.loads`` is one call of ~0.5 s): in the app's own process that would freeze
    the screen, so the app only streams the answer to a file and a child process does the rest,
    writing to the same store (WAL). The helper is taken from ``warm``, which keeps one started
    from round to round (refilled at the start of a round, so it warms up while the server is
    asked), or else started as soon as the server says a newer catalog is coming.
    """
    floor = floor_version(db)
    serving = catalog.current_version(db)
    work_dir.mkdir(parents=True, exist_ok=True)
    download = work_dir / "catalog-download.part"
    args = _helper_args(db, key_path, download, f"platform:{client.base_url}")
    helper: list[subprocess.Popen] = []
    if warm is not None:
        warm.refill(args)

    def start_helper() -> None:
        helper.append(warm.take(args) if warm is not None else _spawn(args))

    try:
        try:
            if not client.download_catalog(floor, download, on_start=start_helper):
                return CatalogUpdate("current" if serving else "none", serving)
        except BaseException:
            for child in helper:  # not told to go, it applies nothing
                _abandon(child)
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


def _helper_args(db: sqlite_utils.Database, key_path: Path, download: Path,
                 source: str) -> list[str]:
    db_path = db.execute("PRAGMA database_list").fetchone()[2]
    return [sys.executable, "-m", "kiosk.sync.catalog_updater", "--db", db_path,
            "--key", str(key_path), "--answer", str(download), "--source", source, "--wait"]


def _spawn(args: list[str]) -> subprocess.Popen:
    """A helper process that warms up and then waits for 'go' on its standard input."""
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _abandon(child: subprocess.Popen) -> None:
    """Tell a waiting helper there is nothing to do (end of its input), and reap it."""
    try:
        child.communicate("", timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()


class WarmHelper:
    """One catalog helper kept started and warmed up between sync rounds (imports, compiled
    schema, pinyin tables: ~0.5 s that an update then does not wait for). The price is an idle
    process of ~90 MB while the app runs; it ends on close(), or when the app ends and its
    standard input closes."""

    def __init__(self) -> None:
        self._child: subprocess.Popen | None = None
        self._args: list[str] = []

    def take(self, args: list[str]) -> subprocess.Popen:
        """The waiting helper if it was started with ``args`` and is alive, else a new one;
        from now on the caller's."""
        child, self._child = self._child, None
        if child is not None and (self._args != args or child.poll() is not None):
            _abandon(child)
            child = None
        return child if child is not None else _spawn(args)

    def refill(self, args: list[str]) -> None:
        """Have a helper waiting for the next update (a no-op while one waits)."""
        if self._child is not None and (self._args != args or self._child.poll() is not None):
            self.close()
        if self._child is None:
            self._child, self._args = _spawn(args), args

    def close(self) -> None:
        if self._child is not None:
            _abandon(self._child)
            self._child = None


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
    # A process with one job and then exit: the collector's passes over millions of parsed
    # objects would only cost time, and after the fork they would make both processes copy
    # every page they share.
    gc.disable()
    key = public_key(Path(args.key))
    db = open_store(args.db)
    # This connection only replaces the catalog, which is public and can be downloaded again:
    # no zeroing of the 30 MB it frees, and no fsync at commit (WAL with synchronous=NORMAL
    # stays consistent; a power cut may only undo the update, and the next round redoes it).
    # Nor does its commit copy the WAL into the database (~150 ms): the next helper does that
    # while it waits, and any other connection's commit would.
    db.execute("PRAGMA secure_delete=OFF")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    try:
        if args.wait:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # what the previous update left
            catalog._fast_check()  # compiling the schema and loading the pinyin tables take
            search.warm_up()  # ~0.3 s: done while the answer is still downloading
            if sys.stdin.readline().strip() != "go":
                return ABANDONED
        return _check_and_apply(db, key, Path(args.answer), args.source)
    finally:
        db.conn.close()


def _check_and_apply(db: sqlite_utils.Database, key: Ed25519PublicKey, answer_path: Path,
                     source: str) -> int:
    """The helper's work once the answer is downloaded: the exit status, one JSON line out."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    validations: list[Validation] = []  # this process has no other threads: it may fork
    try:
        try:
            read = read_answer(answer_path.read_bytes(), key, timings,
                               on_verified=lambda signed: validations.append(
                                   Validation.forked(signed)))
        except OSError as exc:
            raise CatalogRefused(f"the downloaded answer cannot be read ({exc})") from exc
        update = apply_answer(db, read.answer, key, source, timings, signed=read.signed,
                              validation=validations[0] if validations else None)
    except CatalogRefused as exc:
        for validation in validations:
            validation.cancel()
        print(json.dumps({"refused": str(exc)}, ensure_ascii=False))
        return REFUSED
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
    status = _main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: freeing a parsed 10,000-item bundle object by object takes a tenth of a
    # second that the app would wait for; the store is closed and the OS takes the rest back.
    os._exit(status)
