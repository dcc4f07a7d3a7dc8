"""The platform server as a real process on loopback, driven by the real CLI.

GIVEN ``python -m kiosk platform serve`` on a free port with a temp database
WHEN a terminal is enrolled and the sample catalog published with ``kiosk admin ...``
THEN terminals read it back signed, and after a SIGKILL and a restart nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from platform_process import kiosk_cli

from kiosk.catalog import SAMPLE_CATALOG, load_bundle
from kiosk.sync.signing import load_public_key, verify_bundle


def _application(n: int) -> dict:
    return {"id": str(uuid.uuid4()), "number": f"H0001-K01-20261102-{n:04d}",
            "item_code": "SCDJ-DJ-001", "hall_id": "H0001", "terminal_id": "K01",
            "filed_at": "2026-11-02T09:30:00+08:00", "applicant": {"name": "李四"},
            "form": {}, "materials": [], "prereview": {}}


def test_enroll_publish_get_and_survive_sigkill(platform_server):
    server = platform_server
    admin_env = {"KIOSK_ADMIN_TOKEN": server.admin_token}

    enrolled = kiosk_cli("admin", "enroll", "--server", server.url, "--hall", "H0001",
                         "--terminal", "K01", "--admin-token", server.admin_token)
    assert enrolled.returncode == 0, enrolled.stderr
    token = enrolled.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    terminal = {"Authorization": f"Bearer {token}"}

    published = kiosk_cli("admin", "publish", str(SAMPLE_CATALOG), "--key",
                          str(server.private_key), "--server", server.url, env=admin_env)
    assert published.returncode == 0, published.stderr
    sample = load_bundle(SAMPLE_CATALOG)
    assert f"published catalog version {sample['version']}" in published.stdout

    got = requests.get(f"{server.url}/v1/catalog", headers=terminal, timeout=10)
    assert got.status_code == 200
    body = got.json()
    assert body["version"] == sample["version"] and body["bundle"] == sample
    public_key = load_public_key(server.public_key)
    assert verify_bundle(body["bundle"], body["signature"], public_key)

    # Publishing the same file again makes a newer version (server's + 1), signed anew.
    again = kiosk_cli("admin", "publish", str(SAMPLE_CATALOG), "--key", str(server.private_key),
                      "--server", server.url, env=admin_env)
    assert again.returncode == 0, again.stderr
    v2 = sample["version"] + 1
    assert f"version {v2}" in again.stdout

    apps = [_application(n) for n in range(1, 11)]
    r = requests.post(f"{server.url}/v1/applications", json={"applications": apps},
                      headers=terminal, timeout=10)
    assert [x["result"] for x in r.json()["results"]] == ["accepted"] * 10
    scan = "营业执照扫描件".encode() * 5000
    sha = hashlib.sha256(scan).hexdigest()
    assert requests.put(f"{server.url}/v1/blobs/{sha}", data=scan, headers=terminal,
                        timeout=10).status_code == 201

    server.kill()  # SIGKILL: no shutdown, nothing flushed by a handler
    assert not server.alive
    server.start()

    body = requests.get(f"{server.url}/v1/catalog", headers=terminal, timeout=10).json()
    assert body["version"] == v2 and verify_bundle(body["bundle"], body["signature"], public_key)
    r = requests.post(f"{server.url}/v1/applications", json={"applications": apps},
                      headers=terminal, timeout=10)
    assert [x["result"] for x in r.json()["results"]] == ["duplicate"] * 10
    status = requests.get(f"{server.url}/v1/applications/status", headers=terminal,
                          timeout=10).json()
    assert [c["id"] for c in status["changes"]] == [a["id"] for a in apps]
    assert requests.put(f"{server.url}/v1/blobs/{sha}", data=scan, headers=terminal,
                        timeout=10).status_code == 200
    terminals = requests.get(f"{server.url}/v1/terminals", headers=server.headers(),
                             timeout=10).json()["terminals"]
    assert [(t["hall_id"], t["terminal_id"]) for t in terminals] == [("H0001", "K01")]


def test_cli_refusals(platform_server, tmp_path):
    server = platform_server
    no_token = kiosk_cli("admin", "enroll", "--server", server.url, "--hall", "H0001",
                         "--terminal", "K01")
    assert no_token.returncode == 2 and "admin token" in no_token.stderr
    wrong = kiosk_cli("admin", "enroll", "--server", server.url, "--hall", "H0001",
                      "--terminal", "K01", "--admin-token", "not-it")
    assert wrong.returncode == 1 and "401 unauthorized" in wrong.stderr
    assert wrong.stdout == ""

    bad = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    code = bad["items"][0]["code"]
    bad["items"][0]["guide"]["time_limit"]["committed_days"] = 10_000
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    refused = kiosk_cli("admin", "publish", str(bad_file), "--key", str(server.private_key),
                        "--server", server.url, "--admin-token", server.admin_token)
    assert refused.returncode == 1
    assert f"item {code}" in refused.stderr and "committed_days" in refused.stderr
    r = requests.get(f"{server.url}/v1/catalog", headers=server.headers(), timeout=10)
    assert r.status_code == 404  # nothing was published

    unreachable = kiosk_cli("admin", "enroll", "--server", "http://127.0.0.1:9", "--hall", "H1",
                            "--terminal", "K1", "--admin-token", "x")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_real_server_refuses_huge_bodies_with_json(platform_server):
    server = platform_server
    token = server.enroll()
    huge = b'{"events": [], "pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    r = requests.post(f"{server.url}/v1/events", data=huge, timeout=30,
                      headers={"Authorization": f"Bearer {token}",
                               "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert requests.get(f"{server.url}/v1/health", timeout=5).status_code == 200
    log = server.log_text()
    assert "POST /v1/events 413" in log and token not in log


def test_concurrent_retries_of_one_batch_store_each_record_once(platform_server):
    """GIVEN four connections sending the same 200 applications at once (a retry storm)
    THEN each application is accepted exactly once and stored once."""
    server = platform_server
    headers = {"Authorization": f"Bearer {server.enroll()}"}
    apps = [_application(n) for n in range(200)]

    def send(_: int) -> list[str]:
        r = requests.post(f"{server.url}/v1/applications", json={"applications": apps},
                          headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return [x["result"] for x in r.json()["results"]]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    for i in range(200):
        got = sorted(a[i] for a in answers)
        assert got == ["accepted", "duplicate", "duplicate", "duplicate"], (i, got)
    status = requests.get(f"{server.url}/v1/applications/status", params={"limit": 1000},
                          headers=headers, timeout=10).json()
    assert sorted(c["id"] for c in status["changes"]) == sorted(a["id"] for a in apps)
