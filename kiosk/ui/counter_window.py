"""Counter mode (``kiosk run --mode counter``): a clerk signs in and calls visitors.

Sign-in: staff id and PIN (kiosk.staff, scrypt), the window number and the categories this
window serves. Then big buttons: call next, recall, no-show, finish, transfer, and start (the
visitor arrived); F1 … F6 do the same from a physical keyboard. Every action goes to the worker
thread of QueueServices (kiosk.queue.CounterDesk): the screen never waits for the network, and
a press while an action is in flight is ignored, so a double click never calls two visitors.
When the hall queue is unreachable the clerk keeps serving the visitor in front of them; the
actions are journaled and sent in order when the link is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import queue as q
from kiosk import staff
from kiosk.config import Config
from kiosk.i18n import pick, tr
from kiosk.ui import theme
from kiosk.ui.queue_services import QueueServices
from kiosk.ui.review_panel import ReviewPanel, ReviewServices
from kiosk.ui.screen import Screen, wrapped

log = logging.getLogger(__name__)

FLUSH_MS = 2000  # how often journaled actions are re-sent while the hall queue is away
ACTIONS = ("call_next", "recall", "no_show", "finish", "transfer", "start")
KEYS = {"call_next": "F1", "recall": "F2", "no_show": "F3", "finish": "F4", "transfer": "F5",
        "start": "F6"}
LABELS = {"call_next": "counter.call", "recall": "counter.recall", "no_show": "counter.no_show",
          "finish": "counter.finish", "transfer": "counter.transfer", "start": "counter.start"}

STYLE = f"""
#counterNumber {{ font-size: 150px; font-weight: bold; color: {theme.ACCENT}; }}
#counterState {{ font-size: 36px; font-weight: bold; color: {theme.BLUE_DARK}; }}
#counterInfo {{ font-size: 28px; }}
#counterHeader {{ font-size: 30px; font-weight: bold; color: white; }}
#counterBar {{ background: {theme.BLUE}; }}
#bigAction {{ font-size: 36px; min-height: 150px; }}
#callAction {{ font-size: 40px; min-height: 150px; background: {theme.BLUE}; color: white; }}
#callAction:disabled {{ background: #8797ad; color: #eceff3; }}
#tag {{ background: {theme.HIGHLIGHT_BG}; border-radius: 8px; padding: 4px 12px;
       font-size: 26px; font-weight: bold; }}
QLineEdit, QSpinBox {{ min-height: 80px; font-size: 34px; padding: 0 16px;
       border: 3px solid {theme.BLUE}; border-radius: 12px; background: white; }}
