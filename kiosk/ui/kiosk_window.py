"""The visitor's kiosk window: a top bar (language, large text), the screens, a bottom bar.

The window only wires screens together: screens emit what the visitor chose, the window asks
Services for the data on the store thread and shows the next screen when the answer comes.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import Config
from kiosk.i18n import LANGUAGES, tr
from kiosk.ui import theme
from kiosk.ui.apply_flow import ApplyFlow
from kiosk.ui.case_flow import CaseFlow
from kiosk.ui.departments import DepartmentsScreen
from kiosk.ui.guide import GuideScreen
from kiosk.ui.home import HomeScreen
from kiosk.ui.idle import CountdownOverlay, IdleGuard
from kiosk.ui.item_list import ItemListScreen
from kiosk.ui.screen import Screen
from kiosk.ui.search_screen import SearchScreen
from kiosk.ui.services import Services
from kiosk.ui.sync_status import SyncScheduler, SyncStatusMark
from kiosk.ui.ticket_screen import TicketFlow

LANGUAGE_LABELS = {"zh-Hans": "简", "zh-Hant": "繁", "en": "EN"}
SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}


class KioskWindow(QMainWindow):
    def __init__(self, services: Services, config: Config, idle_ms: int | None = None,
                 tick_ms: int = 1000) -> None:
        super().__init__()
        self.services = services
        self.config = config
        self.lang = config.language
        self.large_text = False
        self.history: list[Screen] = []

        central = QWidget()
        central.setObjectName("screenArea")
        self.setCentralWidget(central)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._top_bar())
        self.stack = QStackedWidget()
        column.addWidget(self.stack, 1)
        column.addWidget(self._nav_bar())

        self.home = HomeScreen()
        self.departments = DepartmentsScreen()
        self.item_list = ItemListScreen()
        self.search = SearchScreen(services.search)
        self.guide = GuideScreen(config.guide_url_template)
        self.screens: list[Screen] = [self.home, self.departments, self.item_list, self.search, self.guide]
        # Take a number: its screens and their wiring live in kiosk.ui.ticket_screen.
        self.tickets = TicketFlow(self, services.queue)
        self.screens += self.tickets.screens
        self.home.ticket_requested.connect(self.tickets.start)
        # File an application: search → guide → 申请办理 (kiosk.ui.apply_flow).
        self.applying = ApplyFlow(self, services)
        self.screens += self.applying.screens
        self.home.apply_requested.connect(self.start_application)
        self.guide.apply_requested.connect(self.applying.start)
        # Progress by application number, and the evaluation (kiosk.ui.case_flow).
        self.cases = CaseFlow(self, services)
        self.screens += self.cases.screens
        self.home.progress_requested.connect(self.cases.start_progress)
        self.home.evaluate_requested.connect(self.cases.start_evaluation)
        for screen in self.screens:
            self.stack.addWidget(screen)
        self.home.guides_requested.connect(self.open_departments)
        self.home.search_requested.connect(lambda: self.show_screen(self.search))
        self.departments.department_chosen.connect(self.open_department)
        self.item_list.item_chosen.connect(self.open_item)
        self.search.item_chosen.connect(self.open_item)
        self.home.set_columns(2 if config.orientation == "portrait" else 3)
        self.search.set_landscape(config.orientation == "landscape")

        self.idle = IdleGuard(idle_ms or config.idle_timeout_s * 1000, tick_ms, self)
        self.countdown = CountdownOverlay(central)
        self.idle.tick.connect(lambda s: self.countdown.show_seconds(s, self.lang))
        self.idle.timed_out.connect(self.reset_for_next_visitor)
        self.countdown.stay.clicked.connect(self.countdown.hide)

        self.clock_timer = QTimer(self, interval=15_000)
        self.clock_timer.timeout.connect(self._update_clock)
        self.clock_timer.start()
        # Sync rounds every [sync] interval_s, run on the sync worker (never on this thread).
        self.sync = SyncScheduler(services, config.sync.interval_s, self)
        self.sync.reported.connect(self.sync_mark.show_report)
        self.sync.start()
        self.resize(*SIZES[config.orientation])
        self.apply_style()
        self.set_language(self.lang)
        self.show_screen(self.home, remember=False)

    # --- chrome ----------------------------------------------------------------------------------

    def _top_bar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("topBar")
        bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(bar)
        row.setContentsMargins(24, 8, 24, 8)
        self.hall_title = QLabel()
        self.hall_title.setObjectName("hallTitle")
        # The title may wrap or shrink; it must never make the window wider than the screen.
        self.hall_title.setWordWrap(True)
        self.hall_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.clock = QLabel()
        self.clock.setObjectName("clock")
        title_column = QVBoxLayout()
        title_column.setSpacing(2)
        title_column.addWidget(self.hall_title)
        title_column.addWidget(self.clock)
        row.addLayout(title_column, 1)
        self.sync_mark = SyncStatusMark()  # online / offline since HH:MM / N waiting
        row.addWidget(self.sync_mark)
        self.language_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for lang in LANGUAGES:
            button = QPushButton(LANGUAGE_LABELS[lang])
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, lang=lang: self.set_language(lang))
            group.addButton(button)
            row.addWidget(button)
            self.language_buttons[lang] = button
        self.large_button = QPushButton()
        self.large_button.setCheckable(True)
        self.large_button.clicked.connect(self.set_large_text)
        row.addWidget(self.large_button)
        return bar

    def _nav_bar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("navBar")
        bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(bar)
        row.setContentsMargins(24, 10, 24, 10)
        row.setSpacing(24)
        self.back_button = QPushButton()
        self.home_button = QPushButton()
        self.back_button.clicked.connect(self.go_back)
        self.home_button.clicked.connect(self.go_home)
        row.addWidget(self.back_button, 1)
        row.addWidget(self.home_button, 1)
        self.nav_bar = bar
        return bar

    def _update_clock(self) -> None:
        fmt = "yyyy-MM-dd  HH:mm" if self.lang == "en" else "yyyy年M月d日  HH:mm"
        self.clock.setText(QDateTime.currentDateTime().toString(fmt))

    def apply_style(self) -> None:
        self.setStyleSheet(theme.style_sheet(self.large_text))

    # --- state -----------------------------------------------------------------------------------

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.language_buttons[lang].setChecked(True)
        self.hall_title.setText(tr("app.hall_name", lang))
        self.large_button.setText(tr("app.large_text", lang))
        self.back_button.setText(tr("nav.back", lang))
        self.home_button.setText(tr("nav.home", lang))
        self.setWindowTitle(tr("app.hall_name", lang))
        self._update_clock()
        self.sync_mark.set_language(lang)
        for screen in self.screens:
            screen.set_language(lang)

    def set_large_text(self, large: bool) -> None:
        self.large_text = large
        self.large_button.setChecked(large)
        self.apply_style()

    def show_screen(self, screen: Screen, remember: bool = True) -> None:
        current = self.stack.currentWidget()
        if remember and current is not None and current is not screen:
            self.history.append(current)
        self.stack.setCurrentWidget(screen)
        at_home = screen is self.home
        self.nav_bar.setVisible(not at_home)
        if at_home:
            self.history.clear()
        self.idle.set_active(not at_home)

    def go_back(self) -> None:
        if self.tickets.back():
            return
        if self.history:
            self.show_screen(self.history.pop(), remember=False)
        else:
            self.go_home()

    def go_home(self) -> None:
        self.show_screen(self.home, remember=False)

    def reset_for_next_visitor(self) -> None:
        """Idle reset: home, default language and text size, every screen wiped."""
        self.countdown.hide()
        for screen in self.screens:
            screen.clear()
        self.applying.clear()
        self.set_large_text(False)
        self.set_language(self.config.language)
        self.go_home()

    def start_application(self) -> None:
        """The "File an application" tile: find the item first; its guide has the button."""
        self.show_screen(self.search)
        self.search.status.setText(tr("home.apply_hint", self.lang))

    # --- navigation answered by the store thread -------------------------------------------------

    def open_departments(self) -> None:
        self.services.departments(self._show_departments, self.show_error)

    def _show_departments(self, departments: list) -> None:
        self.departments.show_departments(departments)
        self.show_screen(self.departments)

    def open_department(self, code: str) -> None:
        name = next((d.name for d in self.departments.departments if d.code == code), {})
        self.services.items_in_department(
            code, lambda items: self._show_items(name, items), self.show_error
        )

    def _show_items(self, name: dict, items: list) -> None:
        self.item_list.show_items(name, items)
        self.show_screen(self.item_list)

    def open_item(self, code: str) -> None:
        self.services.item(code, self._show_item, self.show_error)

    def _show_item(self, answer: tuple) -> None:
        item, department = answer
        if item is None:
            self.show_error(LookupError("item not in catalog"))
            return
        self.guide.show_item(item, department)
        self.show_screen(self.guide)

    def show_error(self, exc: Exception) -> None:
        # The visitor gets a plain sentence; the log (worker) has the details.
        self.home.hint.setText(tr("error.try_again", self.lang))
        self.go_home()

    #: kiosk.ui.lockdown.KioskLock when locked down (kiosk mode, full screen), else None
    lock = None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # Locked down, the window closes only after an admin's PIN (kiosk.ui.lockdown).
        if self.lock is not None and not self.lock.may_close():
            event.ignore()
            return
        super().closeEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.countdown.isVisible():
            self.countdown.setGeometry(self.centralWidget().rect())
