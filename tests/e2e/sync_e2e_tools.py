"""Tools for the sync end-to-end tests: a fault-injecting HTTP proxy on loopback, a terminal
set up against a platform server process, reading the server's database, a small catalog.

``FaultProxy`` sits between the terminal and the real server (or stands alone as a misbehaving
server). Per request it can pass it through, answer 500 without forwarding, forward it and then
drop the answer (the server stored it, the terminal never hears), forward it and hang past the
client's timeout (or, alone, never answer), forward it and SIGKILL the server while it handles
it, flip a bit of the body on the way, or rewrite the answer.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.config import Config, SyncConfig
from kiosk.store import open_store
from kiosk.sync.http import write_token
from kiosk.sync.runner import SyncAgent, SyncReport

Rewrite = Callable[[int, bytes], tuple[int, bytes]]


@dataclass
class Rule:
    method: str
    path_prefix: str
    action: str | Rewrite  # "500" | "drop" | "hang" | "kill" | "corrupt" | rewrite(status, body)
    times: int | None = None  # None: every matching request

    def take(self, method: str, path: str) -> str | Rewrite | None:
        if method != self.method or not path.startswith(self.path_prefix):
            return None
        if self.times is not None:
            if self.times <= 0:
                return None
            self.times -= 1
        return self.action


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 (free port) with per-request faults; see module docstring."""

    def __init__(self, upstream: str | None, on_kill: Callable[[], None] | None = None,
                 hang_s: float = 10.0) -> None:
        self.upstream = urlsplit(upstream) if upstream else None
        self.on_kill = on_kill
        self.hang_s = hang_s
        self.rules: list[Rule] = []
        self.seen: list[str] = []
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                proxy._handle(self)

            do_POST = do_PUT = do_GET  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, method: str, path_prefix: str, action: str | Rewrite,
            times: int | None = None) -> None:
        self.rules.append(Rule(method, path_prefix, action, times))

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # --- one request -----------------------------------------------------------------------

    def _action(self, method: str, path: str) -> str | Rewrite | None:
        for rule in self.rules:
            action = rule.take(method, path)
            if action is not None:
                return action
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        self.seen.append(f"{h.command} {h.path.split('?')[0]}")
        action = self._action(h.command, h.path)
        if action == "hang" and self.upstream is None:
            self.release.wait(self.hang_s)  # a server that never answers
            h.close_connection = True
            return
        if action == "500" or self.upstream is None:
            self._reply(h, 500, b'{"error":"internal","detail":"simulated failure"}')
            return
        if action == "corrupt" and body:
            body = body[:-1] + bytes([body[-1] ^ 0x01])  # one bit flipped on the way
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        try:
            conn.request(h.command, h.path, body=body, headers=headers)
            if action == "kill":
                # The whole request is on its way to the server: kill it while it works.
                time.sleep(0.005)
                assert self.on_kill is not None
                self.on_kill()
                h.close_connection = True
                return  # the terminal gets no answer
            answer = conn.getresponse()
            status, data = answer.status, answer.read()
            content_type = answer.getheader("Content-Type", "application/json")
        except OSError:
            h.close_connection = True
            return
        finally:
            conn.close()
        if action == "drop":
            h.close_connection = True  # stored upstream; the answer never reaches the terminal
            return
        if action == "hang":
            self.release.wait(self.hang_s)  # past the terminal's read timeout
            h.close_connection = True
            return
        if callable(action):
            status, data = action(status, data)
        self._reply(h, status, data, content_type)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, data: bytes,
               content_type: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if data:
            h.wfile.write(data)


def rewrite_catalog(change: Callable[[dict], None]) -> Rewrite:
    """A rewrite of GET /v1/catalog answers that edits the JSON (tampering, replays)."""

    def rewrite(status: int, body: bytes) -> tuple[int, bytes]:
        if status != 200:
            return status, body
        answer = json.loads(body)
        change(answer)
        return status, json.dumps(answer, ensure_ascii=False).encode("utf-8")

    return rewrite


# --- the terminal ------------------------------------------------------------------------------


@dataclass
class Terminal:
    data_dir: Path
    config: Config
    agent: SyncAgent
    db: object

    def drain(self, max_rounds: int = 20) -> list[SyncReport]:
        """Sync rounds (ignoring backoff) until nothing waits; the reports."""
        reports = []
        for _ in range(max_rounds):
            report = self.agent.run_round(self.db, force=True)
            reports.append(report)
            if report.online and report.outbox_depth == 0:
                return reports
        raise AssertionError(f"outbox not drained: {reports[-1]}")


