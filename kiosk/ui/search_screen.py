"""Search: a big field, the touch keyboard, and results with the matched part highlighted.

Results follow the text as it is typed. Queries go to the store thread; an answer for text the
visitor has since changed is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.result_row import ResultRow
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area, wrapped

MAX_QUERY = 40  # longer text is never a service name; it only slows the visitor down


class SearchScreen(Screen):
    name_key = "screen.search"
    item_chosen = Signal(str)

    def __init__(self, run_search: Callable[[str, str, Callable], None]) -> None:
        super().__init__()
        self.run_search = run_search
        self.hits: list = []
        self.answered_query: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 20)
        layout.setSpacing(18)
        self.title = title_label()
        layout.addWidget(self.title)
        self.field = QLineEdit()
        self.field.setObjectName("searchField")
        self.field.setMaxLength(MAX_QUERY)
        # The keypad is the input; no system keyboard pops up on a touch panel.
        self.field.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.field.textChanged.connect(self._query_changed)
        layout.addWidget(self.field)
        self.status = wrapped(object_name="hint")
        layout.addWidget(self.status)
        self.results = QWidget()
        self.results_layout = QVBoxLayout(self.results)
        self.results_layout.setSpacing(14)
        self.results_layout.setContentsMargins(0, 0, 0, 0)
        # Portrait: results above the keyboard. Landscape: side by side, so results keep height.
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.body.setSpacing(18)
        self.body.addWidget(touch_scroll_area(self.results), 1)
        layout.addLayout(self.body, 1)
        self.keyboard = TouchKeyboard()
        self.keyboard.key_pressed.connect(self.field.insert)
        self.keyboard.backspace.connect(self.field.backspace)
        self.keyboard.cleared.connect(self.field.clear)
        self.body.addWidget(self.keyboard, 0)
        self.rows: list[ResultRow] = []

    def set_landscape(self, landscape: bool) -> None:
        self.body.setDirection(
            QBoxLayout.Direction.LeftToRight if landscape else QBoxLayout.Direction.TopToBottom
        )
        self.body.setStretch(0, 5 if landscape else 1)
        self.body.setStretch(1, 4 if landscape else 0)

    def _query_changed(self, text: str) -> None:
        query = text.strip()
        if not query:
            self.show_hits("", [])
            return
        self.run_search(query, self.lang, lambda hits, q=query: self.show_hits(q, hits))

    def show_hits(self, query: str, hits: list) -> None:
        if query != self.field.text().strip():
            return  # the visitor kept typing; a newer answer is on its way
        self.answered_query = query
        self.hits = hits
        self._render()

    def _render(self) -> None:
        clear_layout(self.results_layout)
        self.rows = []
        query = self.field.text().strip()
        if not query:
            self.status.setText(self.t("search.hint"))
        elif not self.hits:
            self.status.setText(self.t("search.none", query=query))
        else:
            self.status.setText(self.t("search.count", n=len(self.hits)))
        for hit in self.hits:
            meta = ""
            if hit.field != "name" and hit.matched_text:
                meta = self.t(f"search.matched_{hit.field}") + hit.matched_text
                offset = len(meta) - len(hit.matched_text)
                spans = tuple((a + offset, b + offset) for a, b in hit.snippet_spans)
            else:
                spans = ()
            row = ResultRow(hit.code, hit.name, hit.name_spans, meta, spans)
            row.chosen.connect(self.item_chosen)
            self.results_layout.addWidget(row)
            self.rows.append(row)
        self.results_layout.addStretch(1)

    def retranslate(self) -> None:
        self.title.setText(self.t("search.title"))
        self.field.setPlaceholderText(self.t("search.placeholder"))
        self.keyboard.set_language(self.lang)
        # Names are shown in the visitor's language: search again in the new one.
        if self.field.text().strip():
            self._query_changed(self.field.text())
        else:
            self._render()

    def clear(self) -> None:
        self.field.clear()
        self.hits = []
        self._render()
