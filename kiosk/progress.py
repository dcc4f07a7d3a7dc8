"""Progress of an application, looked up by its number, and the visitor's evaluation (好差评).

Progress comes from the local store: the application and every status it had (kiosk.applications;
the sync agent adds the platform's statuses as they arrive). A visitor types the number on a
keypad without a hyphen key, so numbers match with or without hyphens and in any case.
The evaluation is 1-5 stars, reasons from a fixed list and a short free text, recorded as an
'evaluation' event and sent to the platform through the outbox.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlite_utils

from kiosk import atrest
from kiosk.applications import (
    PROGRESS_PATH,
    Application,
    get_application,
    iso,
    record_event,
    status_history,
    utc_now,
)
from kiosk.forms import clean_text


class EvaluationError(ValueError):
    """An evaluation cannot be recorded; ``key`` is the ui.json text for the visitor."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key


@dataclass(frozen=True)
class Progress:
    application: Application
    history: list[dict]  # oldest first: status, at, detail, source
    source: str = "local"  # "platform": filed at another terminal, known from the platform only


def normalise_number(text: str) -> str:
    """'h0001k0120261207 0001' -> 'H0001K01202612070001' (hyphens, spaces and case ignored)."""
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def number_in(text: str) -> str:
    """The application number in a typed number or in the text of a receipt's QR code.

    The receipt QR holds the progress URL ``…/progress/<number>``
    (kiosk.applications.progress_url); anything else is taken as a typed number.
    """
    text = (text or "").strip()
    if PROGRESS_PATH in text:
        path = urlsplit(text).path if "://" in text else text.split("?")[0].split("#")[0]
        text = unquote(path.rsplit(PROGRESS_PATH, 1)[1].strip("/"))
    return text


def platform_number(text: str, hall_id: str) -> str | None:
    """The number as printed (hall-terminal-date-sequence) to ask the platform for, from a
    typed number (hyphens optional) or a receipt QR's text; None when it is not a well-formed
    number of this hall (another hall's is never asked about)."""
    typed = number_in(text).strip()
    hall = normalise_number(hall_id)
    key = normalise_number(typed)
    if not hall or not key.startswith(hall):
        return None
    rest = key[len(hall):]
    terminal, day, seq = rest[:-12], rest[-12:-4], rest[-4:]
    if not terminal or not day.isdigit() or not seq.isdigit():
        return None
    try:
        datetime.strptime(day, "%Y%m%d")
    except ValueError:
        return None
    if typed.count("-") == 3 and normalise_number(typed) == key:
        return typed.upper()  # typed as printed: keeps a terminal id that has its own hyphen
    return f"{hall_id}-{terminal}-{day}-{seq}"


