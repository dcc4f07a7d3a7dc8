"""Asking the platform about one application while a visitor waits at the progress screen.

A visitor will not wait 20 seconds for an answer the local store already mostly has, so these
calls use their own session with short timeouts (never the sync round's, which may be busy
uploading scans) and the terminal's own token and platform URL from the SyncAgent.
"""

from __future__ import annotations

import threading
from typing import Any

from kiosk.sync.http import PlatformClient, read_token

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 4.0


class PlatformLookup:
    """``application(number)``: the platform's record, None when it does not know the number.

    Raises kiosk.sync.errors exceptions (unreachable, timeout, auth, not configured): the
    screen then says it shows this terminal's record only.
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent  # kiosk.sync.runner.SyncAgent: config, data dir, session factory
        self._client: PlatformClient | None = None
        self._lock = threading.Lock()

    def client(self) -> PlatformClient:
        with self._lock:
            if self._client is None:
                agent = self.agent
                token = read_token(agent.path(agent.config.sync.token_file))
                session = agent.session_factory(
                    token, connect_timeout_s=min(CONNECT_TIMEOUT_S, agent.config.sync.connect_timeout_s),
                    timeout_s=min(READ_TIMEOUT_S, agent.config.sync.timeout_s))
                self._client = PlatformClient(agent.config.platform_url, session)
            return self._client

    def application(self, number: str) -> dict | None:
        return self.client().get_application(number)
