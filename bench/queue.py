"""Time taking a number and calling it, through a real platform server on loopback.

Starts ``kiosk platform serve`` as a separate process on a free 127.0.0.1 port with a fresh
database, enrolls a kiosk and a counter, then:

* issue: a kiosk takes a number the way the app does (kiosk.queue.TicketIssuer over HTTP, the
  ticket stored in the local store), builds the ticket (kiosk.queue.ticket_document), stores it
  as a print job (kiosk.print_jobs.enqueue) and renders it to the printer's ESC/POS bytes
  (kiosk.devices.printer.render, the default model) — everything up to the bytes on the wire;
* call: a counter presses "call next" (kiosk.queue.CounterDesk.call_next: journaled locally,
  sent, answered), which also closes the previous visitor, with all the issued tickets waiting.

Prints p50 / p95 / max of each; the line before the last is ``issue_p95_ms: <n>``, the last
``call_p95_ms: <n>``. Run from the repository root: ``.venv/bin/python bench/queue.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py (as asked), and Python puts its directory first on sys.path, where
# it would shadow the standard library's queue module for everything imported below.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from kiosk import print_jobs  # noqa: E402
from kiosk import queue as q  # noqa: E402
from kiosk.devices import printer  # noqa: E402
from kiosk.queue_client import HttpHallQueue  # noqa: E402
from kiosk.store import open_store  # noqa: E402
from kiosk.sync.http import make_session  # noqa: E402
from kiosk.sync.signing import generate_keypair  # noqa: E402

TICKETS = 500
WARMUP = 20
CATEGORIES = "ABC"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kiosk_cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def start_server(base: Path) -> tuple[subprocess.Popen, str, str]:
    db_url = f"sqlite:///{base / 'platform.db'}"
    _, public = generate_keypair(base / "keys")
    admin = kiosk_cli("--data-dir", str(base), "platform", "admin-token", "--db", db_url)
    port = free_port()
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(base), "platform",
                             "serve", "--db", db_url, "--port", str(port), "--catalog-key",
                             str(public)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return proc, url, admin
        except requests.RequestException:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the platform server did not start; see {base / 'server.log'}")


def enroll(url: str, admin: str, terminal: str) -> str:
    r = requests.post(f"{url}/v1/terminals", json={"hall_id": "H0001", "terminal_id": terminal},
                      headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    r.raise_for_status()
    return r.json()["token"]


def summary(name: str, ms: list[float]) -> float:
    ms = sorted(ms)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms  p95={p95:.1f} ms  "
          f"max={ms[-1]:.1f} ms")
    return p95


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        base = Path(tmp)
        proc, url, admin = start_server(base)
        try:
            model = printer.load_model("gb18030-80")
            kiosk_db = open_store(base / "kiosk.db")
            kiosk_queue = HttpHallQueue(url, make_session(enroll(url, admin, "K01")), "H0001")
            issuer = q.TicketIssuer(kiosk_db, kiosk_queue, "H0001", "K01")
            counter_db = open_store(base / "counter.db")
            counter_queue = HttpHallQueue(url, make_session(enroll(url, admin, "W01")), "H0001")
            desk = q.CounterDesk(counter_db, counter_queue, 1, CATEGORIES, "S001")
            desk.open()

            issue_ms: list[float] = []
            for n in range(WARMUP + TICKETS):
                started = time.perf_counter()
                ticket = issuer.issue(CATEGORIES[n % len(CATEGORIES)], item_code="SCDJ-XK-001")
                doc = q.ticket_document(ticket, hall_name="市场监管 · 自助服务",
                                        item_name="有限责任公司设立登记", lang="zh-Hans")
                print_jobs.enqueue(kiosk_db, doc)
                data = printer.render(doc, model, 80)
                elapsed = (time.perf_counter() - started) * 1000
                assert not ticket.offline and data
                if n >= WARMUP:
                    issue_ms.append(elapsed)

            call_ms: list[float] = []
            for n in range(WARMUP + TICKETS):
                started = time.perf_counter()
                state = desk.call_next()
                elapsed = (time.perf_counter() - started) * 1000
                assert state.current is not None and not state.pending
                if n >= WARMUP:
                    call_ms.append(elapsed)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        print(f"tickets: {WARMUP + TICKETS} issued by one kiosk, called by one window "
              f"(server: separate process, SQLite synchronous=FULL)")
        issue_p95 = summary("issue (take a number + store + render for the printer)", issue_ms)
        call_p95 = summary("call next (through the server)", call_ms)
        print(f"issue_p95_ms: {issue_p95:.1f}")
        print(f"call_p95_ms: {call_p95:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
