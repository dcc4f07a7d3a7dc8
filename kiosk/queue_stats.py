"""Queue statistics per day, category and window, and their CSV export (no Qt).

Input: the day's ticket records as the hall queue keeps them (``GET /v1/halls/{hall}/tickets``;
one record per leg: a transferred visitor has a row at each window). Waiting time runs from
issue (or transfer) to the first call; service time from the start of service (or the call when
the clerk never pressed start) to the end. Percentiles are nearest-rank, so every figure is a
time some visitor really had.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from kiosk.queue import seconds_between, service_seconds


@dataclass(frozen=True)
class StatRow:
    """Figures for one scope: the whole hall (``all``), a category letter or a window."""

    day: str
    scope: str  # all | category | window
    key: str  # "" for all, the letter, or the window number
    tickets: int
    served: int
    no_shows: int
    transferred: int
    waiting_now: int
    wait_median_s: float | None
    wait_p90_s: float | None
    service_median_s: float | None
    service_p90_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(StatRow)]


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    rank = max(1, math.ceil(q / 100 * len(data)))
    return float(data[rank - 1])


def median(values: Iterable[float]) -> float | None:
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    mid = len(data) // 2
    return float(data[mid]) if len(data) % 2 else (data[mid - 1] + data[mid]) / 2


def wait_seconds(ticket: Mapping[str, Any]) -> float | None:
    """Issue (or transfer) to the first call."""
    return seconds_between(ticket.get("queue_at") or ticket.get("issued_at"),
                           ticket.get("called_at"))


def _rnd(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _row(day: str, scope: str, key: str, tickets: list[Mapping[str, Any]]) -> StatRow:
    waits = [w for t in tickets if (w := wait_seconds(t)) is not None]
    services = [s for t in tickets if (s := service_seconds(t)) is not None]
    return StatRow(
        day=day, scope=scope, key=key,
        tickets=sum(1 for t in tickets if scope != "all" or not t.get("transferred_from")),
        served=sum(1 for t in tickets if t["state"] == "done"),
        no_shows=sum(1 for t in tickets if t["state"] == "no_show"),
        transferred=sum(1 for t in tickets if t["state"] == "transferred"),
        waiting_now=sum(1 for t in tickets if t["state"] == "waiting"),
        wait_median_s=_rnd(median(waits)), wait_p90_s=_rnd(percentile(waits, 90)),
        service_median_s=_rnd(median(services)), service_p90_s=_rnd(percentile(services, 90)),
    )


def compute(tickets: Iterable[Mapping[str, Any]], day: str) -> list[StatRow]:
    """One row for the hall, one per category, one per window that called anyone."""
    legs = [t for t in tickets if t.get("day", day) == day]
    rows = [_row(day, "all", "", legs)]
    for cat in sorted({t["category"] for t in legs}):
        rows.append(_row(day, "category", cat, [t for t in legs if t["category"] == cat]))
    windows = sorted({int(t["window"]) for t in legs if t.get("window")})
    for n in windows:
        rows.append(_row(day, "window", str(n),
                         [t for t in legs if t.get("window") and int(t["window"]) == n]))
    return rows


def to_csv(rows: Iterable[StatRow | Mapping[str, Any]]) -> str:
    """CSV with a header line; seconds as numbers, empty where there is no figure."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        data = row.as_dict() if isinstance(row, StatRow) else dict(row)
        writer.writerow({k: ("" if data.get(k) is None else data.get(k)) for k in COLUMNS})
    return out.getvalue()


def from_dicts(rows: Iterable[Mapping[str, Any]]) -> list[StatRow]:
    """StatRows from their JSON form (the server's stats answer)."""
    return [StatRow(**{k: r.get(k) for k in COLUMNS}) for r in rows]
