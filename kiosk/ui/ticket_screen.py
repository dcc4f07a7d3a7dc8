"""Take a number: pick a category (and, if known, the item), see the number, print the ticket.

``TicketScreen`` lists the queue categories with how many wait in each; tapping one shows its
items (or "just take a number"). ``TicketResultScreen`` shows the number large, people ahead,
the estimated wait and whether the ticket printed, and says so plainly when the hall queue
could not be reached and the number came from this kiosk's own block. ``TicketFlow`` wires them
(and the appointment and lookup screens of kiosk.ui.ticket_lookup) to QueueServices, so the
kiosk window needs only a few lines.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import queue as q
from kiosk.i18n import pick, tr
from kiosk.ui.screen import (
    Screen,
    clear_layout,
    list_button,
    title_label,
    touch_scroll_area,
    wrapped,
)
from kiosk.ui.theme import ACCENT, BLUE_DARK, TOUCH_MIN


def minutes(seconds: int | None) -> int:
    """Whole minutes for a visitor, rounded up (a wait is never "0 minutes" unless it is)."""
    return 0 if not seconds else max(1, -(-int(seconds) // 60))


def wait_text(ticket_ahead: int, wait_s: int | None, approximate: bool, lang: str) -> str:
    ahead = tr("ticket.ahead_approx" if approximate else "ticket.ahead", lang, n=ticket_ahead)
    if ticket_ahead == 0:
        return tr("ticket.wait_none", lang)
    return ahead + "\n" + tr("ticket.wait", lang, minutes=minutes(wait_s))


class TicketScreen(Screen):
    """Choose what you came for: a category, then an item of it (or any)."""

    name_key = "screen.ticket"
    take = Signal(str, str, object)  # category, item code ("" = any), item name dict
    appointment_requested = Signal()
    lookup_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.categories: list[q.Category] = []
        self.waiting: dict[str, int] = {}
        self.chosen: q.Category | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 20)
        layout.setSpacing(20)
        self.title = title_label()
        layout.addWidget(self.title)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)
        self.category_list = QWidget()
        self.category_layout = QVBoxLayout(self.category_list)
        self.category_layout.setSpacing(18)
        self.pages.addWidget(touch_scroll_area(self.category_list))
        self.item_list = QWidget()
        self.item_layout = QVBoxLayout(self.item_list)
        self.item_layout.setSpacing(16)
        self.pages.addWidget(touch_scroll_area(self.item_list))
        row = QGridLayout()
        row.setSpacing(24)
        self.appointment_button = QPushButton()
        self.lookup_button = QPushButton()
        for n, button in enumerate((self.appointment_button, self.lookup_button)):
            button.setObjectName("tile")
            button.setMinimumHeight(TOUCH_MIN + 60)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.addWidget(button, 0, n)
        self.appointment_button.clicked.connect(self.appointment_requested)
        self.lookup_button.clicked.connect(self.lookup_requested)
        layout.addLayout(row)
        self.category_buttons: dict[str, QPushButton] = {}
        self.item_buttons: list[QPushButton] = []

    def show_categories(self, categories: list[q.Category]) -> None:
        self.categories = categories
        self.chosen = None
        self.pages.setCurrentIndex(0)
        self.retranslate()

    def show_waiting(self, waiting: dict[str, int] | None) -> None:
        """Counts from the hall board (a category nobody waits in is absent: 0); None when
        the board could not be read (no counts shown)."""
        self.waiting = ({c.letter: waiting.get(c.letter, 0) for c in self.categories}
                        if waiting is not None else {})
        self._label_categories()  # texts only: a tap on a button in the meantime still counts

    def choose(self, letter: str) -> None:
        """Show the items of category ``letter``."""
        self.chosen = next(c for c in self.categories if c.letter == letter)
        self.pages.setCurrentIndex(1)
        self.retranslate()

    def back_to_categories(self) -> bool:
        """True when the item page was open and the category page is shown again."""
        if self.pages.currentIndex() == 1:
            self.chosen = None
            self.pages.setCurrentIndex(0)
            self.retranslate()
            return True
        return False

    def clear(self) -> None:
        self.chosen = None
        self.pages.setCurrentIndex(0)

    def retranslate(self) -> None:
        self.appointment_button.setText(self.t("ticket.appointment"))
        self.lookup_button.setText(self.t("ticket.find"))
        if self.chosen is None:
            self.title.setText(self.t("ticket.choose"))
        else:
            self.title.setText(f"{self.chosen.letter}  {pick(self.chosen.name, self.lang)}\n"
                               + self.t("ticket.choose_item"))
        self._render_categories()
        self._render_items()

    def _render_categories(self) -> None:
        if list(self.category_buttons) != [c.letter for c in self.categories]:
            clear_layout(self.category_layout)
            self.category_buttons = {}
            for cat in self.categories:
                button = list_button()
                button.setMinimumHeight(TOUCH_MIN + 40)
                button.clicked.connect(lambda _=False, letter=cat.letter: self.choose(letter))
                self.category_layout.addWidget(button)
                self.category_buttons[cat.letter] = button
            self.category_layout.addStretch(1)
        self._label_categories()

    def _label_categories(self) -> None:
        for cat in self.categories:
            text = f"{cat.letter}   {pick(cat.name, self.lang)}"
            if cat.letter in self.waiting:
                text += "   ·   " + self.t("ticket.category_waiting",
                                           waiting=self.waiting[cat.letter])
            self.category_buttons[cat.letter].setText(text)

    def _render_items(self) -> None:
        clear_layout(self.item_layout)
        self.item_buttons = []
        if self.chosen is None:
            return
        cat = self.chosen
        any_button = list_button(self.t("ticket.any_item"))
        any_button.setStyleSheet(f"font-weight: bold; color: {BLUE_DARK};")
        any_button.clicked.connect(lambda: self.take.emit(cat.letter, "", cat.name))
        self.item_layout.addWidget(any_button)
        self.item_buttons.append(any_button)
        for code, name in cat.items:
            button = list_button(pick(name, self.lang))
            button.clicked.connect(
                lambda _=False, code=code, name=name: self.take.emit(cat.letter, code, name))
            self.item_layout.addWidget(button)
            self.item_buttons.append(button)
        self.item_layout.addStretch(1)


class TicketResultScreen(Screen):
    """The number, how many are ahead, the wait, and whether the ticket printed."""

    name_key = "screen.ticket_result"
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.ticket: q.IssuedTicket | None = None
        self.item_name: dict = {}
        self.print_state = ""  # "" | printing | printed | failed
        self.problem: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 40, 60, 30)
        layout.setSpacing(22)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet(f"font-size: 40px; color: {BLUE_DARK}; font-weight: bold;")
        self.number = QLabel()
        self.number.setObjectName("ticketNumber")
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number.setStyleSheet(f"font-size: 200px; font-weight: bold; color: {ACCENT};")
        self.item = wrapped()
        self.item.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.item.setStyleSheet("font-size: 36px;")
        self.wait = wrapped()
        self.wait.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.wait.setStyleSheet(f"font-size: 44px; font-weight: bold; color: {BLUE_DARK};")
        self.slot = wrapped(object_name="hint")
        self.slot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.offline = wrapped(object_name="notice")
        self.printing = wrapped(object_name="hint")
        self.printing.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_button = QPushButton()
        self.done_button.setMinimumHeight(TOUCH_MIN + 20)
        self.done_button.clicked.connect(self.done)
        layout.addStretch(1)
        for widget in (self.caption, self.number, self.item, self.wait, self.slot, self.offline,
                       self.printing):
            layout.addWidget(widget)
        layout.addStretch(2)
        layout.addWidget(self.done_button)

    def show_issuing(self) -> None:
        self.ticket, self.problem, self.print_state = None, None, ""
        self.retranslate()

    def show_ticket(self, ticket: q.IssuedTicket, item_name: dict) -> None:
        self.ticket, self.item_name, self.problem = ticket, item_name, None
        self.print_state = "printing"
        self.retranslate()

    def show_printed(self, printed: bool) -> None:
        self.print_state = "printed" if printed else "failed"
        self.retranslate()

    def show_problem(self, exc: Exception) -> None:
        self.ticket = None
        self.problem = tr(exc.key if isinstance(exc, q.QueueError) else "queue.error.generic",
                          self.lang)
        self.retranslate()

    def clear(self) -> None:
        self.ticket, self.item_name, self.print_state, self.problem = None, {}, "", None
        self.retranslate()

    def retranslate(self) -> None:
        self.done_button.setText(self.t("ticket.done"))
        t = self.ticket
        for label in (self.slot, self.offline, self.printing, self.item):
            label.setVisible(False)
        if t is None:
            self.caption.setText(self.t("screen.ticket"))
            self.number.setText("")
            self.wait.setText(self.problem or self.t("ticket.issuing"))
            return
        self.caption.setText(self.t("ticket.your_number"))
        self.number.setText(t.number)
        # Offline numbers are longer (A-K01-003): a smaller size keeps them on one line.
        size = 200 if len(t.number) <= 5 else 120
        self.number.setStyleSheet(f"font-size: {size}px; font-weight: bold; color: {ACCENT};")
        if self.item_name:
            self.item.setText(self.t("ticket.item", name=pick(self.item_name, self.lang)))
            self.item.setVisible(True)
        self.wait.setText(wait_text(t.ahead, t.estimated_wait_s, t.approximate, self.lang))
        if t.reprint or t.slot_start:
            text = self.t("ticket.reprint") if t.reprint else ""
            if t.slot_start:
                text += ("\n" if text else "") + self.t(
                    "ticket.slot", start=_hhmm(t.slot_start), end=_hhmm(t.slot_end or ""))
            self.slot.setText(text)
            self.slot.setVisible(True)
        if t.offline:
            self.offline.setText(self.t("ticket.offline"))
            self.offline.setVisible(True)
        if self.print_state:
            key = {"printing": "ticket.printing", "printed": "ticket.printed",
                   "failed": "ticket.print_failed"}[self.print_state]
            self.printing.setText(self.t(key, number=t.number))
            self.printing.setVisible(True)


def _hhmm(iso_time: str) -> str:
    if not iso_time:
        return ""
    return datetime.fromisoformat(iso_time).astimezone().strftime("%H:%M")


class TicketFlow(QObject):
    """Wires the ticket screens to QueueServices and to the kiosk window's navigation.

    ``window`` needs ``show_screen(screen)``, ``go_home()``, ``lang``, ``config`` and a ``home``
    screen with a ``hint`` label (KioskWindow has them).
    """

    def __init__(self, window, queue_services) -> None:  # noqa: ANN001 (Qt objects)
        super().__init__(window)
        from kiosk.ui.ticket_lookup import AppointmentScreen, LookupScreen

        self.window = window
        self.services = queue_services
        self.choose = TicketScreen()
        self.result = TicketResultScreen()
        self.appointment = AppointmentScreen()
        self.lookup = LookupScreen()
        self.screens: list[Screen] = [self.choose, self.result, self.appointment, self.lookup]
        landscape = window.config.orientation == "landscape"
        self.appointment.set_landscape(landscape)
        self.lookup.set_landscape(landscape)
        self.choose.take.connect(self.take)
        self.choose.appointment_requested.connect(lambda: window.show_screen(self.appointment))
        self.choose.lookup_requested.connect(lambda: window.show_screen(self.lookup))
        self.appointment.submitted.connect(self.take_appointment)
        self.lookup.submitted.connect(self.find)
        self.result.done.connect(window.go_home)
        self.busy = False

    def start(self) -> None:
        """The "take a number" tile: categories first (from the catalog), then counts."""
        if self.services is None:
            self.window.home.show_coming_soon()
            return
        self.services.categories(self._show_categories, self._failed)

    def _show_categories(self, categories: list[q.Category]) -> None:
        self.choose.show_categories(categories)
        self.window.show_screen(self.choose)
        self.services.waiting_counts(self.choose.show_waiting, lambda exc: None)

    def take(self, category: str, item_code: str, item_name: dict) -> None:
        if self.busy:
            return  # a double tap must not take two numbers
        self.busy = True
        self.result.show_issuing()
        self.window.show_screen(self.result)
        self.services.issue(category, item_code or None, self.window.lang,
                            lambda t: self._issued(t, item_name), self._issue_failed)

    def take_appointment(self, code: str) -> None:
        if self.busy:
            return
        self.busy = True
        self.services.issue(None, None, self.window.lang,
                            lambda t: self._issued_appointment(t), self._appointment_failed,
                            appointment_code=code)

    def _issued_appointment(self, ticket: q.IssuedTicket) -> None:
        self.appointment.clear()
        self.window.show_screen(self.result)
        self._issued(ticket, {})

    def _appointment_failed(self, exc: Exception) -> None:
        self.busy = False
        self.appointment.show_problem(exc)

    def _issued(self, ticket: q.IssuedTicket, item_name: dict) -> None:
        self.busy = False
        self.result.show_ticket(ticket, item_name)
        lang = self.window.lang
        doc = q.ticket_document(ticket, hall_name=tr("app.hall_name", lang),
                                item_name=pick(item_name, lang), lang=lang)
        self.services.print_ticket(doc, self.result.show_printed,
                                   lambda exc: self.result.show_printed(False))

    def _issue_failed(self, exc: Exception) -> None:
        self.busy = False
        self.result.show_problem(exc)

    def find(self, number: str) -> None:
        self.services.lookup(number, self.lookup.show_answer, self.lookup.show_problem)

    def _failed(self, exc: Exception) -> None:
        self.window.show_error(exc)

    def back(self) -> bool:
        """The window's Back button: items → categories inside the ticket screen."""
        return self.window.stack.currentWidget() is self.choose and self.choose.back_to_categories()
