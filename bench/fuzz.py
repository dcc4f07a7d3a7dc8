"""The fuzz campaign: every test in tests/fuzz with many hypothesis examples, and how many
cases each parser of outside input took.

Run from the repository root: `.venv/bin/python bench/fuzz.py [examples per test] [--random]`
(default 2000; --random draws new cases instead of hypothesis' fixed, repeatable seed). The
normal test suite runs the same tests with 40 examples each. Exit status 1 when any case found
a crash or a lost record (pytest prints the smallest failing case).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    examples = next((a for a in argv if a.isdigit()), "2000")
    with tempfile.TemporaryDirectory() as tmp:
        counts_file = Path(tmp) / "counts.json"
        env = {**os.environ, "KIOSK_FUZZ_EXAMPLES": examples,
               "KIOSK_FUZZ_COUNTS": str(counts_file), "KIOSK_BLOCK_QT": "1"}
        if "--random" in argv:
            env["KIOSK_FUZZ_RANDOM"] = "1"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:pytest-qt", "-q",
                               "-p", "no:cacheprovider", "--no-header", "-o", "log_level=CRITICAL",
                               "tests/fuzz"], cwd=ROOT, env=env, check=False)
        seconds = time.monotonic() - started
        counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    print(f"\nfuzz campaign: {examples} examples per test, {seconds:.0f} s, "
          f"{'passed' if done.returncode == 0 else 'FAILED'}")
    width = max((len(k) for k in counts), default=10)
    for parser, n in sorted(counts.items()):
        print(f"  {parser:<{width}}  {n:>7}")
    total = sum(n for k, n in counts.items() if ": answered" not in k)
    print(f"fuzz_cases_total: {total}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
