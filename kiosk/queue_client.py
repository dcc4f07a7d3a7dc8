"""The hall queue over HTTP: kiosk.queue.HallQueue spoken as protocol v1 (no Qt).

One session from kiosk.sync.http.make_session (timeouts, User-Agent, bearer token, no silent
transport retries). Every failure becomes a kiosk.queue error: no answer, a timeout or a 5xx is
QueueUnavailable (a kiosk then issues from its own block; a counter keeps its journal), a
refusal is the named error of its protocol code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from kiosk.queue import QueueRefused, QueueUnavailable, error_from

log = logging.getLogger(__name__)


class HttpHallQueue:
    """kiosk.queue.HallQueue over HTTP for one hall."""

    def __init__(self, base_url: str, session: requests.Session, hall_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.hall_id = hall_id
        self.prefix = f"{self.base_url}/v1/halls/{quote(hall_id, safe='')}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.prefix + path, **kwargs)
        except requests.RequestException as exc:
            raise QueueUnavailable(f"{method} {path}: {type(exc).__name__}: "
                                   f"{str(exc)[:200]}") from exc
        if 200 <= response.status_code < 300:
            try:
                return response.json()
            except ValueError as exc:
                raise QueueUnavailable(f"{method} {path}: the answer is not JSON") from exc
        try:
            body = response.json()
            code, detail = body.get("error"), str(body.get("detail", ""))
        except (ValueError, AttributeError):
            code, detail = None, response.text[:200]
        if response.status_code in (401, 403):
            raise QueueRefused(f"{method} {path}: {detail}", code or "unauthorized",
                               response.status_code)
        raise error_from(response.status_code, code, f"{method} {path}: {detail}")

    def issue(self, request: dict) -> dict:
        body = {k: v for k, v in request.items() if v is not None}
        return self._call("POST", "/tickets", json=body)

    def sync_offline(self, tickets: list[dict]) -> list[dict]:
        body = {"tickets": [{k: v for k, v in t.items() if v is not None} for t in tickets]}
        return self._call("POST", "/tickets/offline", json=body)["results"]

    def open_window(self, window: int, categories: list[str], staff: str,
                    open_: bool = True) -> dict:
        body: dict[str, Any] = {"open": open_, "categories": list(categories)}
        if staff:
            body["staff"] = staff
        return self._call("PUT", f"/windows/{int(window)}", json=body)

    def call_next(self, window: int, request_id: str, categories: list[str]) -> dict:
        return self._call("POST", f"/windows/{int(window)}/call",
                          json={"request_id": request_id, "categories": list(categories)})

    def act(self, window: int, action: str, request_id: str, ticket_id: str,
            **extra: Any) -> dict:
        body = {"request_id": request_id, "ticket_id": ticket_id,
                **{k: v for k, v in extra.items() if v is not None}}
        return self._call("POST", f"/windows/{int(window)}/{action.replace('_', '-')}",
                          json=body)

    def mark_priority(self, number: str, request_id: str, reason: str) -> dict:
        return self._call("POST", f"/tickets/{quote(number, safe='')}/priority",
                          json={"request_id": request_id, "reason": reason})

    def lookup(self, number: str) -> dict:
        return self._call("GET", f"/tickets/{quote(number, safe='')}")

    def board(self) -> dict:
        return self._call("GET", "/board")

    def tickets(self, day: str | None = None) -> list[dict]:
        return self._call("GET", "/tickets", params={"day": day} if day else {})["tickets"]

    def stats(self, day: str | None = None) -> dict:
        return self._call("GET", "/stats", params={"day": day} if day else {})

    def add_appointment(self, appointment: dict) -> dict:
        return self._call("POST", "/appointments",
                          json={k: v for k, v in appointment.items() if v is not None})


def from_config(config: Any, data_dir: Path) -> HttpHallQueue | None:
    """The hall queue of this terminal's configuration, or None (logged) when the terminal has
    no token yet: it then issues every number from its own block."""
    from kiosk.sync.errors import NotConfigured
    from kiosk.sync.http import make_session, read_token

    token_path = Path(config.sync.token_file).expanduser()
    if not token_path.is_absolute():
        token_path = Path(data_dir) / token_path
    try:
        token = read_token(token_path)
    except NotConfigured as exc:
        log.warning("hall queue not configured: %s", exc)
        return None
    session = make_session(token, connect_timeout_s=config.queue.connect_timeout_s,
                           timeout_s=config.queue.timeout_s)
    return HttpHallQueue(config.platform_url, session, config.hall_id)
