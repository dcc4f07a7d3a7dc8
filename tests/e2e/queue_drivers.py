"""Processes for the hall-queue end-to-end test: a kiosk that takes numbers and a counter that
calls them, each a separate process using the same code the app uses (kiosk.queue's
TicketIssuer and CounterDesk over kiosk.queue_client.HttpHallQueue, a real local store).

    QUEUE_TOKEN=T python tests/e2e/queue_drivers.py kiosk --url URL --terminal K01 --data DIR
        --count 500 [--interval 0.008] [--seed 1]
    QUEUE_TOKEN=T python tests/e2e/queue_drivers.py counter --url URL --window 1 --data DIR
        --stop-file PATH [--service 0.01]

The terminal token comes in the environment (QUEUE_TOKEN), never on the command line.

Each writes one JSON line per event on stdout (flushed): a kiosk ``{"ticket": …}`` per number
taken and ``{"done": …}`` at the end (after handing over every offline ticket); a counter
``{"called": …}`` per visitor called and ``{"done": …}`` when the stop file exists and nobody
is waiting any more.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk import queue as q  # noqa: E402
from kiosk.queue_client import HttpHallQueue  # noqa: E402
from kiosk.store import open_store  # noqa: E402
from kiosk.sync.http import make_session  # noqa: E402

HALL = "H0001"


def emit(**record: object) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def hall_queue(args: argparse.Namespace) -> HttpHallQueue:
    token = os.environ["QUEUE_TOKEN"]
    return HttpHallQueue(args.url, make_session(token, connect_timeout_s=0.5, timeout_s=3), HALL)


def run_kiosk(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    db = open_store(Path(args.data) / "kiosk.db")
    issuer = q.TicketIssuer(db, hall_queue(args), HALL, args.terminal)
    for _ in range(args.count):
        ticket = issuer.issue(rng.choice(args.categories))
        emit(ticket={"id": ticket.id, "number": ticket.number, "offline": ticket.offline,
                     "issued_at": ticket.issued_at, "category": ticket.category})
        time.sleep(args.interval)
    deadline = time.monotonic() + 60
    while issuer.pending_offline() and time.monotonic() < deadline:
        result = issuer.push_offline()
        if result.refused:
            emit(refused=result.refused)
        if result.pending:
            time.sleep(0.2)
    emit(done={"pending": issuer.pending_offline()})
    return 0 if not issuer.pending_offline() else 1


def run_counter(args: argparse.Namespace) -> int:
    db = open_store(Path(args.data) / "kiosk.db")
    desk = q.CounterDesk(db, hall_queue(args), args.window, list(args.categories), "S001")
    stop = Path(args.stop_file)
    offline_seen = journaled = 0
    desk.open()
    while True:
        # Keep serving what we have: journaled actions go out first, in order; a call answered
        # only now (its first answer was lost in the cut) shows its visitor now.
        state = desk.flush() if desk.pending() else desk.call_next()
        if state.offline:
            offline_seen += 1
            time.sleep(0.05)
            continue
        if state.current is None:
            if desk.pending():
                continue
            if stop.exists():
                break
            time.sleep(0.02)
            continue
        emit(called={"id": state.current["id"], "number": state.current["number"],
                     "window": args.window})
        time.sleep(args.service)  # the visit
        if desk.finish().pending:
            journaled += 1
    desk.close()
    emit(done={"offline_seen": offline_seen, "journaled": journaled})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="role", required=True)
    for role in ("kiosk", "counter"):
        p = sub.add_parser(role)
        p.add_argument("--url", required=True)
        p.add_argument("--data", required=True)
        p.add_argument("--categories", default="ABC")
    sub.choices["kiosk"].add_argument("--terminal", required=True)
    sub.choices["kiosk"].add_argument("--count", type=int, required=True)
    sub.choices["kiosk"].add_argument("--interval", type=float, default=0.008)
    sub.choices["kiosk"].add_argument("--seed", type=int, default=1)
    sub.choices["counter"].add_argument("--window", type=int, required=True)
    sub.choices["counter"].add_argument("--stop-file", required=True)
    sub.choices["counter"].add_argument("--service", type=float, default=0.01)
    args = parser.parse_args(argv)
    return run_kiosk(args) if args.role == "kiosk" else run_counter(args)


if __name__ == "__main__":
    sys.exit(main())
