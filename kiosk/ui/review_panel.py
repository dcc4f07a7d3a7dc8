"""The counter's review panel (窗口审核): open a filed application, see it, decide.

The clerk types or scans (a receipt QR scanner types like a keyboard) the application number or
the receipt's progress URL, sees the form answers and every material with a thumbnail of each
scanned page (tap to enlarge), and accepts, returns with the missing materials (the thermal
一次性告知单 prints) or rejects with a reason. Once accepted or returned, the A4 notice (受理通知书
or 一次性告知书) prints on the A4 printer in the language the clerk picks.
Every lookup and decision runs on the queue worker thread (kiosk.review), never on this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk import catalog, forms, receipts, review, review_docs
from kiosk.applications import Application
from kiosk.config import Config
from kiosk.i18n import pick, tr
from kiosk.retention import purged_at
from kiosk.ui.scan_viewer import ScanViewer, thumb_button
from kiosk.ui.screen import Screen, clear_layout, touch_scroll_area, wrapped

Done = Callable[[Any], None]
Failed = Callable[[Exception], None]


@dataclass(frozen=True)
class Opened:
    """An application as the panel shows it, with its item's names from the catalog."""

    application: Application
    item: dict | None
    pages: tuple[review_docs.ScanPage, ...] = ()  # scanned pages with their thumbnails
    # stored (zh-Hans) material name -> its name by language (kiosk.review_docs.material_names)
    material_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def material(self, name: str, lang: str) -> str:
        """A stored material name as the clerk reads it in ``lang``."""
        return (self.material_names.get(name) or {}).get(lang) or name


class ReviewServices:
    """Review calls for the panel, on the queue services' worker (its own store connection)."""

    def __init__(self, queue_services: Any, config: Config) -> None:
        self.queue = queue_services
        self.config = config

    def open(self, text: str, on_done: Done, on_error: Failed) -> None:
        def job(ctx: Any) -> Opened | None:
            found = review.find(ctx.db, text)
            if found is None:
                return None
            item = catalog.get_item(ctx.db, found.item_code)
            guide = [pick(m.get("name", {}), "zh-Hans")
                     for m in ((item or {}).get("guide") or {}).get("materials", [])]
            stored = [str(m.get("material", "")) for m in found.materials]
            return Opened(found, item, tuple(review_docs.scan_pages(ctx.db, found)),
                          review_docs.material_names(item, [*stored, *guide]))
        self.queue.worker.submit(job, on_done, on_error)

    def page_image(self, sha256: str, on_done: Done, on_error: Failed) -> None:
        """One page, decrypted and scaled for the viewer, made on the worker thread."""
        self.queue.worker.submit(
            lambda ctx: review_docs.page_preview(ctx.db, sha256, review_docs.VIEW_PX),
            on_done, on_error)

    def print_a4(self, application_id: str, lang: str, on_done: Done, on_error: Failed) -> None:
        """The A4 notice of the application's current status, to the A4 printer."""
        def job(ctx: Any) -> str:
            from kiosk.applications import get_application

            application = get_application(ctx.db, application_id)
            if application is None:
                raise review.ReviewError(f"no application {application_id!r} here")
            return review_docs.print_notice(ctx.db, application, self.config, lang)
        self.queue.worker.submit(job, on_done, on_error)

    def decide(self, application_id: str, decision: str, clerk: str, missing: list[str],
               reason: str, decision_id: str, on_done: Done, on_error: Failed) -> None:
        def job(ctx: Any) -> review.Decision:
            return review.decide(ctx.db, application_id, decision, clerk, missing, reason,
                                 decision_id=decision_id)
        self.queue.worker.submit(job, on_done, on_error)

    def print_notice(self, opened: Opened, made: review.Decision, window: int, lang: str,
                     on_done: Done, on_error: Failed) -> None:
        """Print the 一次性告知单 of a return through the counter's printer."""
        item = opened.item or {}
        guide = item.get("guide") or {}
        lines = [{"name": opened.material(m, lang)} for m in made.missing] or [
            {"name": made.reason}]
        doc = receipts.missing_materials_notice(
            hall_name=tr("app.hall_name", lang), application_no=made.number,
            item_name=pick(item.get("name", {}), lang) or opened.application.item_code,
            applicant=receipts.mask_name(str(opened.application.applicant.get("name", ""))),
            missing=lines, window=tr("review.window", lang, window=window), clerk=made.clerk,
            issued_at=date.today().isoformat(), phone=str(guide.get("phone", "")),
            query_url="", lang=lang)
        # One receipt number per decision, so a reprint finds this notice, not the receipt.
        doc = receipts.Document(doc.kind, f"{made.number}-R{made.decision_id[:8]}", doc.lang,
                                doc.lines)
        self.queue.print_ticket(doc, on_done, on_error)


