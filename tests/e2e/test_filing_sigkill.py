"""A power cut while filing: SIGKILL the filing process at random moments, 60 times.

The child files applications one after another exactly as the kiosk does (kiosk.prereview.
file_reviewed: pre-review, scans stored by SHA-256, one transaction with synchronous=FULL) and,
only after each returns, "prints" the receipt: appends the number to a paper file and fsyncs it.
After each kill the store must hold only whole applications (status row, outbox record, every
scan's outbox record and file with the right hash) and every number on paper must be one of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.applications import blob_path, read_blob
from kiosk.atrest import keys_for
from kiosk.store import open_store

ROOT = Path(__file__).resolve().parents[2]
RUNS = 60

CHILD = r"""
import json, os, sys
from datetime import date
from pathlib import Path
from kiosk.config import Config
from kiosk.prereview import MaterialState, file_reviewed
from kiosk.store import open_store
import kiosk.applications, kiosk.audit  # loaded at start-up in the kiosk, not at the first filing

base = Path(sys.argv[1])
bundle = json.loads((Path(sys.argv[2])).read_text(encoding="utf-8"))
item = next(i for i in bundle["items"] if i["code"] == "SCDJ-XK-004")
answers = {"applicant_type": "person", "name": "张丽", "id_number": "11010519491231002X",
           "phone": "13800138000"}
db = open_store(base / "kiosk.db")
paper = open(base / "paper.txt", "a", encoding="utf-8")
print("ready", flush=True)
n = 0
while True:
    n += 1
    pages = []
    for k in range(2):
        path = base / "scans" / f"{os.getpid()}-{n}-{k}.jpg"
        path.write_bytes(os.urandom(256 * 1024))
        pages.append(str(path))
    states = [MaterialState(0, pages=(pages[0],)), MaterialState(1, pages=(pages[1],)),
              MaterialState(2, original_brought=True)]
    app = file_reviewed(db, Config(), item, answers, states, base / "blobs",
                        today=date(2026, 12, 7))
    paper.write(app.number + "\n")  # the receipt, only once the application is committed
    paper.flush()
    os.fsync(paper.fileno())
"""


def check_store(base: Path) -> tuple[int, set[str]]:
    """Every stored application is whole; returns (how many, their numbers)."""
    db = open_store(base / "kiosk.db")
    try:
        apps = db.execute("SELECT id, number, materials FROM applications").fetchall()
        numbers = set()
        for app_id, number, materials in apps:
            numbers.add(number)
            assert db.execute("SELECT COUNT(*) FROM application_status WHERE application_id = ?",
                              [app_id]).fetchone()[0] == 1, number
            assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'application' AND ref = ?",
                              [app_id]).fetchone()[0] == 1, number
            scans = [m for m in json.loads(materials) if m.get("sha256")]
            assert len(scans) == 2, number
            for m in scans:
                assert blob_path(base / "blobs", m["sha256"]).read_bytes()[:5] == b"KENC1"
                data = read_blob(base / "blobs", m["sha256"], keys_for(db))
                assert hashlib.sha256(data).hexdigest() == m["sha256"], number
                assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'blob' AND ref = ?",
                                  [m["sha256"]]).fetchone()[0] == 1, number
        # Nothing half-written: no status, outbox or number row without its application.
        assert db.execute("SELECT COUNT(*) FROM application_status WHERE application_id NOT IN "
                          "(SELECT id FROM applications)").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'application' AND ref NOT IN "
                          "(SELECT id FROM applications)").fetchone()[0] == 0
        return len(apps), numbers
    finally:
        db.conn.close()


def test_sigkill_while_filing_leaves_whole_applications_and_honest_receipts(tmp_path):
    rng = random.Random(20261207)
    from kiosk.catalog import SAMPLE_CATALOG

    base = tmp_path / "terminal"
    (base / "scans").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    unprinted = 0  # stored but the receipt never printed: the run was cut in between
    for _run in range(RUNS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(base), str(SAMPLE_CATALOG)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                 cwd=ROOT)
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == b"ready", child.stderr.read() if child.stderr else b""
            time.sleep(rng.uniform(0, 0.05))  # a random point in the filing loop
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            for pipe in (child.stdout, child.stderr):
                if pipe is not None:
                    pipe.close()
        count, numbers = check_store(base)
        paper = (base / "paper.txt").read_text(encoding="utf-8").split()
        assert set(paper) <= numbers, "a receipt names an application that is not stored"
        assert len(paper) == len(set(paper))  # no number given twice
        # One kill can cut at most one filing between its commit and its receipt.
        assert 0 <= (count - len(paper)) - unprinted <= 1
        unprinted = count - len(paper)
    assert count > RUNS  # the kills landed while filing was going on, not before it started
