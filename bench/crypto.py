"""Filing with encryption at rest on: the p95 must stay ≤ 150 ms.

Runs bench/filing.py's rounds (validate, pre-review, two 1 MB scans stored durably, one
transaction queuing the application for sync) as the kiosk does them, encryption on, then
checks that the bench's data directory holds no plaintext: no ID number, name or phone in the
store, its WAL or any file, and every scan file sealed. It also times AES-256-GCM alone on a
1 MB page, and a run with the sealing functions replaced by the identity, to show what
encryption adds. The last line is `file_p95_ms: <n>` of the encrypted run.
Run from the repository root: `.venv/bin/python bench/crypto.py [rounds]`.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_filing", ROOT / "bench" / "filing.py")
assert _spec is not None and _spec.loader is not None
filing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filing)  # also puts the repository root on sys.path

from kiosk import atrest, crypto  # noqa: E402


def check_no_plaintext(base: Path) -> None:
    """Fail loudly if any file of the data directory holds a personal field or an open scan."""
    needles = [filing.ANSWERS[k].encode() for k in ("name", "id_number", "phone", "address")]
    files = [p for p in base.rglob("*") if p.is_file()]
    leaks = [f"{p.name}: {n.decode()}" for p in files for n in needles if n in p.read_bytes()]
    scans = [p for p in (base / "blobs").rglob("*") if p.is_file()]
    open_scans = [p.name for p in scans if not p.read_bytes().startswith(crypto.BLOB_MAGIC)]
    print(f"searched {len(files)} files (store, WAL, {len(scans)} scan files): "
          f"{len(leaks)} plaintext personal fields, {len(open_scans)} unencrypted scans")
    if leaks or open_scans:
        raise SystemExit(f"plaintext at rest: {leaks[:5]} {open_scans[:5]}")


def aes_ms(rounds: int = 50) -> tuple[float, float]:
    """Median ms to seal and to open one 1 MB page with AES-256-GCM."""
    ring = crypto.KeyRing.open(atrest.MemoryKeyStore())
    page = os.urandom(filing.PAGE_BYTES)
    seal, opening = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        sealed = ring.encrypt_bytes(page, "blob:x")
        seal.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        ring.decrypt_bytes(sealed, "blob:x")
        opening.append((time.perf_counter() - start) * 1000)
    return statistics.median(seal), statistics.median(opening)


def main(rounds: int = 60) -> float:
    seal_ms, open_ms = aes_ms()
    print(f"aes_gcm_1mb_seal_ms: {seal_ms:.2f}  aes_gcm_1mb_open_ms: {open_ms:.2f}")
    print("--- baseline: sealing replaced by the identity (not how the kiosk runs) ---")
    with mock.patch.object(atrest, "seal", lambda keys, text, context: text), \
            mock.patch.object(atrest, "seal_bytes", lambda keys, data, sha: data):
        baseline = filing.main(rounds)
    print("--- encryption on (as the kiosk runs) ---")
    p95 = filing.main(rounds, inspect=check_no_plaintext)
    print(f"encryption_adds_p95_ms: {p95 - baseline:.1f}")
    print(f"file_p95_ms: {p95:.1f}")
    return p95


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
