"""Filing an application at the kiosk: identity → form → materials → pre-review → filed.

``ApplyFlow`` wires the five screens (kiosk.ui.apply_*) to the store worker (Services) and to
the devices (DeviceServices: card reader, capture, printer), like kiosk.ui.ticket_screen's
TicketFlow. The application is filed on the store thread in one transaction
(kiosk.prereview.file_reviewed, which pre-reviews again); only when that has committed is the
receipt sent to the printer, so a receipt never names an application that is not stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from kiosk import receipts
from kiosk.applications import progress_url
from kiosk.forms import FormSchema, fill_from_card, form_for_item
from kiosk.i18n import pick, tr
from kiosk.idnumbers import mask_resident_id
from kiosk.prereview import MaterialState, NotReady, PreReview, file_reviewed, prereview
from kiosk.ui.apply_done import DoneScreen
from kiosk.ui.apply_form import FormScreen
from kiosk.ui.apply_identity import IdentityScreen
from kiosk.ui.apply_materials import MaterialsScreen
from kiosk.ui.apply_review import ReviewScreen
from kiosk.ui.screen import Screen


class ApplyFlow(QObject):
    """``window`` needs show_screen, go_home, lang, config, services and a ``search`` screen."""

    def __init__(self, window: Any, services: Any) -> None:
        super().__init__(window)
        self.window, self.services = window, services
        self.identity = IdentityScreen()
        self.form = FormScreen()
        self.materials = MaterialsScreen()
        self.review = ReviewScreen()
        self.done = DoneScreen()
        self.screens: list[Screen] = [self.identity, self.form, self.materials, self.review,
                                      self.done]
        #: where scanned pages come from when capture is from image files (demo, tests): a
        #: function of the material index; None = the capture device scans (SANE).
        self.scan_paths: Callable[[int], list[Path]] | None = None
        self.today: date | None = None  # tests fix the day
        self.identity.read_requested.connect(self.read_card)
        self.identity.type_requested.connect(lambda: self._to_form(None))
        self.form.submitted.connect(self._form_done)
        self.materials.scan_requested.connect(self.scan)
        self.materials.done.connect(self.check)
        self.review.fix_form.connect(lambda: window.show_screen(self.form))
        self.review.fix_materials.connect(lambda: window.show_screen(self.materials))
        self.review.print_requested.connect(self.print_notice)
        self.review.file_requested.connect(self.file)
        self.done.finished.connect(window.go_home)
        self.clear()

    @property
    def devices(self) -> Any:
        return getattr(self.services, "devices", None)

    def clear(self) -> None:
        """Forget the visitor (idle reset, or a new application)."""
        self.item: dict | None = None
        self.schema: FormSchema | None = None
        self.card: Any = None
        self.answers: dict[str, str] = {}
        self.last_review: PreReview | None = None
        self.filing = False

    # --- the steps ---------------------------------------------------------------------------

    def start(self, item: dict) -> None:
        """Apply for ``item`` (the guide's "File an application" button)."""
        self.clear()
        for screen in self.screens:
            screen.clear()
        self.item, self.schema = item, form_for_item(item)
        self.form.today = self.today
        self.materials.show_materials(item["guide"]["materials"], self.devices is not None)
        self.identity.start(item["name"], self.devices is not None)
        self.window.show_screen(self.identity)

    def read_card(self) -> None:
        if self.devices is None:
            self.identity.show_problem("apply.identity.no_reader")
            return
        self.devices.read_card(self._card_read, self._card_failed)

    def _card_read(self, card: Any) -> None:
        self.identity.show_card(card.name, card.id_number)
        self._to_form(card)

    def _card_failed(self, exc: Exception) -> None:
        self.identity.show_problem(getattr(exc, "visitor_key", "apply.identity.no_reader"))

    def _to_form(self, card: Any) -> None:
        assert self.schema is not None
        self.card = card
        from_card = fill_from_card(self.schema, card) if card is not None else {}
        answers = {**self.answers, **from_card}
        self.form.show_form(self.schema, answers, set(from_card))
        self.window.show_screen(self.form)

    def _form_done(self, answers: dict) -> None:
        self.answers = answers
        self.window.show_screen(self.materials)

    def scan(self, index: int) -> None:
        if self.devices is None:
            self.materials.show_problem("apply.materials.no_scanner")
            return
        paths = self.scan_paths(index) if self.scan_paths is not None else None
        self.devices.capture_pages(
            paths, lambda pages: self.materials.add_pages(index, [p.path for p in pages]),
            lambda exc: self.materials.show_problem(getattr(exc, "visitor_key", "capture.failed")))

    def check(self) -> None:
        """Pre-review what the visitor has given (pure computation: no I/O, so on this thread)."""
        assert self.item is not None and self.schema is not None
        self.last_review = prereview(self.item, self.schema, self.answers,
                                     self.materials.state_list(), card=self.card,
                                     today=self.today)
        guide = self.item["guide"]["materials"]
        provided = [(guide[m.index]["name"], len(m.pages))
                    for m in self.materials.state_list() if m.provided]
        self.review.show_review(self.last_review, self.item["name"], provided)
        self.window.show_screen(self.review)

    def print_notice(self) -> None:
        """Print the one-time list of what is missing (一次性告知单), before anything is filed."""
        if self.last_review is None or self.item is None:
            return
        if self.devices is None:
            self.review.show_status("apply.review.not_printed", failed=True)
            return
        lang = self.window.lang
        doc = receipts.missing_materials_notice(
            hall_name=tr("app.hall_name", lang), application_no=tr("apply.review.no_number", lang),
            item_name=pick(self.item["name"], lang),
            applicant=receipts.mask_name(self.answers.get("name", "")),
            missing=[{"name": line} for line in self.last_review.lines(lang)],
            window=tr("apply.review.notice_window", lang, terminal=self.window.config.terminal_id),
            clerk=tr("apply.review.notice_clerk", lang), issued_at=date.today().isoformat(),
            phone=self.item["guide"]["phone"], query_url="", lang=lang)
        # Not an application number: a reference of its own, so a reprint finds this list.
        doc = receipts.Document(doc.kind, f"PRE-{uuid.uuid4().hex[:10]}", doc.lang, doc.lines)
        self.devices.print_receipt(
            doc, lambda outcome: self.review.show_status(
                "apply.review.printed" if outcome.printed else "apply.review.not_printed"),
            lambda exc: self.review.show_status("apply.review.not_printed"))

    def file(self) -> None:
        if self.filing or self.item is None:
            return  # one application per tap, however many taps
        self.filing = True
        item, answers, card = self.item, dict(self.answers), self.card
        states = self.materials.state_list()
        config, today = self.window.config, self.today
        blobs_dir = (self.devices.data_dir / "blobs") if self.devices is not None else None

        def job(db: Any) -> Any:
            return file_reviewed(db, config, item, answers, states, blobs_dir, card=card,
                                 today=today)

        self.services.worker.submit(job, lambda app: self._filed(app, item, states),
                                    self._file_failed)

    def _file_failed(self, exc: Exception) -> None:
        self.filing = False
        if self.item is None:
            return  # reset for the next visitor meanwhile: nothing was filed, nobody to tell
        if isinstance(exc, NotReady):
            self.last_review = exc.review
            self.review.show_review(exc.review, self.item["name"])
            return
        self.review.show_status("apply.review.failed", failed=True)

    def _filed(self, application: Any, item: dict, states: list[MaterialState]) -> None:
        """Stored and queued: now, and only now, the receipt.

        ``item`` and ``states`` are those that were filed: an idle reset while the store
        worked has cleared this flow, and the receipt still prints (the application exists).
        """
        self.filing = False
        days = item["guide"]["time_limit"]["committed_days"]
        if self.item is item:  # still this visitor's flow on screen
            self.done.show_filed(application.number, item["name"], days)
            self.window.show_screen(self.done)
            # Back from here goes home: the filed steps must not be walked again into a
            # second filing.
            self.window.history.clear()
        if self.devices is None:
            self.done.show_printed(False)
            return
        lang = self.window.lang
        doc = receipts.application_receipt(
            hall_name=tr("app.hall_name", lang), application_no=application.number,
            item_name=pick(item["name"], lang),
            applicant=receipts.mask_name(application.applicant.get("name", "")),
            id_number=mask_resident_id(application.applicant.get("id_number", "")),
            filed_at=datetime.fromisoformat(application.filed_at).astimezone()
            .strftime("%Y-%m-%d %H:%M"), time_limit_days=days,
            materials=receipt_materials(item, states, lang),
            query_url=progress_url(self.window.config.guide_url_template, application.number),
            phone=item["guide"]["phone"], lang=lang)
        self.devices.print_receipt(doc, lambda outcome: self.done.show_printed(outcome.printed),
                                   lambda exc: self.done.show_printed(False))
        # The visitor's data leaves this object once filed; the store has it now.
        self.card, self.answers = None, {}


def receipt_materials(item: dict, states: list[MaterialState], lang: str) -> list[dict[str, str]]:
    """The receipt's "materials received" lines: each material provided, and how."""
    out = []
    for state in states:
        if not state.provided:
            continue
        name = pick(item["guide"]["materials"][state.index]["name"], lang)
        note = (tr("apply.materials.pages", lang, n=len(state.pages)) if state.pages
                else tr("apply.materials.original_marked", lang))
        out.append({"name": name, "note": note})
    return out
