"""Sync end to end: the terminal's real sync code against a real platform server process.

Every fault test ends the same way: once the fault is gone, every record filed on the terminal is
on the server exactly once with the content filed, and the terminal holds nothing pending.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sync_e2e_tools import (
    FaultProxy,
    assert_exactly_once,
    make_terminal,
    rewrite_catalog,
    server_rows,
    small_bundle,
)

from kiosk import catalog, search
from kiosk.applications import blob_path, file_application, record_event
from kiosk.sync import errors, outbox

REPO = Path(__file__).resolve().parents[2]


def file_records(terminal, n_apps: int, n_events: int, scan_every: int = 10):
    """File ``n_apps`` applications (every ``scan_every``-th with a scanned file) and events."""
    apps, events = [], []
    for i in range(n_apps):
        materials = [{"material": "身份证复印件", "data": f"scan of page {i}".encode()}] \
            if scan_every and i % scan_every == 0 else [{"material": "承诺书"}]
        apps.append(file_application(
            terminal.db, terminal.config, "SCJG-XK-001",
            {"name": f"申请人{i}", "phone": f"1380000{i:04d}"}, {"shop": f"小店{i}", "area_m2": i},
            materials, terminal.agent.blobs_dir))
    for i in range(n_events):
        # "text" is sealed at rest (kiosk.freetext): the server must still get it as written.
        payload = {"score": i % 5 + 1, "window": i % 8 + 1, "text": f"第{i}条评价"}
        events.append((record_event(terminal.db, "evaluation", payload), "evaluation", payload))
    return apps, events


@pytest.fixture
def proxies():
    made: list[FaultProxy] = []

    def make(upstream, **kwargs) -> FaultProxy:
        proxy = FaultProxy(upstream, **kwargs)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


# --- catalog -------------------------------------------------------------------------------------


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "helper-process"])
def test_published_catalog_is_applied_by_the_next_round(platform_server, tmp_path, isolate):
    terminal = make_terminal(tmp_path / "k", platform_server, isolate_catalog=isolate)
    platform_server.publish(small_bundle(1))
    assert terminal.agent.run_round(terminal.db).catalog_version == 1
    platform_server.publish(small_bundle(2, extra_item="电梯使用登记"))
    report = terminal.agent.run_round(terminal.db)
    assert (report.catalog_state, report.catalog_version) == ("updated", 2)
    assert [h.code for h in search.search(terminal.db, "电梯", "zh-Hans")] == ["SCJG-QT-099"]
    assert [h.code for h in search.search(terminal.db, "dianti", "zh-Hans")] == ["SCJG-QT-099"]


@pytest.mark.parametrize("attack, words", [
    ("unsigned", "is unsigned"),
    ("tampered", "signature does not match"),
    ("older", "not newer than version 2"),
])
def test_bad_bundles_are_refused_and_the_old_catalog_serves(
        platform_server, tmp_path, proxies, caplog, attack, words):
    proxy = proxies(platform_server.url)
    # as the app does it: the bundle is checked and applied by a helper process
    terminal = make_terminal(tmp_path / "k", platform_server, url=proxy.url, isolate_catalog=True)
    captured: dict = {}
    platform_server.publish(small_bundle(1))
    proxy.add("GET", "/v1/catalog", rewrite_catalog(captured.update), times=1)
    terminal.agent.run_round(terminal.db)
    platform_server.publish(small_bundle(2))
    assert terminal.agent.run_round(terminal.db).catalog_version == 2
    platform_server.publish(small_bundle(3, extra_item="伪造的事项"))
    if attack == "unsigned":
        proxy.add("GET", "/v1/catalog", rewrite_catalog(lambda a: a.pop("signature")))
    elif attack == "tampered":
        proxy.add("GET", "/v1/catalog", rewrite_catalog(
            lambda a: a["bundle"]["items"][0]["name"].update({"zh-Hans": "被篡改的名称"})))
    else:  # a replay of the genuine, correctly signed version 1
        old = json.dumps(captured, ensure_ascii=False).encode()
        proxy.add("GET", "/v1/catalog", lambda status, body: (200, old))
    with caplog.at_level(logging.WARNING, logger="kiosk.sync"):
        report = terminal.agent.run_round(terminal.db)
    assert report.catalog_state == "refused" and report.catalog_version == 2
    assert isinstance(report.problem, errors.CatalogRefused)
    lines = [r.getMessage() for r in caplog.records if "catalog update refused" in r.getMessage()]
    assert len(lines) == 1 and words in lines[0] and "still serving version 2" in lines[0]
    # the old catalog keeps serving: version 2's items, nothing of the refused bundle
    assert catalog.current_version(terminal.db) == 2
    assert search.search(terminal.db, "伪造", "zh-Hans") == []
    assert search.search(terminal.db, "篡改", "zh-Hans") == []
    assert [h.code for h in search.search(terminal.db, "食品经营", "zh-Hans")] == ["SCJG-XK-001"]
    proxy.rules.clear()  # the genuine version 3 still arrives once the attack stops
    assert terminal.agent.run_round(terminal.db).catalog_version == 3
    terminal.agent.close()  # the helper kept warm for the next round


# --- outbox: down, then up -----------------------------------------------------------------------


def test_server_down_then_up_every_record_arrives_exactly_once(platform_server, tmp_path):
    terminal = make_terminal(tmp_path / "k", platform_server)
    platform_server.kill()
    apps, events = file_records(terminal, 200, 500)
    report = terminal.agent.run_round(terminal.db)
    # + 200 audit records of the filings (kiosk.audit)
    assert not report.online and report.outbox_depth == 200 + 500 + 20 + 200
    assert report.offline_since is not None
    platform_server.start()
    reports = terminal.drain()
    assert reports[-1].online and reports[-1].offline_since is None
    assert_exactly_once(platform_server.db_path, apps, events, terminal)
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM blobs") == [(20,)]
    assert sum(r.pushed.get("application", 0) for r in reports) == 200


# --- faults, each in its own test ----------------------------------------------------------------


def test_server_killed_in_the_middle_of_a_batch(platform_server, tmp_path, proxies):
    proxy = proxies(platform_server.url, on_kill=platform_server.kill)
    proxy.add("POST", "/v1/applications", "kill", times=1)
    terminal = make_terminal(tmp_path / "k", platform_server, url=proxy.url, batch_size=100)
    apps, events = file_records(terminal, 300, 50, scan_every=0)
    report = terminal.agent.run_round(terminal.db)
    assert not platform_server.alive and not report.online
    assert isinstance(report.problem, errors.PlatformUnreachable)
    platform_server.start()
    terminal.drain()
    assert_exactly_once(platform_server.db_path, apps, events, terminal)


def test_server_answering_500_then_recovering(platform_server, tmp_path, proxies):
    broken = proxies(None)  # a platform that answers 500 to everything
    terminal = make_terminal(tmp_path / "k", platform_server, url=broken.url)
    apps, events = file_records(terminal, 30, 20)
    report = terminal.agent.run_round(terminal.db)
    assert isinstance(report.problem, errors.PlatformFailed) and report.pushed_total == 0
    (attempts, error), = terminal.db.execute(
        "SELECT attempts, last_error FROM outbox WHERE kind = 'blob' ORDER BY id LIMIT 1").fetchall()
    assert attempts == 1 and "500" in error
    # the same platform behind a proxy that still answers 500 to the first two batches
    flaky = proxies(platform_server.url)
    flaky.add("POST", "/v1/applications", "500", times=2)
    fixed = make_terminal(tmp_path / "k", platform_server, url=flaky.url,
                          token=(tmp_path / "k" / "terminal.token").read_text().strip())
    fixed.drain()
    assert_exactly_once(platform_server.db_path, apps, events, fixed)


def test_server_hanging_past_the_timeout(platform_server, tmp_path, proxies):
    silent = proxies(None, hang_s=5)
    silent.add("GET", "/", "hang")
    terminal = make_terminal(tmp_path / "k", platform_server, url=silent.url, timeout_s=0.5)
    apps, events = file_records(terminal, 20, 10)
    report = terminal.agent.run_round(terminal.db)
    assert isinstance(report.problem, errors.PlatformTimeout) and not report.online
    # a platform that stores the batch but answers after the timeout
    slow = proxies(platform_server.url, hang_s=5)
    slow.add("POST", "/v1/applications", "hang", times=1)
    again = make_terminal(tmp_path / "k", platform_server, url=slow.url, timeout_s=0.5,
                          token=(tmp_path / "k" / "terminal.token").read_text().strip())
    report = again.agent.run_round(again.db, force=True)
    assert isinstance(report.problem, errors.PlatformTimeout)
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM applications") == [(20,)]
    again.drain()
    assert_exactly_once(platform_server.db_path, apps, events, again)


def test_answer_lost_after_the_server_stored_the_batch(platform_server, tmp_path, proxies):
    proxy = proxies(platform_server.url)
    proxy.add("POST", "/v1/applications", "drop", times=1)
    proxy.add("POST", "/v1/events", "drop", times=1)
    terminal = make_terminal(tmp_path / "k", platform_server, url=proxy.url)
    apps, events = file_records(terminal, 40, 30)
    first = terminal.agent.run_round(terminal.db)
    assert isinstance(first.problem, errors.PlatformUnreachable)
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM applications") == [(40,)]
    assert outbox.depth_by_kind(terminal.db)["application"] == 40
    reports = terminal.drain()
    assert sum(r.pushed.get("application", 0) for r in reports) == 40
    assert_exactly_once(platform_server.db_path, apps, events, terminal)


CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kiosk.config import load_config
    from kiosk.store import open_store
    from kiosk.sync import outbox
    from kiosk.sync.runner import SyncAgent

    def die_before_marking(*args, **kwargs):
        # the POST has returned with the server's answers; the kiosk dies before marking them
        print("answers received; SIGKILL now", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    outbox._mark_batch = die_before_marking
    data = Path(sys.argv[1])
    SyncAgent(load_config(data / "config.toml"), data).run_round(open_store(data / "kiosk.db"))
    print("not killed?!", flush=True)
""")


