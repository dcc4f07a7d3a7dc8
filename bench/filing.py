"""How long filing an application takes at the kiosk, from "File" to committed and queued.

Each round: validate the form and pre-review (kiosk.prereview), store two scanned pages of 1 MB
each by SHA-256 (read and decrypt the captured page, encrypt, temp file + fsync + rename +
directory fsync), and write the application (personal fields encrypted), its status and its
outbox records in one transaction on a store with synchronous=FULL
(kiosk.prereview.file_reviewed → kiosk.applications.file_application). The pages are fresh
random bytes every round, stored encrypted beforehand as the capture screen leaves them
(kiosk.devices.capture.BlobStore), so no round reuses a stored file.

Prints p50, p95 and max; the last line is `file_p95_ms: <n>` (target ≤ 150 ms).
Run from the repository root: `.venv/bin/python bench/filing.py [rounds]`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/queue.py would shadow the standard library's queue module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk import catalog  # noqa: E402
from kiosk.config import Config  # noqa: E402
from kiosk.devices.capture import BlobStore  # noqa: E402
from kiosk.prereview import MaterialState, file_reviewed  # noqa: E402
from kiosk.store import open_store  # noqa: E402

ITEM = "SCDJ-XK-004"
ANSWERS = {"applicant_type": "person", "name": "张丽", "id_number": "11010519491231002X",
           "phone": "13800138000", "address": "北京市朝阳区示例路1号院2号楼301室"}
PAGE_BYTES = 1024 * 1024


def main(rounds: int = 60, *, inspect: Callable[[Path], None] | None = None) -> float:
    """Run the rounds and print the figures; ``inspect`` sees the data directory before it is
    deleted (bench/crypto.py searches it for plaintext)."""
    with tempfile.TemporaryDirectory(prefix="bench-filing-") as tmp:
        base = Path(tmp)
        db = open_store(base / "kiosk.db")
        catalog.apply_bundle(db, catalog.load_bundle(catalog.SAMPLE_CATALOG), source="bench",
                             validate=False)
        item = catalog.get_item(db, ITEM)
        assert item is not None
        config = Config()
        capture = BlobStore(base / "blobs")
        times = []
        for _ in range(rounds):
            pages = []
            for _k in range(2):  # two scans, as the capture screen leaves them on disk
                pages.append(str(capture.put(os.urandom(PAGE_BYTES))[1]))
            required = [i for i, m in enumerate(item["guide"]["materials"]) if m["required"]]
            states = [MaterialState(required[0], pages=(pages[0],)),
                      MaterialState(required[1], pages=(pages[1],))]
            states += [MaterialState(i, original_brought=True) for i in required[2:]]
            start = time.perf_counter()
            file_reviewed(db, config, item, ANSWERS, states, base / "blobs",
                          today=date(2026, 12, 7))
            times.append((time.perf_counter() - start) * 1000)
        if inspect is not None:
            inspect(base)
        db.conn.close()
    times.sort()
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    print(f"rounds: {rounds}, 2 scans of {PAGE_BYTES // 1024} KiB each, "
          f"store on {tempfile.gettempdir()}")
    print(f"file_p50_ms: {statistics.median(times):.1f}")
    print(f"file_max_ms: {times[-1]:.1f}")
    print(f"file_p95_ms: {p95:.1f}")
    return p95


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
