"""Queue statistics: per day, category and window; percentiles; the CSV export and its CLI."""

from __future__ import annotations

import csv
import io

import pytest

from kiosk import queue_stats

DAY = "2026-12-07"


def leg(n, cat, window, state, issued, called=None, start=None, end=None, **kw):
    at = f"{DAY}T01:{{:02d}}:00.000+00:00".format
    return {"number": f"{cat}{n:03d}", "day": DAY, "category": cat, "window": window,
            "state": state, "issued_at": at(issued), "queue_at": at(kw.pop("queue", issued)),
            "called_at": at(called) if called is not None else None,
            "serving_at": at(start) if start is not None else None,
            "finished_at": at(end) if end is not None else None, **kw}


TICKETS = [
    leg(1, "A", 1, "done", 0, called=2, start=3, end=8),        # wait 120 s, service 300 s
    leg(2, "A", 1, "done", 1, called=9, start=9, end=10),       # wait 480 s, service 60 s
    leg(3, "A", 2, "no_show", 2, called=12, end=14),            # wait 600 s
    leg(4, "A", 2, "transferred", 3, called=13, start=13, end=15),
    leg(4, "B", 3, "done", 3, called=16, end=20, queue=15, transferred_from="x"),
    leg(5, "B", None, "waiting", 18),
]


def test_percentiles_are_nearest_rank():
    assert queue_stats.percentile([], 90) is None
    assert queue_stats.percentile([5], 90) == 5
    assert queue_stats.percentile(range(1, 11), 90) == 9
    assert queue_stats.percentile(range(1, 11), 50) == 5
    assert queue_stats.median([3, 1, 2, 10]) == 2.5


def test_figures_per_hall_category_and_window():
    rows = {(r.scope, r.key): r for r in queue_stats.compute(TICKETS, DAY)}
    hall = rows[("all", "")]
    # A004 and its transferred leg are one visitor: 5 tickets for the hall.
    assert (hall.tickets, hall.served, hall.no_shows, hall.transferred, hall.waiting_now) == (
        5, 3, 1, 1, 1)
    a = rows[("category", "A")]
    assert (a.tickets, a.served, a.no_shows, a.transferred) == (4, 2, 1, 1)
    assert a.wait_median_s == 540 and a.wait_p90_s == 600   # waits 120, 480, 600, 600
    assert a.service_median_s == 120 and a.service_p90_s == 300   # services 300, 60, 120
    b = rows[("category", "B")]
    assert b.wait_median_s == 60  # from the transfer (01:15) to the call (01:16)
    assert b.service_median_s == 240  # no start pressed: from the call
    assert rows[("window", "2")].no_shows == 1 and rows[("window", "3")].served == 1
    assert ("window", "None") not in rows


def test_csv_has_a_header_and_empty_cells_for_missing_figures():
    text = queue_stats.to_csv(queue_stats.compute(TICKETS, DAY))
    data = list(csv.DictReader(io.StringIO(text)))
    assert list(data[0]) == queue_stats.COLUMNS
    b_window = [r for r in data if r["scope"] == "category" and r["key"] == "B"][0]
    assert b_window["tickets"] == "2" and b_window["service_p90_s"] == "240.0"
    empty = queue_stats.to_csv([queue_stats.compute([leg(9, "C", None, "waiting", 1)], DAY)[1]])
    assert empty.splitlines()[1].endswith(",,,,")


def test_rows_round_trip_through_json():
    rows = queue_stats.compute(TICKETS, DAY)
    assert queue_stats.from_dicts([r.as_dict() for r in rows]) == rows


def test_cli_reads_a_platform_database(tmp_path, capsys):
    """GIVEN a platform database with a served ticket WHEN ``kiosk admin queue-stats --db … --csv``
    THEN the CSV has the hall's row."""
    from kiosk.__main__ import main
    from kiosk.platform.db import PlatformDB
    from kiosk.platform.hall_queue import InProcessHallQueue

    db = PlatformDB(tmp_path / "p.db")
    kiosk = InProcessHallQueue(db, "H0001", "K01")
    kiosk.issue({"request_id": "00000000-0000-4000-8000-000000000001", "category": "A"})
    InProcessHallQueue(db, "H0001", "W01").call_next(
        1, "00000000-0000-4000-8000-000000000002", ["A"])
    db.close()
    code = main(["--data-dir", str(tmp_path), "admin", "queue-stats", "--db",
                 f"sqlite:///{tmp_path / 'p.db'}", "--csv"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("day,scope,key,tickets")
    assert lines[1].split(",")[1:5] == ["all", "", "1", "0"]


@pytest.mark.parametrize("pin", ["1234\n"])
def test_cli_adds_staff_with_a_pin_from_stdin(tmp_path, monkeypatch, capsys, pin):
    from kiosk import staff
    from kiosk.__main__ import main
    from kiosk.store import open_store

    monkeypatch.setattr("sys.stdin", io.StringIO(pin))
    assert main(["--data-dir", str(tmp_path), "admin", "add-staff", "S007", "--name", "李明",
                 "--pin-stdin"]) == 0
    db = open_store(tmp_path / "kiosk.db")
    assert staff.verify(db, "S007", "1234").name == "李明"
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["--data-dir", str(tmp_path), "admin", "add-staff", "S008", "--name", "x",
                 "--pin-stdin"]) == 1
    assert "4 to 12 digits" in capsys.readouterr().err
