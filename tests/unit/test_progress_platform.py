"""A number filed at another terminal of the hall: which numbers are asked of the platform,
and its answer turned into the progress the screen shows."""

from __future__ import annotations

from kiosk.progress import platform_number, platform_progress

ANSWER = {
    "id": "a1", "number": "H0001-K02-20261207-0003", "item_code": "SCJG-XK-001",
    "status": "accepted",
    "history": [
        {"status": "received", "at": "2026-12-07T02:00:05+00:00",
         "detail": {"filed_at": "2026-12-07T01:59:58+00:00"}},
        {"status": "accepted", "at": "2026-12-07T03:10:00+00:00",
         "detail": {"decision": "accept", "clerk": "王五"}},
    ],
}


def test_well_formed_numbers_of_this_hall_are_asked_as_printed():
    printed = "H0001-K02-20261207-0003"
    for typed in (printed, "h0001k02202612070003", " H0001 K02 20261207 0003 ",
                  f"https://gov.example/progress/{printed}", f"/progress/{printed}?x=1"):
        assert platform_number(typed, "H0001") == printed, typed


def test_other_halls_short_and_malformed_numbers_are_never_asked():
    for typed in ("H0002-K01-20261207-0001",  # another hall's
                  "H0001", "H0001K01", "H0001-K01-2026120-0001",  # too short
                  "H0001-K01-20261332-0001",  # no such date
                  "H0001-K01-2026120X-0001", "H0001--20261207-0001", "", "张三"):
        assert platform_number(typed, "H0001") is None, typed


def test_a_hall_id_with_a_hyphen_keeps_it():
    assert platform_number("hq1k0120261207000 1", "H-Q1") == "H-Q1-K01-20261207-0001"


def test_platform_answer_becomes_progress_without_applicant_data():
    found = platform_progress(ANSWER)
    assert found is not None and found.source == "platform"
    app = found.application
    assert (app.number, app.item_code, app.status) == (ANSWER["number"], "SCJG-XK-001",
                                                         "accepted")
    assert app.filed_at == "2026-12-07T01:59:58+00:00"  # when it was filed, not received
    assert app.applicant == {} and app.form == {} and app.materials == []
    assert [(h["status"], h["source"]) for h in found.history] == [("received", "platform"),
                                                                   ("accepted", "platform")]


def test_unusable_answers_show_nothing():
    assert platform_progress(None) is None
    assert platform_progress({"number": "x", "status": "received", "history": []}) is None
    assert platform_progress({"status": "received", "history": ANSWER["history"]}) is None
    odd = dict(ANSWER, history=[{"status": "received", "at": "2026-12-07T02:00:05+00:00",
                                 "detail": {"filed_at": "yesterday"}}])
    assert platform_progress(odd).application.filed_at == "2026-12-07T02:00:05+00:00"
