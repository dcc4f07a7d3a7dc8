"""A real platform server process on loopback, for end-to-end tests (see conftest.py).

:class:`PlatformServer` is a ``python -m kiosk platform serve``
subprocess on a free 127.0.0.1 port with its own temporary database, blob directory and catalog
signing key pair, plus an admin token made with ``kiosk platform admin-token``. Tests can
``kill()`` it (SIGKILL), ``stop()`` it (SIGTERM), ``start()`` it again, or ``restart()`` it (kill +
start on the same port and database). The process is always killed at teardown.

Interface kept stable for other tests (the sync client's e2e tests use it):
``url``, ``port``, ``admin_token``, ``db_path``, ``db_url``, ``blob_dir``, ``private_key``,
``public_key``, ``log_path``, ``alive``, ``start()``, ``kill()``, ``stop()``, ``restart()``,
``enroll(hall_id, terminal_id) -> token``, ``publish(bundle) -> version``, ``log_text()``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kiosk_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m kiosk ARGS`` and return the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        cwd=REPO, env=_env(env), capture_output=True, text=True, timeout=timeout, check=False,
    )


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KIOSK_ADMIN_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class PlatformServer:
    """A reference platform server running as a separate process (see module docstring)."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        from kiosk.sync.signing import generate_keypair

        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.data_dir = base / "data"
        self.db_path = base / "platform.db"
        self.db_url = f"sqlite:///{self.db_path}"
        self.blob_dir = base / "platform.blobs"
        self.private_key, self.public_key = generate_keypair(base / "keys")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "server.log"
        self.proc: subprocess.Popen | None = None
        done = kiosk_cli("--data-dir", str(self.data_dir), "platform", "admin-token",
                         "--db", self.db_url)
        if done.returncode != 0:
            raise RuntimeError(f"admin-token failed: {done.stderr}")
        self.admin_token = done.stdout.strip()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30) -> None:
        """Start the process and wait until GET /v1/health answers."""
        if self.alive:
            raise RuntimeError("the platform server is already running")
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed after
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk", "--data-dir", str(self.data_dir),
                 "platform", "serve", "--db", self.db_url, "--host", "127.0.0.1",
                 "--port", str(self.port), "--catalog-key", str(self.public_key)],
                cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"platform server exited with {self.proc.returncode}:\n"
                                   f"{self.log_text()}")
            try:
                if requests.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"platform server did not answer within {timeout}s:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, like a power cut of the server process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """Kill (SIGKILL) if running, then start again on the same port and database."""
        self.kill()
        self.start()

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin_token}"}

    def enroll(self, hall_id: str = "H0001", terminal_id: str = "K01") -> str:
        """Enroll a terminal over HTTP with the admin token; returns its bearer token."""
        r = requests.post(f"{self.url}/v1/terminals", headers=self.headers(),
                          json={"hall_id": hall_id, "terminal_id": terminal_id}, timeout=10)
        r.raise_for_status()
        return r.json()["token"]

    def publish(self, bundle: dict) -> int:
        """Sign ``bundle`` as is (its version unchanged) with the fixture key and POST it."""
        from kiosk.sync.signing import load_private_key, sign_bundle

        signature = sign_bundle(bundle, load_private_key(self.private_key))
        body = json.dumps({"bundle": bundle, "signature": signature}, ensure_ascii=False)
        r = requests.post(f"{self.url}/v1/catalog", data=body.encode("utf-8"), timeout=300,
                          headers={**self.headers(), "Content-Type": "application/json"})
        r.raise_for_status()
        return r.json()["version"]

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


