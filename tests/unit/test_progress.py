"""Progress by application number, and evaluations recorded with their outbox record."""

from __future__ import annotations

import json

import pytest

from kiosk.applications import file_application
from kiosk.atrest import keys_for
from kiosk.config import Config
from kiosk.freetext import open_event, open_wire
from kiosk.progress import EvaluationError, find_progress, normalise_number, record_evaluation


@pytest.fixture
def filed(db, tmp_path):
    return file_application(db, Config(), "SCDJ-XK-004", {"name": "张三"}, {}, [], tmp_path)


def test_find_by_number_with_or_without_hyphens(db, filed):
    for typed in (filed.number, filed.number.replace("-", "").lower(), f" {filed.number} "):
        progress = find_progress(db, typed)
        assert progress is not None and progress.application.id == filed.id
        assert [h["status"] for h in progress.history] == ["filed"]
    assert find_progress(db, "H0001-K01-19990101-0001") is None
    assert find_progress(db, "H0001") is None  # a prefix never lists anybody's application
    assert normalise_number("h0001-k01 2026") == "H0001K012026"


def test_evaluation_recorded_and_queued(db):
    event_id = record_evaluation(db, 2, ["long_wait", "many_trips"], "等了\u202e很久\x00",
                                 application_number="H0001-K01-20261207-0001", terminal_id="K01")
    (payload,) = db.execute("SELECT payload FROM events WHERE id = ?", [event_id]).fetchone()
    data = json.loads(payload)
    # The comment may name someone: sealed at rest in the event and in its outbox row.
    assert data["stars"] == 2 and data["text"].startswith("enc:v1:")
    assert open_event(keys_for(db), "evaluation", event_id, data)["text"] == "等了很久"
    assert data["reasons"] == ["long_wait", "many_trips"]
    kind, wire = db.execute("SELECT kind, payload FROM outbox WHERE ref = ?", [event_id]).fetchone()
    assert kind == "event" and "很久" not in wire
    assert open_wire(keys_for(db), json.loads(wire))["payload"]["text"] == "等了很久"


@pytest.mark.parametrize("stars, reasons, text, key", [
    (0, [], "", "evaluate.error.stars"),
    (6, [], "", "evaluate.error.stars"),
    (True, [], "", "evaluate.error.stars"),
    (5, ["long_wait"], "", "evaluate.error.reason"),  # a complaint reason with five stars
    (3, ["made_up"], "", "evaluate.error.reason"),
    (4, [], "好" * 501, "evaluate.error.too_long"),
])
def test_bad_evaluations_are_refused(db, stars, reasons, text, key):
    with pytest.raises(EvaluationError) as info:
        record_evaluation(db, stars, reasons, text)
    assert info.value.key == key
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_progress_of_person_lists_only_their_applications(db, tmp_path):
    config = Config()
    mine = [file_application(db, config, "SCDJ-XK-004", {"id_number": "11010519491231002X"},
                             {}, [], tmp_path) for _ in range(2)]
    file_application(db, config, "SCDJ-XK-004", {"id_number": "440524188001010014"}, {}, [],
                     tmp_path)
    from kiosk.progress import progress_of_person

    found = progress_of_person(db, "11010519491231002x")
    assert sorted(p.application.id for p in found) == sorted(a.id for a in mine)
    assert progress_of_person(db, "") == [] and progress_of_person(db, "1101") == []
