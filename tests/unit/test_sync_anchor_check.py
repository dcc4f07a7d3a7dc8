"""The sync round checks the local audit chain against the platform's anchor by itself: an
intact chain reports nothing; a chain rewritten consistently on the terminal (every record
re-hashed from the first, its local copies with it) is reported, audited once, and shown."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sync_support import enrolled_agent, rewrite_whole_chain

from kiosk import audit
from kiosk.applications import file_application, utc_now
from kiosk.store import get_setting
from kiosk.sync import anchor, errors


@pytest.fixture
def agent(tmp_path, platform):
    return enrolled_agent(tmp_path / "terminal", platform)


@pytest.fixture
def fetches(agent, monkeypatch):
    """How many times the round fetched the anchor."""
    calls: list[tuple] = []
    real = agent.client.get_audit_anchor

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(agent.client, "get_audit_anchor", counted)
    return calls


def file_one(db, agent):
    return file_application(db, agent.config, "SCJG-XK-001", {"name": "李四"}, {}, [],
                            agent.blobs_dir)


def mismatch_records(db) -> int:
    return db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.anchor_mismatch'"
                      ).fetchone()[0]


def test_an_intact_chain_reports_no_problem_and_is_checked_at_most_hourly(db, agent, fetches):
    file_one(db, agent)
    start = utc_now()
    first = agent.run_round(db, now=start)
    assert first.online and first.problem is None and first.errors == []
    assert len(fetches) == 1 and get_setting(db, anchor.CHECKED_AT) is not None
    held = agent.client.get_audit_anchor("H0001", "K01")
    assert held["seq"] >= 1 and audit.verify(db, anchor=(held["seq"], held["hash"])).ok
    later = agent.run_round(db, now=start + timedelta(minutes=30))
    assert later.problem is None and len(fetches) == 2  # the one above + none by the round
    agent.run_round(db, now=start + timedelta(minutes=61))
    assert len(fetches) == 3 and mismatch_records(db) == 0


def test_a_consistently_rewritten_chain_is_reported_audited_once_and_shown(
        db, agent, fetches, caplog):
    file_one(db, agent)
    start = utc_now()
    assert agent.run_round(db, now=start).problem is None  # the platform anchors the chain
    rewrite_whole_chain(db.conn)
    assert audit.verify(db).ok  # consistent locally: only the anchor can tell

    with caplog.at_level(logging.ERROR, logger="kiosk.sync.anchor"):
        found = agent.run_round(db, now=start + timedelta(hours=2))

    assert isinstance(found.problem, errors.AuditChainMismatch)
    assert any("AuditChainMismatch" in e and "edited" in e for e in found.errors)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "李四" not in caplog.text and "S666" not in caplog.text  # seqs and kinds only
    assert mismatch_records(db) == 1
    # The admin screen reads the stored state: the problem and its sentence are there.
    shown = agent.state(db)
    assert isinstance(shown.problem, errors.AuditChainMismatch)
    assert "audit" in errors.message_for(shown.problem, "en")
    # Rounds within the hour do not fetch again, yet keep reporting it; a later check finds
    # the same mismatch and does not audit it again.
    again = agent.run_round(db, now=start + timedelta(hours=2, minutes=5))
    assert isinstance(again.problem, errors.AuditChainMismatch) and len(fetches) == 2
    rechecked = agent.run_round(db, now=start + timedelta(hours=4))
    assert isinstance(rechecked.problem, errors.AuditChainMismatch) and len(fetches) == 3
    assert mismatch_records(db) == 1


def test_a_failed_anchor_fetch_is_no_mismatch_and_is_tried_next_round(db, agent, monkeypatch):
    file_one(db, agent)

    def refused(*args):
        raise errors.PlatformFailed("GET audit-anchor: 503", 503)

    monkeypatch.setattr(agent.client, "get_audit_anchor", refused)
    report = agent.run_round(db)
    assert report.problem is None and get_setting(db, anchor.CHECKED_AT) is None
