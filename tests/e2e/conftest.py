"""End-to-end fixtures: a real platform server process on loopback.

``platform_server`` yields a :class:`PlatformServer` (tests/e2e/platform_process.py): a
``python -m kiosk platform serve`` subprocess on a free 127.0.0.1 port with its own temporary
database, blob directory and catalog signing key pair, plus an admin token made with
``kiosk platform admin-token``. Tests can ``kill()`` it (SIGKILL), ``stop()`` it (SIGTERM),
``start()`` it again, or ``restart()`` it (kill + start on the same port and database). The
process is always killed at teardown.

Interface kept stable for other tests (the sync client's e2e tests use it):
``url``, ``port``, ``admin_token``, ``db_path``, ``db_url``, ``blob_dir``, ``private_key``,
``public_key``, ``log_path``, ``alive``, ``start()``, ``kill()``, ``stop()``, ``restart()``,
``enroll(hall_id, terminal_id) -> token``, ``publish(bundle) -> version``, ``log_text()``.
Helpers ``kiosk_cli(*args, env=...)`` and ``free_port()`` are importable from
``platform_process`` (a uniquely named module: ``import conftest`` is ambiguous in this tree).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_process import PlatformServer


@pytest.fixture
def platform_server(tmp_path: Path) -> Iterator[PlatformServer]:
    """A fresh platform server process (own db, key pair, admin token), killed at teardown."""
    server = PlatformServer(tmp_path / "platform")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def platform_server_factory(tmp_path: Path) -> Iterator:
    """Make not-yet-started servers: ``factory(name) -> PlatformServer`` (call ``.start()``)."""
    made: list[PlatformServer] = []

    def make(name: str = "platform", port: int | None = None) -> PlatformServer:
        server = PlatformServer(tmp_path / name, port=port)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.kill()
