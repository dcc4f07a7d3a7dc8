"""Display mode (``kiosk run --mode display``): the hall board, with spoken calls.

The newest call fills the left half, highlighted for a few seconds when it arrives and spoken
by the Announcer; below it the recent calls (number → window). On the right, how many wait in
each category and for about how long. The board is read from the hall queue every
``[queue] poll_ms`` on the queue worker thread; while the hall queue is unreachable the last
board stays up with a line saying the board is reconnecting.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, Qt, QTimer
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from kiosk import queue as q
from kiosk.config import Config
from kiosk.i18n import pick, tr
from kiosk.ui import theme
from kiosk.ui.announcer import Announcer
from kiosk.ui.queue_services import QueueServices
from kiosk.ui.screen import clear_layout
from kiosk.ui.ticket_screen import minutes

HIGHLIGHT_MS = 8000  # how long a new call stays highlighted
DARK = "#0a1f3d"

STYLE = f"""
#board {{ background: {DARK}; }}
#board QLabel {{ color: white; }}
#boardTop {{ background: {theme.BLUE}; }}
#boardHall {{ font-size: 44px; font-weight: bold; }}
#boardClock {{ font-size: 36px; }}
#nowPanel {{ background: #12305c; border-radius: 24px; }}
#nowPanel[fresh="true"] {{ background: {theme.HIGHLIGHT_BG}; }}
#nowPanel[fresh="true"] QLabel {{ color: {DARK}; }}
#nowCaption {{ font-size: 40px; }}
#nowNumber {{ font-size: 220px; font-weight: bold; }}
#nowWindow {{ font-size: 90px; font-weight: bold; }}
#nowSentence {{ font-size: 40px; }}
#sectionHead {{ font-size: 36px; font-weight: bold; color: {theme.HIGHLIGHT_BG}; }}
#callCell {{ font-size: 52px; font-weight: bold; }}
#catLetter {{ font-size: 56px; font-weight: bold; color: {theme.HIGHLIGHT_BG}; }}
#catName {{ font-size: 28px; }}
#catCount {{ font-size: 52px; font-weight: bold; }}
#catWait {{ font-size: 28px; }}
#boardFooter {{ font-size: 28px; color: #c9d3e3; }}
#boardStatus {{ font-size: 30px; color: #ffb199; }}
"""


class DisplayWindow(QMainWindow):
    """The hall board. ``show_board(board)`` renders one answer of GET …/board."""

    def __init__(self, services: QueueServices, config: Config, announcer: Announcer) -> None:
        super().__init__()
        self.services = services
        self.config = config
        self.announcer = announcer
        self.lang = config.language
        self.board: dict | None = None
        self.last_seq: int | None = None  # None: first board, whose calls are not spoken
        self.names: dict[str, dict] = {}
        self.online = True
        self.fresh = False
        root = QWidget()
        root.setObjectName("board")
        root.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setCentralWidget(root)
        column = QVBoxLayout(root)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)

        top = QWidget()
        top.setObjectName("boardTop")
        top.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        top_row = QHBoxLayout(top)
        top_row.setContentsMargins(36, 14, 36, 14)
        self.hall = QLabel()
        self.hall.setObjectName("boardHall")
        self.clock = QLabel()
        self.clock.setObjectName("boardClock")
        top_row.addWidget(self.hall, 1)
        top_row.addWidget(self.clock)
        column.addWidget(top)

        body = QHBoxLayout()
        body.setContentsMargins(36, 28, 36, 18)
        body.setSpacing(40)
        column.addLayout(body, 1)
        left = QVBoxLayout()
        left.setSpacing(22)
        self.now_panel = QWidget()
        self.now_panel.setObjectName("nowPanel")
        self.now_panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        now = QVBoxLayout(self.now_panel)
        now.setContentsMargins(30, 20, 30, 24)
        self.now_caption = QLabel()
        self.now_caption.setObjectName("nowCaption")
        self.now_number = QLabel()
        self.now_number.setObjectName("nowNumber")
        self.now_window = QLabel()
        self.now_window.setObjectName("nowWindow")
        self.now_sentence = QLabel()
        self.now_sentence.setObjectName("nowSentence")
        self.now_sentence.setWordWrap(True)
        for label in (self.now_caption, self.now_number, self.now_window, self.now_sentence):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            now.addWidget(label)
        left.addWidget(self.now_panel, 3)
        self.recent_head = QLabel()
        self.recent_head.setObjectName("sectionHead")
        left.addWidget(self.recent_head)
        self.recent_grid = QGridLayout()
        self.recent_grid.setHorizontalSpacing(40)
        self.recent_grid.setVerticalSpacing(6)
        left.addLayout(self.recent_grid, 2)
        body.addLayout(left, 6)
        right = QVBoxLayout()
        right.setSpacing(12)
        self.waiting_head = QLabel()
        self.waiting_head.setObjectName("sectionHead")
        right.addWidget(self.waiting_head)
        self.category_grid = QGridLayout()
        self.category_grid.setHorizontalSpacing(20)
        self.category_grid.setVerticalSpacing(14)
        right.addLayout(self.category_grid)
        right.addStretch(1)
        body.addLayout(right, 4)

        self.status = QLabel()
        self.status.setObjectName("boardStatus")
        self.status.setContentsMargins(36, 0, 36, 0)
        column.addWidget(self.status)
        self.footer = QLabel()
        self.footer.setObjectName("boardFooter")
        self.footer.setContentsMargins(36, 6, 36, 16)
        self.footer.setWordWrap(True)
        column.addWidget(self.footer)

        self.setStyleSheet(theme.style_sheet(False) + STYLE)
        self.resize(1920, 1080)
        self.poll = QTimer(self)
        self.poll.setInterval(config.queue.poll_ms)
        self.poll.timeout.connect(self.refresh)
        self._polling = False
        self.fade = QTimer(self, singleShot=True, interval=HIGHLIGHT_MS)
        self.fade.timeout.connect(lambda: self._set_fresh(False))
        self.clock_timer = QTimer(self, interval=15_000)
        self.clock_timer.timeout.connect(self._update_clock)
        self.clock_timer.start()
        self.render()
        services.categories(self._got_names, lambda exc: None)
        self.poll.start()
        self.refresh()

    def _got_names(self, categories: list[q.Category]) -> None:
        self.names = {c.letter: c.name for c in categories}
        self.render()

    def refresh(self) -> None:
        """Ask the hall queue for the board (skipped while the last ask is still out)."""
        if self._polling:
            return
        self._polling = True
        self.services.board(self._got_board, self._board_failed)

    def _got_board(self, board: dict) -> None:
        self._polling = False
        self.online = True
        self.show_board(board)

    def _board_failed(self, exc: Exception) -> None:
        self._polling = False
        self.online = False
        self.render()

    def show_board(self, board: dict) -> None:
        """Render a board; calls newer than the last seen are spoken, the newest highlighted."""
        new = [c for c in board["calls"] if self.last_seq is not None and c["seq"] > self.last_seq]
        self.last_seq = max([self.last_seq or 0, board.get("seq", 0)])
        self.board = board
        for call in sorted(new, key=lambda c: c["seq"]):
            self.announcer.announce(call["number"], call["window"])
        if new:
            self._set_fresh(True)
            self.fade.start()
        self.render()

    def _set_fresh(self, fresh: bool) -> None:
        self.fresh = fresh
        # A string, not a Python bool: PySide6 6.12 crashed at exit (bool_dealloc) releasing a
        # dynamic property that held True.
        self.now_panel.setProperty("fresh", "true" if fresh else "false")
        self.now_panel.style().unpolish(self.now_panel)
        self.now_panel.style().polish(self.now_panel)
        for label in self.now_panel.findChildren(QLabel):
            label.style().unpolish(label)
            label.style().polish(label)

    def _update_clock(self) -> None:
        fmt = "yyyy-MM-dd  HH:mm" if self.lang == "en" else "yyyy年M月d日  HH:mm"
        self.clock.setText(QDateTime.currentDateTime().toString(fmt))

    def t(self, key: str, **values: object) -> str:
        return tr(key, self.lang, **values)

    def render(self) -> None:
        self.hall.setText(self.t("app.hall_name") + "  ·  " + self.t("display.title"))
        self._update_clock()
        self.recent_head.setText(self.t("display.recent"))
        self.waiting_head.setText(self.t("display.category") + " / " + self.t("display.waiting"))
        self.footer.setText(self.t("display.footer"))
        self.status.setText("" if self.online else self.t("display.offline"))
        self.status.setVisible(not self.online)
        calls = (self.board or {}).get("calls", [])
        first_calls = [c for c in calls if c["kind"] == "call"] or calls
        if calls:
            latest = calls[0]
            self.now_caption.setText(self.t("display.title"))
            self.now_number.setText(latest["number"])
            size = 220 if len(latest["number"]) <= 5 else 140
            self.now_number.setStyleSheet(f"font-size: {size}px;")
            self.now_window.setText("→ " + self.t("display.window_n", window=latest["window"]))
            self.now_sentence.setText(self.t("display.now_calling", number=latest["number"],
                                             window=latest["window"]))
        else:
            self.now_caption.setText(self.t("display.title"))
            self.now_number.setText("—")
            self.now_window.setText("")
            self.now_sentence.setText(self.t("display.none"))
        clear_layout(self.recent_grid)
        self.recent_cells: list[tuple[str, int]] = []
        shown = first_calls[1:1 + self.config.queue.board_calls]
        rows = (len(shown) + 1) // 2
        for i, call in enumerate(shown):
            cell = QLabel(f"{call['number']}  →  {call['window']}")
            cell.setObjectName("callCell")
            self.recent_grid.addWidget(cell, i % max(1, rows), i // max(1, rows))
            self.recent_cells.append((call["number"], call["window"]))
        clear_layout(self.category_grid)
        self.category_rows: dict[str, int] = {}
        for row, cat in enumerate((self.board or {}).get("categories", [])):
            letter = QLabel(cat["category"])
            letter.setObjectName("catLetter")
            name = QLabel(pick(self.names.get(cat["category"], {}), self.lang))
            name.setObjectName("catName")
            name.setWordWrap(True)
            count = QLabel(str(cat["waiting"]))
            count.setObjectName("catCount")
            count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            wait = QLabel(self.t("display.wait_minutes",
                                 minutes=minutes(cat["estimated_wait_s"])) if cat["waiting"]
                          else "")
            wait.setObjectName("catWait")
            for col, widget in enumerate((letter, name, count, wait)):
                self.category_grid.addWidget(widget, row, col)
            self.category_grid.setColumnStretch(1, 1)
            self.category_rows[cat["category"]] = cat["waiting"]
