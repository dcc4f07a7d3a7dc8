"""Applying, step 4: pre-review (预审). Everything missing or wrong in one list (一次性告知),
which can be printed; filing is offered only when the list is empty."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import pick
from kiosk.prereview import PreReview
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area, wrapped


class ReviewScreen(Screen):
    name_key = "screen.apply_review"
    fix_form = Signal()
    fix_materials = Signal()
    print_requested = Signal()
    file_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.review: PreReview | None = None
        self.item_name: dict = {}
        self.status = ""  # ui.json key of what happened last (printing, filing, a failure)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 20, 30, 10)
        layout.setSpacing(14)
        self.title = title_label()
        self.item_label = wrapped(object_name="hint")
        self.summary = wrapped()
        self.notice = wrapped(object_name="notice")
        for w in (self.title, self.item_label, self.summary, self.notice):
            layout.addWidget(w)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setSpacing(10)
        layout.addWidget(touch_scroll_area(self.body), 1)
        grid = QGridLayout()
        grid.setSpacing(16)
        self.form_button = QPushButton()
        self.materials_button = QPushButton()
        self.print_button = QPushButton()
        self.file_button = QPushButton()
        self.file_button.setObjectName("tile")
        # The theme's tile has no disabled look; a greyed tile says "not yet" at a glance.
        self.file_button.setStyleSheet("QPushButton:disabled { background: #b0b8c4; }")
        self.form_button.clicked.connect(self.fix_form)
        self.materials_button.clicked.connect(self.fix_materials)
        self.print_button.clicked.connect(self.print_requested)
        self.file_button.clicked.connect(self._file)
        grid.addWidget(self.form_button, 0, 0)
        grid.addWidget(self.materials_button, 0, 1)
        grid.addWidget(self.print_button, 0, 2)
        grid.addWidget(self.file_button, 1, 0, 1, 3)
        layout.addLayout(grid)
        self.lines: list = []
        self.provided: list[tuple[dict, int]] = []

    def show_review(self, review: PreReview, item_name: dict,
                    provided: list[tuple[dict, int]] | None = None) -> None:
        """``provided``: (material name, pages scanned; 0 = original to the counter), listed
        under a clean review so the visitor sees what is being filed."""
        self.review, self.item_name, self.status = review, item_name, ""
        self.provided = provided or []
        self.file_button.setEnabled(review.ok)
        self.retranslate()

    def _file(self) -> None:
        self.file_button.setEnabled(False)  # a double tap must not file twice
        self.show_status("apply.review.filing")
        self.file_requested.emit()

    def show_status(self, key: str, *, failed: bool = False) -> None:
        self.status = key
        if failed and self.review is not None:
            self.file_button.setEnabled(self.review.ok)
        self.retranslate()

    def clear(self) -> None:
        self.review, self.item_name, self.status = None, {}, ""
        clear_layout(self.body_layout)
        self.lines = []

    def retranslate(self) -> None:
        self.title.setText(self.t("apply.review.title"))
        self.item_label.setText(pick(self.item_name, self.lang))
        self.form_button.setText(self.t("apply.review.fix_form"))
        self.materials_button.setText(self.t("apply.review.fix_materials"))
        self.print_button.setText(self.t("apply.review.print"))
        self.file_button.setText(self.t("apply.review.file"))
        self.notice.setText(self.t(self.status) if self.status else "")
        self.notice.setVisible(bool(self.status))
        clear_layout(self.body_layout)
        self.lines = []
        if self.review is None:
            return
        problems = self.review.lines(self.lang)
        self.print_button.setEnabled(bool(problems))
        self.summary.setText(self.t("apply.review.problems", n=len(problems)) if problems
                             else self.t("apply.review.ok"))
        for n, text in enumerate(problems, 1):
            line = wrapped(f"{n}. {text}", "guideText")
            line.setTextFormat(Qt.TextFormat.PlainText)  # form text is shown, never interpreted
            self.body_layout.addWidget(line)
            self.lines.append(line)
        if not problems:
            for name, pages in self.provided:
                note = (self.t("apply.materials.pages", n=pages) if pages
                        else self.t("apply.materials.original_marked"))
                self.body_layout.addWidget(wrapped(f"✓ {pick(name, self.lang)}（{note}）"
                                                   if self.lang != "en"
                                                   else f"✓ {pick(name, 'en')} ({note})",
                                                   "material"))
        self.body_layout.addStretch(1)