def test_kiosk_killed_between_send_and_mark(platform_server, tmp_path):
    terminal = make_terminal(tmp_path / "k", platform_server)
    apps, events = file_records(terminal, 50, 20)
    child = subprocess.run([sys.executable, "-c", CHILD, str(terminal.data_dir)], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == -9, child.stdout + child.stderr
    assert "SIGKILL now" in child.stdout
    # the server stored the batch; the terminal never marked it
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM applications") == [(50,)]
    assert outbox.depth_by_kind(terminal.db)["application"] == 50
    reports = terminal.drain()
    assert reports[0].pushed["application"] == 50
    assert_exactly_once(platform_server.db_path, apps, events, terminal)


def test_blob_whose_bytes_do_not_match_its_hash(platform_server, tmp_path, proxies):
    proxy = proxies(platform_server.url)
    proxy.add("PUT", "/v1/blobs/", "corrupt", times=1)  # damaged on the way: the server refuses
    terminal = make_terminal(tmp_path / "k", platform_server, url=proxy.url)
    apps, events = file_records(terminal, 30, 5, scan_every=3)
    rotten = apps[6]
    blob_path(terminal.agent.blobs_dir, rotten.materials[0]["sha256"]).write_bytes(b"bit rot")
    terminal.drain()
    failed = {r.kind: r for r in outbox.failed_records(terminal.db)}
    assert set(failed) == {"blob", "application"}
    assert "hash_mismatch" in failed["blob"].error
    assert failed["application"].label == rotten.number
    assert terminal.db.execute("SELECT COUNT(*) FROM applications WHERE id = ?",
                               [rotten.id]).fetchone() == (1,)  # kept on the terminal
    sent_apps = [a for a in apps if a is not rotten]
    got = server_rows(platform_server.db_path, "SELECT id FROM applications")
    assert sorted(i for (i,) in got) == sorted(a.id for a in sent_apps)
    assert server_rows(platform_server.db_path, "SELECT COUNT(*) FROM blobs") == [(9,)]
    for (sha,) in server_rows(platform_server.db_path, "SELECT sha256 FROM blobs"):
        assert (platform_server.blob_dir / sha[:2] / sha).is_file()
    # 9 good files: the one damaged on the way was refused (422 hash_mismatch) and sent again
    assert sum(1 for s in proxy.seen if s.startswith("PUT ")) == 10
    rows = terminal.db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
    assert dict(rows) == {"sent": 9 + 29 + 5 + _heartbeats(terminal) + _audits(terminal),
                          "failed": 2}


def _heartbeats(terminal) -> int:
    return terminal.db.execute("SELECT COUNT(*) FROM events WHERE type = 'heartbeat'").fetchone()[0]


def _audits(terminal) -> int:
    """Audit records (kiosk.audit): one per filing and per status pulled from the platform."""
    return terminal.db.execute("SELECT COUNT(*) FROM events WHERE type = 'audit'").fetchone()[0]


def kiosk_cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), *args],
                          cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120)