class ReviewPanel(Screen):
    """Open by number or QR, look, decide. ``closed`` asks the window to go back to the desk."""

    closed = Signal()

    def __init__(self, services: ReviewServices) -> None:
        super().__init__()
        self.services = services
        self.clerk = ""
        self.window_no = 0
        self.opened: Opened | None = None
        self.busy = False
        self.pending_id = ""  # the decision in flight: a retry of it reuses its id
        self.missing_boxes: dict[str, QCheckBox] = {}
        # Decision buttons lower than the desk's 150 px, so the panel fits 1080 px in height.
        self.setStyleSheet("#bigAction { min-height: 96px; }")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 20, 32, 20)
        outer.setSpacing(12)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("counterState")
        top.addWidget(self.title, 1)
        self.back_button = QPushButton()
        self.back_button.clicked.connect(self.closed)
        self.a4_row = QHBoxLayout()  # filled below, beside the title: the list below needs room
        top.addLayout(self.a4_row)
        top.addSpacing(24)
        top.addWidget(self.back_button)
        outer.addLayout(top)
        find_row = QHBoxLayout()
        self.number_field = QLineEdit()
        self.number_field.setMaxLength(300)
        self.number_field.returnPressed.connect(self.open_typed)
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.open_typed)
        find_row.addWidget(self.number_field, 1)
        find_row.addWidget(self.open_button)
        outer.addLayout(find_row)
        self.summary = wrapped(object_name="counterInfo")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # visitor text is never markup
        outer.addWidget(self.summary)
        body = QHBoxLayout()
        body.setSpacing(24)
        details = QWidget()
        self.details = QVBoxLayout(details)
        self.details.setSpacing(6)
        body.addWidget(touch_scroll_area(details), 3)
        decide_box = QVBoxLayout()
        self.missing_title = QLabel()
        decide_box.addWidget(self.missing_title)
        missing = QWidget()
        self.missing_list = QVBoxLayout(missing)
        self.missing_list.setContentsMargins(0, 0, 0, 0)
        # A long material list scrolls; the decision buttons stay on a 1080-high screen.
        decide_box.addWidget(touch_scroll_area(missing), 1)
        self.reason_field = QLineEdit()
        self.reason_field.setMaxLength(review.REASON_MAX)
        decide_box.addWidget(self.reason_field)
        self.buttons: dict[str, QPushButton] = {}
        for decision in review.DECISIONS:
            button = QPushButton()
            button.setObjectName("bigAction")
            button.clicked.connect(lambda _=False, d=decision: self.decide(d))
            decide_box.addWidget(button)
            self.buttons[decision] = button
        # The A4 notice, in the language the visitor reads (language names in their own script).
        a4_row = self.a4_row
        self.notice_lang = "zh-Hans"
        self.notice_lang_buttons: dict[str, QPushButton] = {}
        for lang, label in (("zh-Hans", "简体"), ("zh-Hant", "繁體"), ("en", "EN")):
            button = QPushButton(label)
            button.setCheckable(True)
            button.setStyleSheet("QPushButton:checked { background: #0b4f9c; color: white; }")
            button.clicked.connect(lambda _=False, lg=lang: self._pick_notice_lang(lg))
            a4_row.addWidget(button)
            self.notice_lang_buttons[lang] = button
        self.print_a4_button = QPushButton()
        self.print_a4_button.clicked.connect(self.print_a4)
        a4_row.addWidget(self.print_a4_button)
        self._pick_notice_lang("zh-Hans")
        self.printing = False
        body.addLayout(decide_box, 2)
        outer.addLayout(body, 1)
        self.message = wrapped(object_name="notice")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()
        outer.addWidget(self.message)
        self.viewer = ScanViewer(self, lambda *args: self.services.page_image(*args))
        self._render()

    def start(self, clerk: str, window_no: int, number: str = "") -> None:
        """Show the panel for this clerk; open ``number`` at once when the ticket has one."""
        self.clerk, self.window_no = clerk, window_no
        self.opened = None
        self.message.hide()
        self.number_field.setText(number)
        self._render()
        if number:
            self.open_typed()

    # --- actions ------------------------------------------------------------------------------

    def open_typed(self) -> None:
        text = self.number_field.text().strip()
        if not text or self.busy:
            return
        self.busy = True
        self._render_buttons()
        self.services.open(text, self._opened, self._failed)

    def _pick_notice_lang(self, lang: str) -> None:
        self.notice_lang = lang
        for code, button in self.notice_lang_buttons.items():
            button.setChecked(code == lang)

    def print_a4(self) -> None:
        if self.opened is None or self.printing:
            return
        self.printing = True
        self._render_buttons()
        self.services.print_a4(self.opened.application.id, self.notice_lang, self._a4_printed,
                               self._a4_failed)

    def _a4_printed(self, job: str) -> None:
        self.printing = False
        self.show_message(self.t("review.a4_printed", job=job))
        self._render_buttons()

    def _a4_failed(self, exc: Exception) -> None:
        self.printing = False
        self.show_message(self.t("review.a4_failed", detail=str(exc)))
        self._render_buttons()

    def open_page(self, index: int) -> None:
        """Enlarge scanned page ``index`` over the whole panel."""
        if self.opened is not None:
            self.viewer.open(list(self.opened.pages), index,
                             self.lang)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.viewer.isVisible():
            self.viewer.setGeometry(self.rect())

    def _opened(self, opened: Opened | None) -> None:
        self.busy = False
        self.viewer.hide()
        self.opened = opened
        self.pending_id = ""
        if opened is None:
            self.show_message(self.t("review.not_found"))
        else:
            self.message.hide()
        self._render()

    def decide(self, decision: str) -> None:
        if self.busy or self.opened is None:
            return
        missing = [name for name, box in self.missing_boxes.items() if box.isChecked()]
        self.busy = True
        self.pending_id = self.pending_id or str(uuid.uuid4())
        self._render_buttons()
        self.services.decide(self.opened.application.id, decision, self.clerk, missing,
                             self.reason_field.text(), self.pending_id, self._decided,
                             self._failed)

    def _decided(self, made: review.Decision) -> None:
        self.busy = False
        self.pending_id = ""
        opened = self.opened
        self.show_message(self.t(f"review.done.{made.decision}", number=made.number))
        if made.decision == "return" and opened is not None:
            self.services.print_notice(
                opened, made, self.window_no, self.lang,
                lambda ok: self.show_message(self.t("review.done.return", number=made.number)
                                             + " " + self.t("review.printed" if ok
                                                            else "review.not_printed")),
                lambda exc: self.show_message(self.t("review.not_printed")))
        self.number_field.setText(made.number)
        self.open_typed()  # show the new status, straight from the store

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        if isinstance(exc, review.ReviewError):
            self.pending_id = ""  # refused for good: the next try is a new decision
            self.show_message(self.t("review.refused", detail=str(exc)))
        else:
            self.show_message(self.t("queue.error.generic"))
        self._render_buttons()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    # --- rendering ------------------------------------------------------------------------------

    def _render_buttons(self) -> None:
        status = self.opened.application.status if self.opened else None
        if self.opened and purged_at(self.opened.application):
            status = None  # nothing left here to decide on
        for button in self.buttons.values():
            button.setEnabled(not self.busy and status is not None and status not in review.FINAL)
        self.open_button.setEnabled(not self.busy)
        self.print_a4_button.setEnabled(not self.busy and not self.printing
                                        and status in ("accepted", "returned"))

    def _render(self) -> None:
        clear_layout(self.details)
        clear_layout(self.missing_list)
        self.missing_boxes = {}
        self.reason_field.clear()
        if self.opened is None:
            self.summary.setText(self.t("review.hint"))
            self._render_buttons()
            return
        app, item = self.opened.application, self.opened.item or {}
        status = self.t(f"review.status.{app.status}") if app.status in (
            "filed", *review.DECISIONS.values()) else app.status
        self.summary.setText(self.t(
            "review.summary", number=app.number,
            item=pick(item.get("name", {}), self.lang) or app.item_code, status=status,
            applicant=str(app.applicant.get("name", "")), filed=app.filed_at[:16]))
        if purged := purged_at(app):  # kiosk.retention: only the number and history remain
            self._add_line(self.t("retention.purged", at=purged[:16].replace("T", " ")))
            self.details.addStretch(1)
            self._render_buttons()
            return
        self._add_heading("review.form")
        labels = self._field_labels(item)
        for key, value in app.form.items():
            self._add_line(f"{labels.get(key, key)}：{value}")
        self._add_heading("review.materials")
        pages = {p.sha256: n for n, p in enumerate(self.opened.pages)}
        for at, material in enumerate(app.materials):
            if material.get("sha256"):
                scan = self.t("review.scan", page=material.get("page", 1),
                              size=max(1, int(material.get("size", 0)) // 1024),
                              sha=material["sha256"][:12])
            elif material.get("original_brought"):
                scan = self.t("review.original")
            else:
                scan = self.t("review.no_scan")
            self._add_line(f"{self.opened.material(material['material'], self.lang)}：{scan}")
            following = app.materials[at + 1]["material"] if at + 1 < len(app.materials) else None
            if following != material["material"]:  # the material's last line: its thumbnails
                self._add_thumbs([pages[m["sha256"]] for m in app.materials
                                  if m["material"] == material["material"]
                                  and m.get("sha256") in pages])
        # Every material the guide asks for; those nothing was received for come pre-ticked.
        received = {m["material"] for m in app.materials
                    if m.get("sha256") or m.get("original_brought")}
        guide = [pick(m.get("name", {}), "zh-Hans")
                 for m in (item.get("guide") or {}).get("materials", [])]
        for name in dict.fromkeys([*guide, *(m["material"] for m in app.materials)]):
            if not name:
                continue
            box = QCheckBox(self.opened.material(name, self.lang))  # keyed by the stored name
            box.setChecked(name not in received)
            self.missing_list.addWidget(box)
            self.missing_boxes[name] = box
        self.missing_list.addStretch(1)
        self.details.addStretch(1)  # lines at the top, not spread over the height
        self._render_buttons()

    def _field_labels(self, item: dict) -> dict[str, str]:
        """The form's field titles in this language; raw field names if the item has no form."""
        if not item:
            return {}
        try:
            return {f.name: f.title(self.lang) for f in forms.form_for_item(item).fields}
        except forms.FormSchemaError:
            return {}

    def _add_thumbs(self, indexes: list[int]) -> None:
        """A grid of the page thumbnails of one material; a tap enlarges that page."""
        if not indexes:
            return
        grid = QGridLayout()
        grid.setSpacing(10)
        for n, index in enumerate(indexes):
            button = thumb_button(self.opened.pages[index], self.lang)
            button.clicked.connect(lambda _=False, i=index: self.open_page(i))
            grid.addWidget(button, n // 4, n % 4, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(4, 1)
        self.details.addLayout(grid)

    def _add_heading(self, key: str) -> None:
        label = QLabel(self.t(key))
        label.setObjectName("counterState")
        self.details.addWidget(label)

    def _add_line(self, text: str) -> None:
        label = wrapped(object_name="counterInfo")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setText(text)
        self.details.addWidget(label)

    def retranslate(self) -> None:
        self.title.setText(self.t("review.title"))
        self.back_button.setText(self.t("review.back"))
        self.open_button.setText(self.t("review.open"))
        self.number_field.setPlaceholderText(self.t("review.number_hint"))
        self.missing_title.setText(self.t("review.missing"))
        self.reason_field.setPlaceholderText(self.t("review.reason"))
        for decision, button in self.buttons.items():
            button.setText(self.t(f"review.{decision}"))
        self.print_a4_button.setText(self.t("review.print_a4"))
        if self.opened is None:
            self.summary.setText(self.t("review.hint"))
        else:  # names and labels in the new language; the clerk's ticks and reason stay
            ticked = {name: box.isChecked() for name, box in self.missing_boxes.items()}
            reason = self.reason_field.text()
            self._render()
            for name, box in self.missing_boxes.items():
                box.setChecked(ticked.get(name, box.isChecked()))
            self.reason_field.setText(reason)