QSpinBox::up-button, QSpinBox::down-button {{ width: 60px; }}
"""


class SignInScreen(Screen):
    """Staff id, PIN, window number and categories."""

    signed_in = Signal(object, int, list)  # Clerk, window, categories

    def __init__(self, services: QueueServices, config: Config) -> None:
        super().__init__()
        self.services = services
        self.config = config
        self.category_boxes: dict[str, QCheckBox] = {}
        page = QHBoxLayout(self)
        box = QWidget()
        box.setMaximumWidth(1200)
        page.addWidget(box)
        outer = QVBoxLayout(box)
        outer.setContentsMargins(40, 60, 40, 40)
        outer.setSpacing(18)
        self.title = QLabel()
        self.title.setObjectName("screenTitle")
        outer.addWidget(self.title)
        form = QGridLayout()
        form.setHorizontalSpacing(24)
        form.setVerticalSpacing(18)
        self.staff_label, self.pin_label, self.window_label, self.cat_label = (
            QLabel(), QLabel(), QLabel(), QLabel())
        self.staff_field = QLineEdit()
        self.staff_field.setMaxLength(32)
        self.pin_field = QLineEdit()
        self.pin_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_field.setMaxLength(12)
        self.pin_field.returnPressed.connect(self.submit)
        self.window_field = QSpinBox()
        self.window_field.setRange(1, 999)
        self.window_field.setValue(config.queue.window)
        self.categories_row = QHBoxLayout()
        self.categories_row.setSpacing(18)
        for row, (label, field) in enumerate(((self.staff_label, self.staff_field),
                                              (self.pin_label, self.pin_field),
                                              (self.window_label, self.window_field))):
            form.addWidget(label, row, 0)
            form.addWidget(field, row, 1)
        form.addWidget(self.cat_label, 3, 0)
        form.addLayout(self.categories_row, 3, 1)
        outer.addLayout(form)
        self.submit_button = QPushButton()
        self.submit_button.clicked.connect(self.submit)
        outer.addWidget(self.submit_button)
        self.message = wrapped(object_name="notice")
        self.message.hide()
        outer.addWidget(self.message)
        outer.addStretch(1)
        self.busy = False

    def show_categories(self, categories: list[q.Category]) -> None:
        wanted = set(self.config.queue.categories.upper()) or {c.letter for c in categories}
        for cat in categories:
            box = QCheckBox(f"{cat.letter}")
            box.setToolTip(pick(cat.name, self.lang))
            box.setChecked(cat.letter in wanted)
            self.categories_row.addWidget(box)
            self.category_boxes[cat.letter] = box
        self.categories_row.addStretch(1)

    def submit(self) -> None:
        if self.busy:
            return
        chosen = [c for c, box in self.category_boxes.items() if box.isChecked()]
        if not chosen:
            self.show_message(self.t("counter.signin.need_category"))
            return
        self.busy = True
        window = self.window_field.value()
        self.services.sign_in(self.staff_field.text().strip(), self.pin_field.text(),
                              lambda clerk: self._done(clerk, window, chosen), self._failed)

    def _done(self, clerk: staff.Clerk, window: int, categories: list[str]) -> None:
        self.busy = False
        self.pin_field.clear()
        self.message.hide()
        self.signed_in.emit(clerk, window, categories)

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        self.pin_field.clear()
        key = exc.key if isinstance(exc, staff.StaffError) else "queue.error.generic"
        self.show_message(self.t(key))

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def clear(self) -> None:
        self.staff_field.clear()
        self.pin_field.clear()
        self.message.hide()

    def retranslate(self) -> None:
        self.title.setText(self.t("counter.signin.title"))
        self.staff_label.setText(self.t("counter.signin.staff"))
        self.pin_label.setText(self.t("counter.signin.pin"))
        self.window_label.setText(self.t("counter.signin.window"))
        self.cat_label.setText(self.t("counter.signin.categories"))
        self.submit_button.setText(self.t("counter.signin.submit"))


class DeskScreen(Screen):
    """The window's current visitor and the big buttons."""

    sign_out = Signal()
    review_requested = Signal()

    def __init__(self, services: QueueServices) -> None:
        super().__init__()
        self.services = services
        self.state: q.DeskState | None = None
        self.clerk: staff.Clerk | None = None
        self.window_no = 0
        self.categories: list[str] = []
        self.item_names: dict[str, dict] = {}
        self.waiting: dict[str, int] = {}
        self.busy = False
        self.note = ""  # the last message for the clerk (refusal, priority marked, ...)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        bar = QWidget()
        bar.setObjectName("counterBar")
        bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        bar_row = QHBoxLayout(bar)
        bar_row.setContentsMargins(24, 8, 24, 8)
        self.header = QLabel()
        self.header.setObjectName("counterHeader")
        bar_row.addWidget(self.header, 1)
        self.review_button = QPushButton()
        self.review_button.clicked.connect(self.review_requested)
        bar_row.addWidget(self.review_button)
        self.sign_out_button = QPushButton()
        self.sign_out_button.clicked.connect(self.sign_out)
        bar_row.addWidget(self.sign_out_button)
        outer.addWidget(bar)
        body = QHBoxLayout()
        body.setContentsMargins(32, 24, 32, 24)
        body.setSpacing(32)
        outer.addLayout(body, 1)

        left = QVBoxLayout()
        left.setSpacing(12)
        self.number = QLabel()
        self.number.setObjectName("counterNumber")
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label = QLabel()
        self.state_label.setObjectName("counterState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tags = QLabel()
        self.tags.setObjectName("tag")
        self.tags.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info = wrapped(object_name="counterInfo")
        self.status = wrapped(object_name="notice")
        self.waiting_label = wrapped(object_name="counterInfo")
        for widget in (self.number, self.state_label, self.tags, self.info):
            left.addWidget(widget)
        left.addStretch(1)
        left.addWidget(self.waiting_label)
        left.addWidget(self.status)
        priority_row = QHBoxLayout()
        self.priority_field = QLineEdit()
        self.priority_field.setMaxLength(16)
        self.priority_field.returnPressed.connect(self.mark_priority)
        self.priority_button = QPushButton()
        self.priority_button.clicked.connect(self.mark_priority)
        priority_row.addWidget(self.priority_field, 1)
        priority_row.addWidget(self.priority_button)
        left.addLayout(priority_row)
        body.addLayout(left, 3)

        right = QVBoxLayout()
        right.setSpacing(18)
        self.pages = QStackedWidget()
        buttons_page = QWidget()
        grid = QGridLayout(buttons_page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(18)
        self.buttons: dict[str, QPushButton] = {}
        places = {"call_next": (0, 0, 1, 2), "recall": (1, 0, 1, 1), "start": (1, 1, 1, 1),
                  "no_show": (2, 0, 1, 1), "finish": (2, 1, 1, 1), "transfer": (3, 0, 1, 2)}
        for action in ACTIONS:
            button = QPushButton()
            button.setObjectName("callAction" if action == "call_next" else "bigAction")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.clicked.connect(lambda _=False, a=action: self.press(a))
            grid.addWidget(button, *places[action])
            self.buttons[action] = button
        self.pages.addWidget(buttons_page)
        self.transfer_page = QWidget()
        self.transfer_layout = QVBoxLayout(self.transfer_page)
        self.transfer_layout.setSpacing(14)
        self.transfer_title = QLabel()
        self.transfer_title.setObjectName("counterState")
        self.transfer_layout.addWidget(self.transfer_title)
        self.transfer_grid = QGridLayout()
        self.transfer_grid.setSpacing(12)
        self.transfer_layout.addLayout(self.transfer_grid)
        window_row = QHBoxLayout()
        self.transfer_window = QSpinBox()
        self.transfer_window.setRange(1, 999)
        self.transfer_window_button = QPushButton()
        self.transfer_window_button.clicked.connect(
            lambda: self.transfer_to(None, self.transfer_window.value()))
        window_row.addWidget(self.transfer_window, 1)
        window_row.addWidget(self.transfer_window_button, 2)
        self.transfer_layout.addLayout(window_row)
        self.transfer_cancel = QPushButton()
        self.transfer_cancel.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        self.transfer_layout.addWidget(self.transfer_cancel)
        self.transfer_layout.addStretch(1)
        self.transfer_buttons: dict[str, QPushButton] = {}
        self.pages.addWidget(self.transfer_page)
        right.addWidget(self.pages, 1)
        body.addLayout(right, 4)

        self.flush_timer = QTimer(self)
        self.flush_timer.setInterval(FLUSH_MS)
        self.flush_timer.timeout.connect(self._flush)

    # --- set-up -----------------------------------------------------------------------------

    def start(self, clerk: staff.Clerk, window: int, categories: list[str],
              all_categories: list[str], item_names: dict[str, dict]) -> None:
        self.clerk, self.window_no, self.categories = clerk, window, categories
        self.item_names = item_names
        self.state, self.note = None, ""
        self.pages.setCurrentIndex(0)
        for button in self.transfer_buttons.values():
            button.setParent(None)
        self.transfer_buttons = {}
        for n, letter in enumerate(all_categories):
            button = QPushButton()
            button.clicked.connect(lambda _=False, c=letter: self.transfer_to(c, None))
            self.transfer_grid.addWidget(button, n // 4, n % 4)
            self.transfer_buttons[letter] = button
        self.busy = True
        self.services.open_desk(window, categories, clerk.staff_id, self._answered,
                                self._failed)
        self.retranslate()

    # --- actions ------------------------------------------------------------------------------

    def press(self, action: str) -> None:
        """A button or its F key. Ignored while the previous action is still in flight."""
        if self.busy or not self.buttons[action].isEnabled():
            return
        if action == "transfer":
            self.pages.setCurrentIndex(1)
            return
        self._send(action)

    def transfer_to(self, category: str | None, window: int | None) -> None:
        if self.busy:
            return
        self.pages.setCurrentIndex(0)
        self._send("transfer", category=category, window=window)

    def _send(self, action: str, **kwargs: Any) -> None:
        self.busy = True
        self.note = ""
        self._render_buttons()
        self.status.setText(self.t("counter.busy"))
        self.status.show()
        self.services.desk(action, self._answered, self._failed, **kwargs)

    def _answered(self, state: q.DeskState) -> None:
        self.busy = False
        self.state = state
        if state.refused:
            self.note = "; ".join(state.refused)
        if state.pending and not self.flush_timer.isActive():
            self.flush_timer.start()
        elif not state.pending:
            self.flush_timer.stop()
        self.retranslate()

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        key = exc.key if isinstance(exc, q.QueueError) else "queue.error.generic"
        self.note = self.t(key)
        self.retranslate()

    def _flush(self) -> None:
        if not self.busy:
            self.busy = True
            self.services.desk("flush", self._answered, self._failed)

    def mark_priority(self) -> None:
        number = self.priority_field.text().strip()
        if not number:
            return

        def done(ticket: dict) -> None:
            self.priority_field.clear()
            self.note = self.t("counter.priority_done", number=ticket["number"])
            self.retranslate()

        self.services.mark_priority(number, "elderly", done, self._failed)

    def show_waiting(self, board: dict) -> None:
        self.waiting = {c["category"]: c["waiting"] for c in board.get("categories", [])}
        self._render_waiting()

    # --- rendering ------------------------------------------------------------------------------

    def current(self) -> dict | None:
        return self.state.current if self.state else None

    def _render_buttons(self) -> None:
        t = self.current()
        st = t["state"] if t else None
        enabled = {"call_next": True, "recall": st == "called", "start": st == "called",
                   "no_show": st == "called", "finish": st in ("called", "serving"),
                   "transfer": st in ("called", "serving")}
        for action, button in self.buttons.items():
            button.setEnabled(enabled[action] and not self.busy)

    def _render_waiting(self) -> None:
        counts = "  ".join(f"{c} {n}" for c, n in sorted(self.waiting.items())
                           if c in self.categories)
        self.waiting_label.setText(self.t("counter.waiting_counts", counts=counts or "0"))

    def retranslate(self) -> None:
        if self.clerk is not None:
            self.header.setText(self.t("counter.window_label", window=self.window_no,
                                       name=self.clerk.name,
                                       categories="".join(self.categories)))
        self.sign_out_button.setText(self.t("counter.sign_out"))
        self.review_button.setText(self.t("counter.review"))
        for action, button in self.buttons.items():
            button.setText(self.t(LABELS[action]))
        self.transfer_title.setText(self.t("counter.transfer_title"))
        for letter, button in self.transfer_buttons.items():
            button.setText(self.t("counter.transfer_category", letter=letter))
        self.transfer_window_button.setText(self.t("counter.transfer_go"))
        self.transfer_cancel.setText(self.t("counter.cancel"))
        self.priority_button.setText(self.t("counter.priority"))
        self.priority_field.setPlaceholderText(self.t("counter.priority_hint"))
        t = self.current()
        if t is None:
            self.number.setText("—")
            self.state_label.setText(self.t("counter.nothing_waiting")
                                     if self.state and self.state.nothing_waiting
                                     else self.t("counter.no_ticket"))
            self.tags.hide()
            self.info.setText("")
        else:
            self.number.setText(t["number"])
            self.state_label.setText(self.t(f"counter.state.{t['state']}")
                                     if t["state"] in ("called", "serving") else t["state"])
            tags = []
            if t.get("priority"):
                tags.append(self.t("counter.tag.priority"))
            if t.get("slot_start"):
                start = datetime.fromisoformat(t["slot_start"]).astimezone().strftime("%H:%M")
                tags.append(self.t("counter.tag.appointment", start=start))
            if t.get("transferred_from"):
                tags.append(self.t("counter.tag.transfer"))
            self.tags.setText("  ·  ".join(tags))
            self.tags.setVisible(bool(tags))
            lines = []
            if t.get("item_code"):
                name = pick(self.item_names.get(t["item_code"], {}), self.lang) or t["item_code"]
                lines.append(self.t("counter.item", name=name))
            issued = datetime.fromisoformat(t["issued_at"])
            waited = ((datetime.fromisoformat(t["called_at"]) if t.get("called_at")
                       else datetime.now(UTC)) - issued).total_seconds()
            lines.append(self.t("counter.waited",
                                issued=issued.astimezone().strftime("%H:%M"),
                                minutes=max(0, int(waited // 60))))
            app = self.state.application if self.state else None
            if app:
                lines.append(self.t("counter.application", number=app.get("number", ""),
                                    status=app.get("status", ""),
                                    applicant=app.get("applicant", "")))
            self.info.setText("\n".join(lines))
        status = []
        if self.state and (self.state.offline or self.state.pending):
            status.append(self.t("counter.offline", n=self.state.pending))
        if self.note:
            status.append(self.note)
        self.status.setText("\n".join(status))
        self.status.setVisible(bool(status))
        self._render_waiting()
        self._render_buttons()


class CounterWindow(QMainWindow):
    """Sign-in, then the desk. Polls the hall board for the waiting counts."""

    def __init__(self, services: QueueServices, config: Config) -> None:
        super().__init__()
        self.services = services
        self.config = config
        self.lang = config.language
        self.categories: list[q.Category] = []
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.signin = SignInScreen(services, config)
        self.desk = DeskScreen(services)
        self.stack.addWidget(self.signin)
        self.stack.addWidget(self.desk)
        self.review = ReviewPanel(ReviewServices(services, config))
        self.stack.addWidget(self.review)
        self.signin.signed_in.connect(self._signed_in)
        self.desk.sign_out.connect(self.sign_out)
        self.desk.review_requested.connect(self.open_review)
        self.review.closed.connect(lambda: self.stack.setCurrentWidget(self.desk))
        self.shortcuts: dict[str, QShortcut] = {}
        for action, key in KEYS.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda a=action: self._shortcut(a))
            self.shortcuts[action] = shortcut
        self.poll = QTimer(self)
        self.poll.setInterval(config.queue.poll_ms)
        self.poll.timeout.connect(self._poll)
        self._polling = False
        self.setStyleSheet(theme.style_sheet(False) + STYLE)
        self.setWindowTitle(tr("counter.title", self.lang))
        self.resize(1600, 1000)
        for screen in (self.signin, self.desk, self.review):
            screen.set_language(self.lang)
        services.categories(self._got_categories, lambda exc: log.error("catalog: %s", exc))

    def _got_categories(self, categories: list[q.Category]) -> None:
        self.categories = categories
        self.signin.show_categories(categories)

    def _signed_in(self, clerk: staff.Clerk, window: int, categories: list[str]) -> None:
        names = {code: name for cat in self.categories for code, name in cat.items}
        self.desk.start(clerk, window, categories, [c.letter for c in self.categories], names)
        self.stack.setCurrentWidget(self.desk)
        self.poll.start()
        self._poll()

    def open_review(self) -> None:
        """The review panel, opening the current ticket's application if it has one."""
        app = self.desk.state.application if self.desk.state else None
        clerk = self.desk.clerk
        self.review.start(f"{clerk.name} ({clerk.staff_id})" if clerk else "", self.desk.window_no,
                          (app or {}).get("number", ""))
        self.stack.setCurrentWidget(self.review)

    def sign_out(self) -> None:
        self.poll.stop()
        self.desk.flush_timer.stop()
        self.services.close_desk()
        self.signin.clear()
        self.stack.setCurrentWidget(self.signin)

    def _shortcut(self, action: str) -> None:
        if self.stack.currentWidget() is self.desk:
            self.desk.press(action)

    def _poll(self) -> None:
        if self._polling:
            return  # the last poll is still out (a slow link): never pile them up
        self._polling = True

        def done(board: dict) -> None:
            self._polling = False
            self.desk.show_waiting(board)

        def failed(exc: Exception) -> None:
            self._polling = False

        self.services.board(done, failed)


def run_queue_mode(mode: str, open_db: Callable[[], Any], config: Config, data_dir: Path, *,
                   windowed: bool = False) -> int:
    """``kiosk run --mode counter|display``."""
    from kiosk.ui.app import make_app
    from kiosk.ui.queue_services import queue_services_for

    app = make_app()
    services = queue_services_for(config, data_dir, open_db)
    if mode == "counter":
        window: QMainWindow = CounterWindow(services, config)
    else:
        from kiosk.ui.announcer import Announcer
        from kiosk.ui.display_window import DisplayWindow

        window = DisplayWindow(services, config, Announcer.for_config(config))
    if config.fullscreen and not windowed:
        window.showFullScreen()
    else:
        window.show()
    try:
        return app.exec()
    finally:
        services.shutdown()
