"""After retention purged an application here, the progress screen and the counter's review
panel still open it by number and say "purged on this terminal, ask the platform"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from kiosk import progress, retention
from kiosk.applications import file_application
from kiosk.config import Config
from kiosk.ui import theme
from kiosk.ui.progress_screen import ProgressScreen
from kiosk.ui.review_panel import Opened, ReviewPanel

SHOTS = Path("/tmp/kiosk-purged-shots")
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def purged(db, tmp_path):
    """An application acknowledged by the platform 40 days ago and purged since."""
    app = file_application(db, Config(), "SCJG-XK-001", {"name": "张三丰", "id_number":
                           "11010519491231002X"}, {"address": "文三路 1 号"},
                           [{"material": "身份证", "data": b"scan"}], tmp_path / "blobs", now=T0)
    db.execute("UPDATE outbox SET state = 'sent', sent_at = ?",
               [(T0 + timedelta(hours=1)).isoformat(timespec="milliseconds")])
    assert retention.purge(db, tmp_path / "blobs", 30, now=T0 + timedelta(days=40)).count == 1
    return progress.find_progress(db, app.number)


def _texts(layout) -> list[str]:
    return [w.text() for i in range(layout.count())
            if (w := layout.itemAt(i).widget()) is not None and hasattr(w, "text")]


def _shot(widget, name: str) -> None:
    QApplication.instance().setStyleSheet(theme.style_sheet(False))
    widget.resize(1080, 1300)
    widget.show()
    QApplication.processEvents()
    SHOTS.mkdir(exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("lang,words", [("zh-Hans", "本机已按规定清除"), ("en", "purged on this")])
def test_progress_screen_says_purged(qtbot, purged, lang, words):
    screen = ProgressScreen()
    qtbot.addWidget(screen)
    screen.set_language(lang)
    screen.show_answers([(purged, {"zh-Hans": "食品经营许可", "en": "Food business licence"})])
    texts = " ".join(_texts(screen.body_layout))
    assert purged.application.number in texts and words in texts
    assert "张三丰" not in texts
    _shot(screen, f"progress-{lang}")


def test_review_panel_says_purged_and_offers_no_decision(qtbot, purged):
    panel = ReviewPanel(services=None)
    qtbot.addWidget(panel)
    panel.opened = Opened(purged.application, None)
    panel.set_language("zh-Hans")  # re-renders: texts, the opened application, the buttons
    panel._render()
    texts = " ".join(_texts(panel.details))
    assert "本机已按规定清除" in texts and "张三丰" not in texts and "_purged_at" not in texts
    assert not any(b.isEnabled() for b in panel.buttons.values())
    _shot(panel, "review-zh-Hans")
