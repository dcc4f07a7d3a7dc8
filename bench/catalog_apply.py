"""Where the time of applying a 10,000-item catalog goes.

Applies bench/search.py's generated catalog (``make_bundle()``, ~22 MB of JSON) to fresh stores
with ``kiosk.catalog.apply_bundle(validate=False)`` several times and prints the median of:

* the whole apply (items rows, search index, catalog version, commit),
* the same apply with the search index left out (what kiosk.catalog itself costs),
* ``kiosk.search.index_items`` alone, in its own transaction, commit included,
* the two ``json.dumps`` calls apply_bundle makes (every item, then the whole bundle again),
* importing pypinyin in a fresh interpreter (paid once per process, by the first apply).

The last line is `catalog_apply_ms: <n>` (median whole apply).
Run from the repository root: `.venv/bin/python bench/catalog_apply.py [rounds]`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/queue.py would shadow the standard library's queue module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.search import make_bundle  # noqa: E402
from kiosk import catalog, search  # noqa: E402
from kiosk.store import open_store  # noqa: E402


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def apply_once(bundle: dict, *, with_index: bool = True) -> float:
    """Milliseconds for one apply_bundle into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "kiosk.db")
        original = search.build_index
        if not with_index:
            search.build_index = lambda items: {}
        try:
            start = time.perf_counter()
            catalog.apply_bundle(db, bundle, source="bench", validate=False)
            took = _ms(start)
        finally:
            search.build_index = original
            db.conn.close()
    return took


def index_once(bundle: dict) -> float:
    """Milliseconds for search.index_items alone, in its own transaction, commit included."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "kiosk.db")
        try:
            start = time.perf_counter()
            with db.atomic():
                search.index_items(db, bundle["items"])
            return _ms(start)
        finally:
            db.conn.close()


def pypinyin_import_ms() -> float:
    """Importing what the index build uses from pypinyin, in a fresh interpreter."""
    code = ("import time; from kiosk.search import _Pinyin; t = time.perf_counter(); "
            "_Pinyin(); print((time.perf_counter() - t) * 1000)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    bundle = make_bundle()
    search._Pinyin()  # pypinyin imported once, as in a running kiosk; its cost is shown apart
    whole, rows_only, index_only, dumps_items, dumps_bundle = [], [], [], [], []
    for _ in range(rounds):
        whole.append(apply_once(bundle))
        rows_only.append(apply_once(bundle, with_index=False))
        index_only.append(index_once(bundle))
        start = time.perf_counter()
        for item in bundle["items"]:
            json.dumps(item, ensure_ascii=False)
        dumps_items.append(_ms(start))
        start = time.perf_counter()
        json.dumps(bundle, ensure_ascii=False)
        dumps_bundle.append(_ms(start))
    median = statistics.median
    print(f"catalog: {len(bundle['items'])} items, {len(json.dumps(bundle, ensure_ascii=False)) / 1e6:.0f} M "
          f"characters of JSON; {rounds} rounds, medians")
    print(f"apply without the search index: {median(rows_only):.0f} ms "
          f"(of which json.dumps of every item {median(dumps_items):.0f} ms "
          f"and of the whole bundle {median(dumps_bundle):.0f} ms)")
    print(f"search.index_items alone, commit included: {median(index_only):.0f} ms")
    print(f"pypinyin import (first apply in a process only): {pypinyin_import_ms():.0f} ms")
    print(f"catalog_apply_ms: {median(whole):.0f}")


if __name__ == "__main__":
    main()
