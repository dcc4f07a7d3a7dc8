"""Time `kiosk demo` from process start to the home screen shown, offscreen.

Runs the real command in a new process each time (cold: empty data directory, the sample
catalog applied first; warm: the store already there, as on every later start of a kiosk).
Prints the figures; the last line is `startup_ms: <warm median>`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def start_once(data_dir: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "demo", "--exit-when-shown"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    shown = [line for line in out.stdout.splitlines() if line.startswith("home_shown_at:")]
    if not shown:
        raise SystemExit(f"the demo never said the home screen was shown:\n{out.stdout}{out.stderr}")
    # From before the interpreter started (so its start-up and every import count) to the moment
    # the window was shown and the event loop ran.
    return (float(shown[0].split(":", 1)[1]) - t0) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        cold = start_once(data)
        warm = [start_once(data) for _ in range(RUNS)]
    print(f"cold_start_ms (empty store; the catalog is applied on the store thread meanwhile): {cold:.0f}")
    print(f"warm_start_ms runs: {', '.join(f'{w:.0f}' for w in warm)}")
    print(f"warm_start_p50_ms: {statistics.median(warm):.0f}")
    print(f"startup_ms: {statistics.median(warm):.0f}")


if __name__ == "__main__":
    main()
