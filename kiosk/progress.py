"""Progress of an application, looked up by its number, and the visitor's evaluation (好差评).

Progress comes from the local store: the application and every status it had (kiosk.applications;
the sync agent adds the platform's statuses as they arrive). A visitor types the number on a
keypad without a hyphen key, so numbers match with or without hyphens and in any case.
The evaluation is 1-5 stars, reasons from a fixed list and a short free text, recorded as an
'evaluation' event and sent to the platform through the outbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from kiosk.applications import Application, get_application, record_event, status_history
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


def normalise_number(text: str) -> str:
    """'h0001k0120261207 0001' -> 'H0001K01202612070001' (hyphens, spaces and case ignored)."""
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def find_progress(db: sqlite_utils.Database, text: str) -> Progress | None:
    """The application whose number is ``text`` (hyphens optional), with its history; or None."""
    key = normalise_number(text)
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
                      terminal_id: str = "") -> str:
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
    return record_event(db, "evaluation", payload)


def progress_of_person(db: sqlite_utils.Database, id_number: str, *, limit: int = 20) -> list[Progress]:
    """The applications filed here by the holder of ``id_number`` (read from their own card),
    newest first: only that person's, never anyone else's."""
    number = id_number.strip().upper()
    if len(number) != 18:
        return []
    rows = db.execute(
        "SELECT id FROM applications WHERE json_extract(applicant, '$.id_number') = ? "
        "ORDER BY filed_at DESC LIMIT ?", [number, limit]).fetchall()
    found = []
    for (app_id,) in rows:
        application = get_application(db, app_id)
        assert application is not None
        found.append(Progress(application, status_history(db, app_id)))
    return found
