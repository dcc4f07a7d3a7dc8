"""Progress by the receipt's QR text, the platform's newest status, and the 好差评 distribution
the admin console shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.applications import file_application, progress_url
from kiosk.config import Config
from kiosk.progress import (
    REASONS,
    evaluation_summary,
    find_progress,
    number_in,
    period_start,
    platform_newest,
    record_evaluation,
)
from kiosk.review import find


def test_receipt_qr_text_finds_the_application(db, tmp_path):
    filed = file_application(db, Config(), "SCDJ-XK-004", {"name": "张三"}, {}, [], tmp_path)
    qr = progress_url("https://zwfw.example.gov.cn/guide/{code}", filed.number)
    assert number_in(qr) == filed.number
    assert number_in(f" {qr}?from=receipt#top ") == filed.number
    assert number_in(filed.number.replace("-", "")) == filed.number.replace("-", "")
    found = find_progress(db, qr)
    assert found is not None and found.application.id == filed.id
    assert find(db, qr).id == filed.id  # the counter's review reads the same QR the same way
    assert find_progress(db, "https://zwfw.example.gov.cn/progress/H0001") is None


def test_platform_newest():
    answer = {"status": "returned", "history": [
        {"status": "received", "at": "2026-12-07T01:00:00.000+00:00", "detail": {}},
        {"status": "returned", "at": "2026-12-07T03:00:00.000+00:00", "detail": {}}]}
    assert platform_newest(answer) == {"status": "returned", "at": "2026-12-07T03:00:00.000+00:00"}
    assert platform_newest({"status": "received", "history": []}) == {"status": "received",
                                                                       "at": None}
    assert platform_newest(None) is None and platform_newest({"history": []}) is None


NOW = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


def test_period_starts_at_local_midnight():
    today = period_start("today", NOW)
    assert today.astimezone().hour == 0 and today <= NOW < today + timedelta(days=1)
    assert period_start("7d", NOW) == today - timedelta(days=6)
    assert period_start("30d", NOW) == today - timedelta(days=29)
    with pytest.raises(ValueError):
        period_start("year", NOW)


def test_evaluation_summary_counts_stars_reasons_and_text(db):
    today = period_start("today", NOW)
    record_evaluation(db, 5, ["fast", "done_once"], "很好", now=today + timedelta(minutes=1))
    record_evaluation(db, 5, ["fast"], "", now=today + timedelta(hours=2))
    record_evaluation(db, 2, ["long_wait"], "  ", now=today + timedelta(hours=3))
    record_evaluation(db, 1, ["long_wait", "many_trips"], "跑了三次", now=today - timedelta(days=3))
    record_evaluation(db, 4, [], "", now=today - timedelta(days=20))
    record_evaluation(db, 3, [], "", now=today - timedelta(days=40))  # outside every period
    record_evaluation(db, 5, [], "", now=today - timedelta(seconds=1))  # yesterday

    day = evaluation_summary(db, "today", now=NOW)
    assert day.total == 3 and day.stars == {1: 0, 2: 1, 3: 0, 4: 0, 5: 2}
    assert day.reasons["fast"] == 2 and day.reasons["long_wait"] == 1
    assert day.share("fast") == pytest.approx(2 / 3) and day.share("system_down") == 0
    assert day.with_text == 1  # whitespace is no comment
    assert day.average == pytest.approx(4.0)
    assert set(day.reasons) == set(REASONS)

    week = evaluation_summary(db, "7d", now=NOW)
    assert week.total == 5 and week.stars[1] == 1 and week.reasons["many_trips"] == 1
    assert week.with_text == 2
    month = evaluation_summary(db, "30d", now=NOW)
    assert month.total == 6 and month.stars[4] == 1 and month.stars[3] == 0


def test_empty_period(db):
    empty = evaluation_summary(db, "30d", now=NOW)
    assert empty.total == 0 and empty.average == 0 and empty.share("fast") == 0
    assert sum(empty.stars.values()) == 0
