"""Helpers for the hall-queue tests: a platform database, the in-process twin, a real HTTP
server (uvicorn in a thread on 127.0.0.1) and a hall queue whose answers get lost."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk import queue as q
from kiosk.platform.db import PlatformDB


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_server(db: PlatformDB) -> Iterator[str]:
    """The reference server's app on a free loopback port, in a thread; yields its URL."""
    import uvicorn

    from kiosk.platform.server import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db, None), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def http_queue(url: str, token: str, hall: str = "H0001") -> q.HallQueue:
    from kiosk.queue_client import HttpHallQueue
    from kiosk.sync.http import make_session

    return HttpHallQueue(url, make_session(token, connect_timeout_s=2, timeout_s=10), hall)


def new_id() -> str:
    return str(uuid.uuid4())


class LostAnswers:
    """Wraps a hall queue: the next ``n`` calls of ``method`` reach it (and take effect) but
    their answers are lost on the way back, as when a link drops mid-request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hall_id = inner.hall_id
        self.lose: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            answer = target(*args, **kwargs)
            if self.lose.get(name, 0) > 0:
                self.lose[name] -= 1
                raise q.QueueUnavailable(f"{name}: the answer was lost on the way back")
            return answer

        return call


def platform_db(tmp_path: Path, name: str = "platform.db") -> PlatformDB:
    return PlatformDB(tmp_path / name)