def platform_progress(answer: dict | None) -> Progress | None:
    """The platform's answer to GET /v1/applications/by-number/{number} as a Progress of an
    application filed at another terminal (no applicant data: the platform sends none)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("number"), str) \
            or not isinstance(answer.get("status"), str):
        return None
    history = [{"status": str(h["status"]), "at": str(h["at"]),
                "detail": h.get("detail") if isinstance(h.get("detail"), dict) else {},
                "source": "platform"}
               for h in answer.get("history") or []
               if isinstance(h, dict) and h.get("status") and h.get("at")]
    if not history:
        return None
    received = next((h for h in history if h["status"] == "received"), history[0])
    filed_at = str(received["detail"].get("filed_at") or received["at"])
    try:
        datetime.fromisoformat(filed_at)
    except ValueError:
        filed_at = received["at"]
    application = Application(
        id=str(answer.get("id", "")), number=answer["number"],
        item_code=str(answer.get("item_code") or ""), hall_id="", terminal_id="",
        filed_at=filed_at, applicant={}, form={}, materials=[], prereview={},
        status=answer["status"], updated_at=history[-1]["at"])
    return Progress(application, history, source="platform")


def find_progress(db: sqlite_utils.Database, text: str) -> Progress | None:
    """The application named by ``text`` (a number, hyphens optional, or the receipt QR's
    text), with its history; or None."""
    key = normalise_number(number_in(text))
    if len(key) < 8:
        return None  # too short to be a number: never list someone else's by a prefix
    row = db.execute(
        "SELECT id FROM applications WHERE REPLACE(UPPER(number), '-', '') = ?", [key]
    ).fetchone()
    if row is None:
        return None
    application = get_application(db, row[0])
    assert application is not None
    return Progress(application, status_history(db, application.id))


# Reasons of the national 好差评 practice, kept short enough for a touch button.
GOOD_REASONS = ("attitude_good", "fast", "done_once", "clear_guide")
BAD_REASONS = ("attitude_bad", "long_wait", "many_trips", "unclear_materials", "system_down")
REASONS = GOOD_REASONS + BAD_REASONS
TEXT_MAX = 500


def reasons_for(stars: int) -> tuple[str, ...]:
    """4-5 stars offer the good reasons, 1-3 the ones to fix."""
    return GOOD_REASONS if stars >= 4 else BAD_REASONS


def record_evaluation(db: sqlite_utils.Database, stars: Any, reasons: list[str], text: str,
                      *, application_number: str = "", ticket: str = "",
                      terminal_id: str = "", now: datetime | None = None) -> str:
    """Check and record an evaluation; returns the event id. Raises EvaluationError."""
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise EvaluationError("evaluate.error.stars", f"stars must be 1 to 5, not {stars!r}")
    unknown = [r for r in reasons if r not in reasons_for(stars)]
    if unknown:
        raise EvaluationError("evaluate.error.reason", f"reasons {unknown} do not fit {stars} stars")
    cleaned = clean_text(text, multiline=True)
    if len(cleaned) > TEXT_MAX:
        raise EvaluationError("evaluate.error.too_long", f"text longer than {TEXT_MAX}")
    payload = {"stars": stars, "reasons": sorted(set(reasons), key=REASONS.index),
               "text": cleaned, "terminal_id": terminal_id}
    if application_number:
        payload["application_number"] = clean_text(application_number)[:40]
    if ticket:
        payload["ticket"] = ticket
    return record_event(db, "evaluation", payload, now=now)


def progress_of_person(db: sqlite_utils.Database, id_number: str, *, limit: int = 20) -> list[Progress]:
    """The applications filed here by the holder of ``id_number`` (read from their own card),
    newest first: only that person's, never anyone else's."""
    number = id_number.strip().upper()
    if len(number) != 18:
        return []
    # The ID number is stored only encrypted; rows are found by its keyed hash (blind index)
    # under each key in the ring, so rows not yet re-encrypted after a rotation still match.
    candidates = atrest.id_index_candidates(atrest.keys_for(db), number)
    marks = ", ".join("?" * len(candidates))
    rows = db.execute(
        f"SELECT id FROM applications WHERE id_index IN ({marks}) "
        "ORDER BY filed_at DESC LIMIT ?", [*candidates, limit]).fetchall()
    found = []
    for (app_id,) in rows:
        application = get_application(db, app_id)
        assert application is not None
        found.append(Progress(application, status_history(db, app_id)))
    return found


def platform_newest(answer: dict | None) -> dict | None:
    """The newest status in the platform's answer to GET /v1/applications/by-number/{number}
    as {"status", "at"}; None when there is none."""
    if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
        return None
    history = [h for h in answer.get("history") or [] if isinstance(h, dict) and h.get("at")]
    at = history[-1]["at"] if history else None
    return {"status": answer["status"], "at": at}


# --- the 好差评 distribution for the admin console ------------------------------------------

PERIOD_DAYS = {"today": 1, "7d": 7, "30d": 30}


@dataclass(frozen=True)
class EvaluationSummary:
    """Evaluations recorded here since ``since`` (ISO, UTC)."""

    since: str
    total: int
    stars: dict[int, int]  # 1..5 -> how many ratings gave that many stars
    reasons: dict[str, int]  # every reason of REASONS -> how many ratings chose it
    with_text: int  # ratings that came with a written comment

    @property
    def average(self) -> float:
        return sum(n * c for n, c in self.stars.items()) / self.total if self.total else 0.0

    def share(self, reason: str) -> float:
        """The share of all ratings in the period that chose ``reason`` (0..1)."""
        return self.reasons.get(reason, 0) / self.total if self.total else 0.0


def period_start(period: str, now: datetime) -> datetime:
    """Local midnight that starts ``period``: today, or the last 7 or 30 days with today."""
    if period not in PERIOD_DAYS:
        raise ValueError(f"unknown period {period!r}; one of {', '.join(PERIOD_DAYS)}")
    local = now.astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=PERIOD_DAYS[period] - 1)


def evaluation_summary(db: sqlite_utils.Database, period: str, *,
                       now: datetime | None = None) -> EvaluationSummary:
    """Stars, reasons and written comments of the evaluations recorded in ``period``."""
    since = iso(period_start(period, now or utc_now()))
    stars = dict.fromkeys(range(1, 6), 0)
    reasons = dict.fromkeys(REASONS, 0)
    total = with_text = 0
    rows = db.execute("SELECT payload FROM events WHERE type = 'evaluation' AND at >= ?",
                      [since]).fetchall()
    for (payload,) in rows:
        try:
            record = json.loads(payload)
        except ValueError:
            continue  # never in practice: record_evaluation writes it; skip rather than fail
        if record.get("stars") not in stars:
            continue
        total += 1
        stars[record["stars"]] += 1
        for reason in set(record.get("reasons") or []):
            if reason in reasons:
                reasons[reason] += 1
        with_text += bool(str(record.get("text") or "").strip())
    return EvaluationSummary(since, total, stars, reasons, with_text)
