"""The reference platform in-process, under a real requests.Session, with injectable faults.

``InProcessPlatform`` runs the server's FastAPI app (kiosk.platform.server.create_app) through
Starlette's TestClient, mounted as a requests transport adapter: the sync client runs its real
code (session, PlatformClient, outbox) against the real server code with no socket. A
``FaultPlan`` decides, per request, to pass it, refuse the connection, lose the answer after the
server handled it, time out, answer 500, or rewrite the answer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from starlette.testclient import TestClient

from kiosk import audit
from kiosk.config import Config, SyncConfig
from kiosk.platform.db import PlatformDB
from kiosk.platform.server import create_app
from kiosk.sync.http import PlatformClient, make_session, write_token
from kiosk.sync.runner import SyncAgent
from kiosk.sync.signing import generate_keypair, load_private_key, load_public_key, sign_bundle

BASE_URL = "http://platform.test"

# What to do with one request: None = pass it through.
#   "refuse": the connection is refused (the server never sees it)
#   "lose": the server handles it, the answer is lost (connection dropped)
#   "timeout": the server handles it, the answer comes too late (read timeout)
#   "500": the server never sees it and the answer is 500
#   callable(response) -> response: the server handles it, the answer is rewritten
Action = str | Callable[[requests.Response], requests.Response] | None


@dataclass
class FaultPlan:
    rules: list[Callable[[requests.PreparedRequest], Action]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of every request

    def action(self, request: requests.PreparedRequest) -> Action:
        for rule in self.rules:
            action = rule(request)
            if action is not None:
                return action
        return None


class ASGIAdapter(BaseAdapter):
    """A requests transport that hands each request to an ASGI app (through TestClient)."""

    def __init__(self, client: TestClient, plan: FaultPlan) -> None:
        super().__init__()
        self.client = client
        self.plan = plan

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        path = request.path_url.split("?")[0]
        self.plan.seen.append(f"{request.method} {path}")
        action = self.plan.action(request)
        if action == "refuse":
            raise requests.ConnectionError("connection refused (simulated)", request=request)
        if action == "500":
            return self._response(request, 500, b'{"error":"internal","detail":"simulated"}')
        answer = self.client.request(request.method, request.url, content=request.body or b"",
                                     headers=dict(request.headers))
        if action == "lose":
            raise requests.ConnectionError("connection reset after the request (simulated)",
                                           request=request)
        if action == "timeout":
            raise requests.ReadTimeout("no answer in time (simulated)", request=request)
        response = self._response(request, answer.status_code, answer.content,
                                  dict(answer.headers))
        return action(response) if callable(action) else response

    @staticmethod
    def _response(request: requests.PreparedRequest, status: int, body: bytes,
                  headers: dict[str, str] | None = None) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers = CaseInsensitiveDict(headers or {"content-type": "application/json"})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response._content_consumed = True  # the body is all here: iter_content slices it
        return response

    def close(self) -> None:
        pass


class InProcessPlatform:
    """A platform database + app, an admin token, a signing key pair and enrolled terminals."""

    def __init__(self, base: Path) -> None:
        self.db = PlatformDB(base / "platform.db")
        self.private_key_path, self.public_key_path = generate_keypair(base / "keys")
        self.public_key = load_public_key(self.public_key_path)
        self.app = create_app(self.db, self.public_key)
        self.test_client = TestClient(self.app, base_url=BASE_URL, raise_server_exceptions=False)
        self.admin_token = self.db.issue_admin_token()
        self.plan = FaultPlan()

    def session(self, token: str | None, **timeouts: float) -> requests.Session:
        session = make_session(token, **timeouts)
        session.mount(BASE_URL, ASGIAdapter(self.test_client, self.plan))
        return session

    def client(self, token: str | None) -> PlatformClient:
        return PlatformClient(BASE_URL, self.session(token))

    def enroll(self, hall_id: str = "H0001", terminal_id: str = "K01") -> str:
        return self.db.enroll_terminal(hall_id, terminal_id)

    def publish(self, bundle: dict) -> int:
        signature = sign_bundle(bundle, load_private_key(self.private_key_path))
        r = self.test_client.post("/v1/catalog", json={"bundle": bundle, "signature": signature},
                                  headers={"Authorization": f"Bearer {self.admin_token}"})
        assert r.status_code in (200, 201), r.text
        return r.json()["version"]

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.db.read() as conn:
            return conn.execute(sql, params).fetchall()

    def count(self, table: str) -> int:
        return self.query(f"SELECT COUNT(*) FROM {table}")[0][0]

    def close(self) -> None:
        self.test_client.close()
        self.db.close()


def on(method: str, path_prefix: str, action: Action, times: int | None = None
       ) -> Callable[[requests.PreparedRequest], Action]:
    """A rule: ``action`` for requests of ``method`` whose path starts with ``path_prefix``,
    for the first ``times`` of them (None: always)."""
    left = [times]

    def rule(request: requests.PreparedRequest) -> Action:
        if request.method != method or not request.path_url.startswith(path_prefix):
            return None
        if left[0] is not None:
            if left[0] <= 0:
                return None
            left[0] -= 1
        return action

    return rule


def rewrite_json(change: Callable[[dict], None]) -> Callable[[requests.Response], requests.Response]:
    """An answer rewrite that edits the JSON body (e.g. to tamper with a catalog bundle)."""

    def rewrite(response: requests.Response) -> requests.Response:
        if response.status_code == 200:
            body = json.loads(response.content)
            change(body)
            response._content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return response

    return rewrite


def tiny_bundle(version: int, *, extra_item: str | None = None) -> dict:
    """A valid two-department catalog; ``extra_item`` adds one item with that Chinese name."""
    def text3(zh: str, en: str) -> dict:
        return {"zh-Hans": zh, "zh-Hant": zh, "en": en}

    def item(code: str, dept: str, zh: str, en: str) -> dict:
        return {
            "code": code, "department": dept, "queue_category": "A", "kind": "licence",
            "online_level": 3, "name": text3(zh, en), "aliases": {"zh-Hans": [zh[:2]]},
            "summary": text3(f"{zh}的办事指南", f"Guide: {en}"),
            "guide": {
                "legal_basis": [{"zh-Hans": "《中华人民共和国行政许可法》第二十九条"}],
                "conditions": [{"zh-Hans": "申请人具有完全民事行为能力"}],
                "materials": [{"name": text3("身份证", "ID card"), "required": True,
                               "form": "original", "copies": 1}],
                "steps": [{"title": text3("受理", "Acceptance"), "detail": {"zh-Hans": "窗口受理"}}],
                "time_limit": {"legal_days": 20, "committed_days": 5},
                "fees": {"charged": False},
                "place": text3("市民服务中心二楼", "Citizen Service Centre, 2F"),
                "hours": text3("周一至周五 9:00-17:00", "Mon-Fri 9:00-17:00"),
                "phone": "0571-87650000",
                "faq": [{"q": {"zh-Hans": "要预约吗？"}, "a": {"zh-Hans": "不需要。"}}],
            },
        }

    items = [item("SCJG-XK-001", "SCJG", "食品经营许可", "Food business licence"),
             item("SCJG-BA-002", "SCJG", "小餐饮备案", "Small eatery filing")]
    if extra_item:
        items.append(item("SCJG-QT-099", "SCJG", extra_item, "New service"))
    return {"format": 1, "version": version, "published": "2026-12-01",
            "departments": [{"code": "SCJG", "name": text3("市场监督管理局", "Market Regulation")}],
            "items": items}


def enrolled_agent(data: Path, platform: InProcessPlatform, **agent_options: object) -> SyncAgent:
    """Terminal K01 of hall H0001 enrolled with ``platform``: token and public key in ``data``,
    its sessions mounted on the in-process app."""
    write_token(data / "terminal.token", platform.enroll("H0001", "K01"))
    (data / "catalog_signing_key.pub.pem").write_bytes(platform.public_key_path.read_bytes())
    config = Config(hall_id="H0001", terminal_id="K01", platform_url=BASE_URL,
                    sync=SyncConfig(batch_size=100))
    return SyncAgent(config, data, session_factory=lambda token, **kw: platform.session(token, **kw),
                     **agent_options)


def rewrite_whole_chain(conn: sqlite3.Connection) -> None:
    """What an insider with sqlite3 does: change record 1's actor and re-hash every record after
    it, the local copies (the 'audit' events) with it, so that a local verify passes."""
    with conn:
        rows = conn.execute("SELECT seq, id, at, actor, action, subject, details FROM audit_log "
                            "ORDER BY seq").fetchall()
        prev = audit.GENESIS
        for seq, id_, at, actor, action, subject, details in rows:
            record = {"seq": seq, "id": id_, "at": at, "actor": "S666" if seq == 1 else actor,
                      "action": action, "subject": subject, "details": json.loads(details),
                      "prev_hash": prev}
            record["hash"] = audit.record_hash(record)
            conn.execute("UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                         [record["actor"], prev, record["hash"], seq])
            conn.execute("UPDATE events SET payload = ? WHERE type = 'audit' AND "
                         "json_extract(payload, '$.id') = ?", [json.dumps(record), id_])
            prev = record["hash"]