def test_terminal_admin_commands(platform_server, tmp_path):
    """save-token, sync, outbox and rollback from the command line, on a terminal's data dir."""
    data = tmp_path / "terminal"
    data.mkdir()
    (data / "config.toml").write_text(f'platform_url = "{platform_server.url}"\n')
    (data / "catalog_signing_key.pub.pem").write_bytes(platform_server.public_key.read_bytes())
    saved = kiosk_cli(data, "admin", "save-token", stdin=platform_server.enroll() + "\n")
    assert saved.returncode == 0 and "mode 0600" in saved.stdout
    assert oct((data / "terminal.token").stat().st_mode & 0o777) == "0o600"
    platform_server.publish(small_bundle(1))
    platform_server.publish(small_bundle(2, extra_item="电梯使用登记"))
    first = kiosk_cli(data, "admin", "sync")
    assert first.returncode == 0, first.stderr
    assert "online: yes" in first.stdout
    # the bundled sample catalog (version 1) was there first; the server's newest is 2
    assert "catalog version: 2 (updated)" in first.stdout
    assert "waiting: 0" in first.stdout
    box = kiosk_cli(data, "admin", "outbox")
    assert "refused: 0" in box.stdout and "application 0" in box.stdout
    back = kiosk_cli(data, "admin", "rollback")
    assert back.returncode == 0 and "rolled back to version 1" in back.stdout  # the bundled one
    assert "catalog version: 1" in kiosk_cli(data, "catalog", "info").stdout
    again = kiosk_cli(data, "admin", "sync")
    assert "catalog version: 1 (current)" in again.stdout  # version 2 is not taken again
    assert kiosk_cli(data, "admin", "rollback").stdout.strip() == "catalog rolled back to version 2"