def make_terminal(base: Path, server: object, *, url: str | None = None,
                  hall_id: str = "H0001", terminal_id: str = "K01", timeout_s: float = 3.0,
                  interval_s: int = 30, batch_size: int = 500, token: str | None = None,
                  isolate_catalog: bool = False) -> Terminal:
    """A terminal data dir enrolled with ``server`` (token file, public key, config.toml)."""
    base.mkdir(parents=True, exist_ok=True)
    write_token(base / "terminal.token", token or server.enroll(hall_id, terminal_id))
    (base / "catalog_signing_key.pub.pem").write_bytes(Path(server.public_key).read_bytes())
    config = Config(hall_id=hall_id, terminal_id=terminal_id, platform_url=url or server.url,
                    fullscreen=False,
                    sync=SyncConfig(interval_s=interval_s, connect_timeout_s=timeout_s,
                                    timeout_s=timeout_s, batch_size=batch_size,
                                    backoff_base_s=0.05, backoff_max_s=0.2))
    (base / "config.toml").write_text(config.template(), encoding="utf-8")
    db = open_store(base / "kiosk.db")
    return Terminal(base, config, SyncAgent(config, base, isolate_catalog=isolate_catalog), db)


def server_rows(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the platform server's own database (read-only, while it runs or after)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def assert_exactly_once(server_db: Path, apps: list, events: list[tuple[str, str, dict]],
                        terminal: Terminal) -> None:
    """Every application and event is on the server once, with the content filed; the
    terminal holds nothing pending and nothing failed."""
    got_apps = {i: json.loads(d) for i, d in server_rows(server_db, "SELECT id, data FROM applications")}
    assert len(got_apps) == len(apps)
    for app in apps:
        assert got_apps[app.id] == json.loads(json.dumps(app.wire())), app.number
    got_events = {i: (t, json.loads(p)) for i, t, p in server_rows(
        server_db, "SELECT id, type, payload FROM events WHERE type NOT IN ('heartbeat', 'audit')")}
    assert len(got_events) == len(events)
    for event_id, type_, payload in events:
        assert got_events[event_id] == (type_, payload)
    # Every audit record of the terminal (kiosk.audit) arrived once, as written.
    got_audit = [json.loads(p) for (p,) in server_rows(
        server_db, "SELECT payload FROM events WHERE type = 'audit'")]
    local_audit = [json.loads(p) for (p,) in terminal.db.execute(
        "SELECT payload FROM events WHERE type = 'audit'").fetchall()]
    assert sorted(r["seq"] for r in got_audit) == sorted(r["seq"] for r in local_audit)
    assert {r["hash"] for r in got_audit} == {r["hash"] for r in local_audit}
    rows = terminal.db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
    assert dict(rows).keys() <= {"sent"}, rows


# --- a small valid catalog -----------------------------------------------------------------------


def small_bundle(version: int, *, extra_item: str | None = None) -> dict:
    """A valid catalog with two items; ``extra_item`` adds SCJG-QT-099 with that Chinese name."""
    def text3(zh: str, en: str) -> dict:
        return {"zh-Hans": zh, "zh-Hant": zh, "en": en}

    def item(code: str, zh: str, en: str) -> dict:
        return {
            "code": code, "department": "SCJG", "queue_category": "A", "kind": "licence",
            "online_level": 3, "name": text3(zh, en), "aliases": {"zh-Hans": [zh[:2]]},
            "summary": text3(f"{zh}办事指南", f"Guide: {en}"),
            "guide": {
                "legal_basis": [{"zh-Hans": "《中华人民共和国行政许可法》"}],
                "conditions": [{"zh-Hans": "申请人具有完全民事行为能力"}],
                "materials": [{"name": text3("身份证", "ID card"), "required": True,
                               "form": "original", "copies": 1}],
                "steps": [{"title": text3("受理", "Acceptance"), "detail": {"zh-Hans": "窗口受理"}}],
                "time_limit": {"legal_days": 20, "committed_days": 5},
                "fees": {"charged": False},
                "place": text3("市民服务中心二楼", "Citizen Service Centre, 2F"),
                "hours": text3("周一至周五", "Mon-Fri"),
                "phone": "0571-87650000",
                "faq": [{"q": {"zh-Hans": "要预约吗？"}, "a": {"zh-Hans": "不需要。"}}],
            },
        }

    items = [item("SCJG-XK-001", "食品经营许可", "Food business licence"),
             item("SCJG-BA-002", "小餐饮备案", "Small eatery filing")]
    if extra_item:
        items.append(item("SCJG-QT-099", extra_item, "New service"))
    return {"format": 1, "version": version, "published": "2026-12-01",
            "departments": [{"code": "SCJG", "name": text3("市场监督管理局", "Market Regulation")}],
            "items": items}
