"""A whole sync round, the status pull, the session defaults and the one error-message place."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
import requests
from sync_support import BASE_URL, enrolled_agent, on, tiny_bundle

from kiosk import catalog
from kiosk.applications import file_application, get_application, record_event, status_history
from kiosk.config import Config, ConfigError, load_config
from kiosk.i18n import LANGUAGES
from kiosk.sync import errors, status
from kiosk.sync.http import USER_AGENT, make_session, read_token, write_token
from kiosk.sync.runner import SyncAgent


@pytest.fixture
def agent(tmp_path, platform):
    """A terminal enrolled with the in-process platform: token and public key in its data dir."""
    return enrolled_agent(tmp_path / "terminal", platform,
                          devices=lambda: [{"name": "printer", "kind": "escpos", "ok": True,
                                            "detail": "paper ok"}])


def test_a_round_pulls_the_catalog_pushes_and_reports(db, tmp_path, platform, agent):
    platform.publish(tiny_bundle(3))
    app = file_application(db, agent.config, "SCJG-XK-001", {"name": "李四"}, {},
                           [{"material": "身份证", "data": b"scan"}], agent.blobs_dir)
    record_event(db, "evaluation", {"score": 5})
    report = agent.run_round(db)
    assert report.online and report.problem is None and report.errors == []
    assert report.catalog_state == "updated" and report.catalog_version == 3
    # events: the evaluation, the heartbeat, the audit records of the filing and of the
    # platform's "received" (pulled, then sent in the same round)
    assert report.pushed == {"blob": 1, "application": 1, "event": 4}
    assert report.outbox_depth == 0 and report.offline_since is None
    assert report.status_changes == 1  # the platform's "received"
    assert get_application(db, app.id).status == "received"
    assert [h["status"] for h in status_history(db, app.id)] == ["filed", "received"]
    (terminal,) = platform.query("SELECT hall_id, terminal_id FROM terminals")
    assert terminal == ("H0001", "K01")
    heartbeat = platform.query("SELECT payload FROM events WHERE type = 'heartbeat'")
    assert len(heartbeat) == 1 and '"catalog_version":3' in heartbeat[0][0].replace(" ", "")
    assert '"printer"' in heartbeat[0][0]


def test_offline_round_remembers_since_when_and_keeps_everything(db, platform, agent):
    platform.plan.rules.append(on("GET", "/", "refuse"))
    file_application(db, agent.config, "X", {}, {}, [], agent.blobs_dir)
    first = agent.run_round(db)
    assert not first.online and isinstance(first.problem, errors.PlatformUnreachable)
    assert first.offline_since == first.at and first.outbox_depth == 2  # + its audit record
    second = agent.run_round(db)
    assert second.offline_since == first.offline_since  # since the first failed round
    assert agent.state(db).online is False
    platform.plan.rules.clear()
    third = agent.run_round(db)
    assert third.online and third.offline_since is None and third.outbox_depth == 0
    assert third.last_online_at == third.at and agent.state(db).online


def test_refused_catalog_does_not_hold_back_the_push(db, platform, agent):
    platform.publish(tiny_bundle(1))
    platform.plan.rules.append(on("GET", "/v1/catalog", lambda r: _strip_signature(r)))
    file_application(db, agent.config, "X", {}, {}, [], agent.blobs_dir)
    report = agent.run_round(db)
    assert report.online and report.catalog_state == "refused"
    assert isinstance(report.problem, errors.CatalogRefused)
    assert report.pushed["application"] == 1 and catalog.current_version(db) is None


def _strip_signature(response: requests.Response) -> requests.Response:
    response._content = response.content.replace(b'"signature":"', b'"signature_gone":"')
    return response


def test_not_enrolled_terminal_says_so(db, tmp_path, platform):
    agent = SyncAgent(Config(platform_url=BASE_URL), tmp_path / "empty",
                      session_factory=lambda token, **kw: platform.session(token, **kw))
    report = agent.run_round(db)
    assert not report.online and isinstance(report.problem, errors.NotConfigured)
    assert "enroll" in report.errors[0]
    assert platform.plan.seen == []


def test_status_pull_keeps_the_cursor_and_stores_each_change_once(db, platform, agent):
    client = agent.client
    apps = [file_application(db, agent.config, "X", {}, {}, [], agent.blobs_dir)
            for _ in range(3)]
    from kiosk.sync.outbox import push

    push(db, client, agent.blobs_dir)
    assert status.pull_status(db, client) == 3
    assert db.execute("SELECT value FROM settings WHERE key = ?",
                      [status.CURSOR]).fetchone()[0] != "0"
    assert status.pull_status(db, client) == 0
    platform.test_client.post(
        f"/v1/applications/{apps[0].id}/decision",
        json={"decision_id": "6a1b1c0e-4c51-4a51-9f5e-3a1b0c9d8e7f", "decision": "return",
              "missing": ["租赁合同"]},
        headers={"Authorization": client.session.headers["Authorization"]})
    assert status.pull_status(db, client) == 1
    assert get_application(db, apps[0].id).status == "returned"
    assert status_history(db, apps[0].id)[-1]["detail"]["missing"] == ["租赁合同"]


def test_session_defaults_and_the_token_stays_secret(tmp_path, caplog):
    session = make_session("s3cret-token", connect_timeout_s=1.5, timeout_s=7)
    assert session.headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("kiosk/")
    assert session.headers["Authorization"] == "Bearer s3cret-token"
    adapter = session.get_adapter("http://127.0.0.1/")
    assert adapter.timeout == (1.5, 7) and adapter.max_retries.total == 0
    path = tmp_path / "terminal.token"
    write_token(path, "s3cret-token")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and read_token(path) == "s3cret-token"
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        read_token(path)
    assert "chmod 600" in caplog.text and "s3cret" not in caplog.text


def test_a_failing_round_never_logs_the_token(db, platform, agent, caplog):
    token = (agent.data_dir / "terminal.token").read_text().strip()
    platform.plan.rules.append(on("GET", "/", "500"))
    with caplog.at_level(logging.DEBUG):
        agent.run_round(db)
    assert caplog.records and token not in caplog.text


@pytest.mark.parametrize("exc", [
    errors.PlatformUnreachable("x"), errors.PlatformTimeout("x"), errors.PlatformFailed("x", 500),
    errors.AuthRejected("x"), errors.NotConfigured("x"), errors.CatalogRefused("x"),
    errors.NothingToRollBack("x"), errors.RequestRefused("x", 413, "too_large"),
    RuntimeError("anything else"),
])
def test_every_sync_error_has_a_sentence_in_every_language(exc):
    sentences = {lang: errors.message_for(exc, lang) for lang in LANGUAGES}
    assert all(sentences.values()) and len(set(sentences.values())) >= 2
    assert "x" not in sentences["zh-Hans"]  # the technical message stays in the log
    assert errors.message_for(None, "en") == ""


@pytest.mark.parametrize("text, word", [
    ("[sync]\nbatch_size = 501\n", "sync.batch_size"),
    ("[sync]\ntimeout_s = 0\n", "sync.timeout_s"),
    ("[sync]\nbackoff_base_s = 10\nbackoff_max_s = 5\n", "sync.backoff_max_s"),
    ('[sync]\ntoken_file = 7\n', "sync.token_file"),
])
def test_bad_sync_settings_are_refused_naming_the_key(tmp_path, text, word):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=word):
        load_config(path)


def test_sync_settings_are_read_and_whole_seconds_are_accepted(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[sync]\ntimeout_s = 10\ntoken_file = "/etc/kiosk/token"\n', encoding="utf-8")
    sync = load_config(path).sync
    assert sync.timeout_s == 10.0 and isinstance(sync.timeout_s, float)
    assert SyncAgent(Config(sync=sync), tmp_path).path(sync.token_file) == Path("/etc/kiosk/token")
    assert SyncAgent(Config(), tmp_path).path("terminal.token") == tmp_path / "terminal.token"
