"""Admin page "好差评": how visitors rated the service here over today, 7 or 30 days.

The figures are kiosk.progress.evaluation_summary over the local store (counted on the store
thread); the bars are painted with QPainter, so the page needs nothing beyond QtGui.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import tr
from kiosk.progress import GOOD_REASONS, PERIOD_DAYS, REASONS, EvaluationSummary
from kiosk.ui import theme
from kiosk.ui.admin_window import AdminContext
from kiosk.ui.theme import TOUCH_MIN

GOOD = "#2b8a3e"
STAR_COLOURS = {1: theme.ACCENT, 2: "#e8590c", 3: "#f08c00", 4: "#5c940d", 5: GOOD}


class HorizontalBars(QWidget):
    """A title and one labelled bar per row; ``rows`` are (label, length 0..1, value text,
    colour)."""

    ROW = 52

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.rows: list[tuple[str, float, str, str]] = []

    def set_rows(self, title: str, rows: list[tuple[str, float, str, str]]) -> None:
        self.title, self.rows = title, rows
        self.setMinimumHeight(60 + self.ROW * len(rows))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        font = p.font()
        font.setPixelSize(24)
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor(theme.INK))
        p.drawText(QRectF(16, 8, self.width() - 32, 40), Qt.AlignmentFlag.AlignLeft, self.title)
        font.setBold(False)
        font.setPixelSize(21)
        p.setFont(font)
        label_w = min(300.0, self.width() * 0.36)
        value_w = 110.0
        bar_x = 16 + label_w + 12
        bar_w = max(10.0, self.width() - bar_x - value_w - 16)
        for i, (label, length, value, colour) in enumerate(self.rows):
            y = 56 + i * self.ROW
            p.setPen(QColor(theme.INK))
            p.drawText(QRectF(16, y, label_w, self.ROW - 10),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, label)
            p.fillRect(QRectF(bar_x, y + 6, bar_w, self.ROW - 22), QColor("#eef1f6"))
            if length > 0:
                p.fillRect(QRectF(bar_x, y + 6, max(3.0, bar_w * min(length, 1.0)), self.ROW - 22),
                           QColor(colour))
            p.drawText(QRectF(bar_x + bar_w + 10, y, value_w, self.ROW - 10),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, value)
        p.end()


class EvaluationsPage(QWidget):
    """Period buttons, the totals line, the star bars and the reason bars."""

    def __init__(self, context: AdminContext) -> None:
        super().__init__()
        self.services = context.services
        self.lang = context.config.language
        self.period = "7d"
        self.summary: EvaluationSummary | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 24, 30, 24)
        layout.setSpacing(16)
        bar = QHBoxLayout()
        self.period_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for period in PERIOD_DAYS:
            button = QPushButton(tr(f"admin.evaluation.period.{period}", self.lang))
            button.setCheckable(True)
            button.setMinimumSize(180, TOUCH_MIN)
            button.clicked.connect(lambda _=False, p=period: self.choose(p))
            group.addButton(button)
            bar.addWidget(button)
            self.period_buttons[period] = button
        self.period_buttons[self.period].setChecked(True)
        self.setStyleSheet(f"QPushButton:checked {{ background: {theme.BLUE}; color: white; }}")
        self.refresh_button = QPushButton(tr("admin.evaluation.refresh", self.lang))
        self.refresh_button.setMinimumHeight(TOUCH_MIN)
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("font-size: 26px;")
        layout.addWidget(self.message)
        charts = QHBoxLayout()
        charts.setSpacing(24)
        self.stars = HorizontalBars()
        self.reasons = HorizontalBars()
        charts.addWidget(self.stars, 2)
        charts.addWidget(self.reasons, 3)
        layout.addLayout(charts)
        layout.addStretch(1)
        self.refresh()

    def choose(self, period: str) -> None:
        self.period = period
        self.period_buttons[period].setChecked(True)
        self.refresh()

    def refresh(self) -> None:
        self.message.setText(tr("admin.evaluation.loading", self.lang))
        self.services.evaluation_summary(self.period, self.show_summary, self.show_problem)

    def show_summary(self, summary: EvaluationSummary) -> None:
        self.summary = summary
        t = lambda key, **v: tr(key, self.lang, **v)  # noqa: E731
        if summary.total:
            self.message.setText(
                t("admin.evaluation.total", count=summary.total, average=f"{summary.average:.1f}")
                + "　·　" + t("admin.evaluation.with_text", count=summary.with_text))
        else:
            self.message.setText(t("admin.evaluation.none"))
        peak = max(summary.stars.values()) or 1
        self.stars.set_rows(t("admin.evaluation.stars"), [
            (t("admin.evaluation.star", n=n), summary.stars[n] / peak, str(summary.stars[n]),
             STAR_COLOURS[n]) for n in range(5, 0, -1)])
        self.reasons.set_rows(t("admin.evaluation.reasons"), [
            (t(f"evaluate.reason.{r}"), summary.share(r),
             f"{summary.share(r):.0%} ({summary.reasons[r]})",
             GOOD if r in GOOD_REASONS else theme.ACCENT) for r in REASONS])

    def show_problem(self, exc: Exception) -> None:
        self.message.setText(tr("error.try_again", self.lang))
