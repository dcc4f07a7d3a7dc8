"""Pre-review (预审): everything missing or wrong with an application, in one list (一次性告知).

The visitor learns it all at once, before filing, instead of one problem per trip to the counter:
form fields that are missing or wrong, required materials neither scanned nor marked as brought
to the counter, an ID card that has expired or is not valid yet, and the item's own rules.
The list is stored with the application (``wire()``) and can be printed (kiosk.receipts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kiosk.forms import FormSchema, validate_form
from kiosk.i18n import pick, tr
from kiosk.idnumbers import IdNumberError, parse_resident_id


@dataclass(frozen=True)
class MaterialState:
    """What the visitor did about one material of the guide (by its index in the guide)."""

    index: int
    pages: tuple[str, ...] = ()  # stored page files (paths or SHA-256)
    original_brought: bool = False  # "I will hand the original to the counter"

    @property
    def provided(self) -> bool:
        return bool(self.pages) or self.original_brought


@dataclass(frozen=True)
class Problem:
    """One line of the list: what (``kind`` and ``ref``), said through a ui.json key."""

    kind: str  # field | material | id_card | rule
    ref: str  # field name, material index, or rule type
    key: str
    label: dict = field(default_factory=dict)  # the field's or material's name, 3 languages
    values: dict = field(default_factory=dict)

    def message(self, lang: str) -> str:
        return tr(self.key, lang, label=pick(self.label, lang), **self.values)


@dataclass(frozen=True)
class PreReview:
    problems: list[Problem]
    values: dict[str, str]  # the cleaned form answers

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, lang: str) -> list[str]:
        return [p.message(lang) for p in self.problems]

    def wire(self) -> dict:
        """As stored with the application and sent to the platform."""
        return {"ok": self.ok, "problems": [
            {"kind": p.kind, "ref": p.ref, "key": p.key, "message": p.message("zh-Hans")}
            for p in self.problems]}


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def prereview(item: dict, schema: FormSchema, answers: dict[str, Any],
              materials: list[MaterialState], *, card: Any = None,
              today: date | None = None) -> PreReview:
    """Check the whole application and list every problem, in the order of the screens.

    ``card`` is the ID card read for this application (anything with ``valid_from`` and
    ``valid_until``), or None when the number was typed.
    """
    today = today or date.today()
    problems: list[Problem] = []
    result = validate_form(schema, answers, today=today)
    for error in result.errors:
        f = schema.field(error.field)
        problems.append(Problem("field", f.name, "prereview." + error.key, f.label, error.values))

    done = {m.index for m in materials if m.provided}
    for n, material in enumerate(item["guide"]["materials"]):
        if material["required"] and n not in done:
            problems.append(Problem("material", str(n), "prereview.material_missing",
                                    material["name"]))

    if card is not None:
        if getattr(card, "valid_until", None) is not None and card.valid_until < today:
            problems.append(Problem("id_card", "valid_until", "prereview.id_expired",
                                    values={"date": card.valid_until.isoformat()}))
        if card.valid_from > today:
            problems.append(Problem("id_card", "valid_from", "prereview.id_not_yet_valid",
                                    values={"date": card.valid_from.isoformat()}))

    for rule in schema.rules:
        if rule.get("type") == "min_age" and result.values.get("applicant_type", "person") == "person":
            try:
                born = parse_resident_id(result.values.get("id_number", ""), today=today).birth_date
            except IdNumberError:
                continue  # the ID number's own problem is already listed
            if _age(born, today) < int(rule["years"]):
                problems.append(Problem("rule", "min_age", "prereview.min_age",
                                        values={"years": int(rule["years"])}))
    return PreReview(problems, result.values)


class NotReady(Exception):
    """Filing was asked for while pre-review still lists problems."""

    def __init__(self, review: PreReview) -> None:
        super().__init__("; ".join(review.lines("en")))
        self.review = review


def material_entries(item: dict, materials: list[MaterialState]) -> list[dict]:
    """What file_application stores for the materials: one entry per scanned page (its file),
    one per original brought to the counter."""
    entries: list[dict] = []
    guide = item["guide"]["materials"]
    for state in sorted(materials, key=lambda m: m.index):
        name = guide[state.index]["name"]["zh-Hans"]
        for page, path in enumerate(state.pages, 1):
            entries.append({"material": name, "index": state.index, "page": page, "file": path})
        if state.original_brought and not state.pages:
            entries.append({"material": name, "index": state.index, "original_brought": True})
    return entries


def file_reviewed(db: Any, config: Any, item: dict, answers: dict[str, Any],
                  materials: list[MaterialState], blobs_dir: Any, *, card: Any = None,
                  today: date | None = None) -> Any:
    """Pre-review again (the screen's copy is not trusted) and file when nothing is wrong.

    Returns the kiosk.applications.Application; raises NotReady with the review otherwise.
    """
    from kiosk.applications import file_application
    from kiosk.forms import form_for_item

    review = prereview(item, form_for_item(item), answers, materials, card=card, today=today)
    if not review.ok:
        raise NotReady(review)
    values = review.values
    applicant = {k: values[k] for k in ("applicant_type", "name", "id_number", "phone",
                                         "company_name", "credit_code") if k in values}
    applicant["from_card"] = card is not None
    return file_application(db, config, item["code"], applicant, values,
                            material_entries(item, materials), blobs_dir,
                            prereview=review.wire())
