"""Time the terminal's sync: pushing 10,000 applications and applying a 10,000-item catalog.

Starts a real platform server process on loopback (``kiosk platform serve``), enrolls a terminal,
files 10,000 applications (no files) into its outbox, and pushes them on the app's sync worker
thread (kiosk.ui.app.build_services, as ``kiosk run`` does) while a QTimer in a running
QApplication measures the longest stall of the UI event loop. Then publishes a generated
10,000-item catalog (bench/search.py's generator) and times the terminal's update as the app
does it (kiosk.sync.catalog_updater.update_catalog_isolated: the answer streamed to a file, then
a helper process parses it, checks the signature, validates and applies it with
kiosk.catalog.apply_bundle, search index included), again from the sync worker with the stall
timer running.

Prints the figures; the last line is ``push_per_s: <n>``. Targets: push_per_s >= 2,000,
catalog_apply_ms <= 2,000, ui_stall_max_ms <= 50.
Run from the repository root: ``.venv/bin/python bench/sync.py [--batch N] [--apps N]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/queue.py would shadow the standard library's queue module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402

from kiosk.applications import file_application  # noqa: E402
from kiosk.config import Config, SyncConfig  # noqa: E402
from kiosk.store import open_store  # noqa: E402
from kiosk.sync import catalog_updater, outbox  # noqa: E402
from kiosk.sync.http import write_token  # noqa: E402
from kiosk.sync.runner import SyncAgent  # noqa: E402
from kiosk.sync.signing import generate_keypair, load_private_key, sign_bundle  # noqa: E402
from kiosk.ui.app import build_services, make_app, shutdown_services  # noqa: E402

TICK_MS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kiosk(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, **kwargs)


class Server:
    """A platform server process with its own database and signing keys."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.db_url = f"sqlite:///{base / 'platform.db'}"
        self.private_key, self.public_key = generate_keypair(base / "keys")
        self.admin_token = kiosk("--data-dir", str(base), "platform", "admin-token",
                                 "--db", self.db_url).stdout.strip()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(base / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--data-dir", str(base), "platform", "serve",
             "--db", self.db_url, "--host", "127.0.0.1", "--port", str(port),
             "--catalog-key", str(self.public_key)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/v1/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise SystemExit(f"the platform server did not start; see {base / 'server.log'}")

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def enroll(self, hall: str, terminal: str) -> str:
        r = requests.post(f"{self.url}/v1/terminals", json={"hall_id": hall, "terminal_id": terminal},
                          headers=self.admin(), timeout=10)
        r.raise_for_status()
        return r.json()["token"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def on_worker(app: Any, services: Any, job: Callable[[Any], Any]) -> tuple[Any, float, float]:
    """Run ``job(db)`` on the sync worker while the UI loop ticks every TICK_MS.

    Returns (result, seconds, longest stall of the UI loop in ms beyond the tick interval).
    """
    clock = QElapsedTimer()
    stall = [0.0]
    last = [0.0]
    result: list[Any] = []

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        stall[0] = max(stall[0], now - last[0] - TICK_MS)
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    def done(value: Any) -> None:
        result.append(value)
        app.quit()

    def failed(exc: Exception) -> None:
        result.append(exc)
        app.quit()

    clock.start()
    timer.start()
    started = time.perf_counter()
    services.sync_worker.submit(job, done, failed)
    app.exec()
    seconds = time.perf_counter() - started
    timer.stop()
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0], seconds, stall[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="records per POST (max 500)")
    args = parser.parse_args()
    import importlib.util  # bench/search.py: the 10,000-item catalog generator

    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    bench_search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_search)
    make_bundle = bench_search.make_bundle

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = Server(base / "platform")
        try:
            data = base / "terminal"
            write_token(data / "terminal.token", server.enroll("H0001", "K01"))
            (data / "catalog_signing_key.pub.pem").write_bytes(server.public_key.read_bytes())
            config = Config(hall_id="H0001", terminal_id="K01", platform_url=server.url,
                            sync=SyncConfig(batch_size=args.batch))
            agent = SyncAgent(config, data)
            db = open_store(data / "kiosk.db")
            t0 = time.perf_counter()
            for i in range(args.apps):
                file_application(db, config, "SCJG-XK-001",
                                 {"name": f"申请人{i}", "id_number": "110101199003074514",
                                  "phone": "13800000000"},
                                 {"shop_name": f"第{i}号小吃店", "address": "市民路1号", "area_m2": 35},
                                 [{"material": "营业执照"}, {"material": "租赁合同"}],
                                 data / "blobs", prereview={"missing": []})
            fill_s = time.perf_counter() - t0
            db.conn.close()

            app = make_app()
            services = build_services(lambda: open_store(data / "kiosk.db"), agent)
            try:
                result, push_s, push_stall = on_worker(app, services, lambda db: outbox.push(
                    db, agent.client, agent.blobs_dir, batch_size=args.batch, force=True))
                assert result.error is None and result.sent["application"] == args.apps, result
                stored = requests.get(f"{server.url}/v1/terminals", headers=server.admin(),
                                      timeout=10).ok

                # As the app does it: streamed to a file, checked and applied by a helper
                # process kept warm since the previous round (which found nothing new).
                key_path = data / "catalog_signing_key.pub.pem"
                warm = catalog_updater.WarmHelper()
                on_worker(app, services, lambda db: catalog_updater.update_catalog_isolated(
                    db, agent.client, key_path, data, warm=warm))
                bundle = make_bundle(args.items)
                bundle["version"] = 1
                publish_bundle(server, bundle)
                update, apply_s, apply_stall = on_worker(
                    app, services, lambda db: catalog_updater.update_catalog_isolated(
                        db, agent.client, key_path, data, warm=warm))
                warm.close()
                assert update.state == "updated" and update.items == args.items, update
                timings = update.timings
            finally:
                shutdown_services(services)
        finally:
            server.stop()

    print(f"terminal: filed {args.apps} applications in {fill_s:.1f} s "
          f"({args.apps / fill_s:.0f}/s, one transaction each, synchronous=FULL)")
    print(f"push: {args.apps} applications in {push_s:.2f} s, batches of {args.batch}"
          f"{'' if stored else ' (server answered oddly)'}")
    ms = {k: f"{v * 1000:.0f} ms" for k, v in timings.items()}
    print(f"catalog: {args.items} items, in the helper process ({ms['helper']} in all): "
          f"signature {ms['verify']}, parse {ms['parse']}, then side by side validation "
          f"{ms['validate']} (forked child) and rows + search index {ms['prepare']}, then the "
          f"write transaction {ms['write']}; download and process start "
          f"{(apply_s - timings['helper']) * 1000:.0f} ms")
    print(f"ui_stall_catalog_max_ms: {apply_stall:.1f}")
    print(f"catalog_apply_ms: {apply_s * 1000:.0f}")
    print(f"ui_stall_max_ms: {push_stall:.1f}")
    print(f"push_per_s: {args.apps / push_s:.0f}")


def publish_bundle(server: Server, bundle: dict) -> None:
    """Publish over HTTP when it fits the protocol's body limit, else straight into the server's
    database through its own service code (the bench measures the terminal, not publishing)."""
    signature = sign_bundle(bundle, load_private_key(server.private_key))
    r = requests.post(f"{server.url}/v1/catalog", json={"bundle": bundle, "signature": signature},
                      headers=server.admin(), timeout=300)
    if r.status_code == 413:
        from kiosk.platform import service
        from kiosk.platform.db import PlatformDB

        pdb = PlatformDB.from_url(server.db_url)
        try:
            service.publish_catalog(pdb, catalog_updater.load_public_key(server.public_key),
                                    bundle, signature)
        finally:
            pdb.close()
        print(f"note: the {len(r.request.body) / 2**20:.0f} MiB catalog exceeds the protocol's "
              "JSON body limit; published through the server's service code instead")
        return
    r.raise_for_status()


if __name__ == "__main__":
    main()
