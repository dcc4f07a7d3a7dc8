"""Admin page "queue statistics": a day's figures per category and window, a bar chart, CSV.

The figures come from the hall queue (kiosk.queue_stats computed by the server); the chart is
painted with QPainter (tickets, served and no-shows per category), so it needs nothing beyond
QtGui and prints the same offscreen as on screen.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk import queue as q
from kiosk import queue_stats
from kiosk.config import default_data_dir
from kiosk.i18n import tr
from kiosk.ui import theme
from kiosk.ui.admin_window import AdminContext
from kiosk.ui.queue_services import QueueServices, queue_services_for

SERIES = (("tickets", theme.BLUE), ("served", "#2b8a3e"), ("no_shows", theme.ACCENT))
TABLE_COLUMNS = ("scope", "tickets", "served", "no_shows", "transferred", "waiting_now",
                 "wait_median_s", "wait_p90_s", "service_median_s", "service_p90_s")


def queue_services(context: AdminContext) -> QueueServices:
    """The terminal's QueueServices from context.extra["queue_services"], or new ones."""
    services = context.extra.get("queue_services") or getattr(context.services, "queue", None)
    if services is None:
        data_dir = Path(context.extra.get("data_dir") or default_data_dir())
        services = queue_services_for(context.config, data_dir,
                                      context.extra.get("open_db")
                                      or context.services.worker._open_db)
        context.extra["queue_services"] = services
    return services


class BarChart(QWidget):
    """Grouped bars: per category, one bar per series, with the values written on top."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[queue_stats.StatRow] = []
        self.lang = "zh-Hans"
        self.setMinimumHeight(360)

    def set_rows(self, rows: list[queue_stats.StatRow], lang: str) -> None:
        self.rows = [r for r in rows if r.scope == "category"]
        self.lang = lang
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        left, top, bottom = 60, 60, 50
        width, height = self.width() - left - 20, self.height() - top - bottom
        font = p.font()
        font.setPixelSize(22)
        p.setFont(font)
        p.setPen(QColor(theme.INK))
        p.drawText(QRectF(left, 8, width, 40), Qt.AlignmentFlag.AlignLeft,
                   tr("admin.queue.chart", self.lang))
        x_legend = left + width - 3 * 170
        for i, (key, colour) in enumerate(SERIES):
            p.fillRect(QRectF(x_legend + i * 170, 14, 22, 22), QColor(colour))
            p.drawText(QRectF(x_legend + i * 170 + 30, 8, 140, 34),
                       Qt.AlignmentFlag.AlignVCenter, tr(f"admin.queue.col.{key}", self.lang))
        p.setPen(QPen(QColor("#c9d3e3"), 2))
        p.drawLine(left, top + height, left + width, top + height)
        if not self.rows:
            p.end()
            return
        peak = max(1, *(getattr(r, k) for r in self.rows for k, _ in SERIES))
        group = width / len(self.rows)
        bar = max(6.0, min(60.0, group / (len(SERIES) + 1.5)))
        for g, row in enumerate(self.rows):
            x0 = left + g * group + (group - bar * len(SERIES)) / 2
            for i, (key, colour) in enumerate(SERIES):
                value = getattr(row, key)
                h = height * value / peak
                rect = QRectF(x0 + i * bar, top + height - h, bar - 4, h)
                p.fillRect(rect, QColor(colour))
                p.setPen(QColor(theme.INK))
                p.drawText(QRectF(rect.x() - 10, rect.y() - 26, bar + 16, 24),
                           Qt.AlignmentFlag.AlignCenter, str(value))
            p.drawText(QRectF(left + g * group, top + height + 8, group, 36),
                       Qt.AlignmentFlag.AlignCenter, row.key)
        p.end()


class QueueStatsPage(QWidget):
    """Day field, refresh and export buttons, the chart and the table."""

    def __init__(self, context: AdminContext) -> None:
        super().__init__()
        self.context = context
        self.lang = context.config.language
        self.services = queue_services(context)
        self.rows: list[queue_stats.StatRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 24, 30, 24)
        layout.setSpacing(16)
        bar = QHBoxLayout()
        self.day_label = QLabel(tr("admin.queue.day", self.lang))
        self.day = QLineEdit(date.today().isoformat())
        self.day.setMaxLength(10)
        self.refresh_button = QPushButton(tr("admin.queue.refresh", self.lang))
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button = QPushButton(tr("admin.queue.export", self.lang))
        self.export_button.clicked.connect(self.export)
        for widget in (self.day_label, self.day, self.refresh_button, self.export_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.chart = BarChart()
        layout.addWidget(self.chart, 2)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(f"admin.queue.col.{c}", self.lang)
                                              for c in TABLE_COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setStyleSheet("font-size: 22px;")
        self.table.horizontalHeader().setStyleSheet("font-size: 20px;")
        layout.addWidget(self.table, 3)
        self.refresh()

    def refresh(self) -> None:
        self.message.setText(tr("admin.queue.loading", self.lang))
        day = self.day.text().strip() or None
        self.services.stats(day, self.show_rows, self.show_problem)

    def show_rows(self, rows: list[queue_stats.StatRow]) -> None:
        self.rows = rows
        self.message.setText("")
        self.chart.set_rows(rows, self.lang)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, col in enumerate(TABLE_COLUMNS):
                if col == "scope":
                    text = tr(f"admin.queue.scope.{row.scope}", self.lang) + (
                        f" {row.key}" if row.key else "")
                else:
                    value = getattr(row, col)
                    text = "-" if value is None else (
                        f"{value:.0f} s" if isinstance(value, float) else str(value))
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def show_problem(self, exc: Exception) -> None:
        key = exc.key if isinstance(exc, q.QueueError) else "queue.error.generic"
        self.message.setText(tr(key, self.lang))

    def export(self) -> Path | None:
        """Write the rows shown as CSV in the data directory; answers the path."""
        if not self.rows:
            return None
        out_dir = Path(self.context.extra.get("data_dir") or default_data_dir()) / "exports"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"queue-stats-{self.rows[0].day}.csv"
        path.write_text(queue_stats.to_csv(self.rows), encoding="utf-8")
        self.message.setText(tr("admin.queue.exported", self.lang, path=str(path)))
        return path
