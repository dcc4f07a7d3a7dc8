"""The counter's review panel shows every scanned page (thumbnails, tap to enlarge) and prints
the A4 notice on the (simulated) A4 printer in the language the clerk picks."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget

from kiosk import catalog, review
from kiosk.applications import blob_path, file_application
from kiosk.config import A4PrinterConfig, Config, QueueConfig
from kiosk.platform.db import PlatformDB
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.store import open_store
from kiosk.ui import theme
from kiosk.ui.queue_services import QueueServices
from kiosk.ui.review_panel import ReviewPanel, ReviewServices

SHOTS = Path("/tmp/kiosk-review-shots")


def tap(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def page(text: str, colour: str) -> bytes:
    """A small A4-shaped JPEG with a big label, like a normalised scan."""
    image = Image.new("RGB", (620, 877), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 590, 847), outline=colour, width=12)
    draw.text((80, 120), text, fill=colour, font_size=80)
    for y in range(300, 800, 40):
        draw.line((80, y, 540, y), fill="#999999", width=4)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def panel(qtbot, tmp_path, sample_bundle):
    def open_db():
        db = open_store(tmp_path / "kiosk.db")
        if catalog.current_version(db) is None:
            catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
        return db

    config = Config(fullscreen=False, queue=QueueConfig(window=3, categories="A", poll_ms=200),
                    a4_printer=A4PrinterConfig(out_dir=str(tmp_path / "a4")))
    db = open_db()
    app = file_application(
        db, config, "SCDJ-XK-001", {"name": "张三"}, {"name": "张三"},
        [{"material": "公司章程", "data": page("Articles p1", "#0b4f9c"), "page": 1},
         {"material": "公司章程", "data": page("Articles p2", "#0b4f9c"), "page": 2},
         {"material": "住所使用证明", "data": page("Lease", "#d9480f"), "page": 1},
         {"material": "《公司登记（备案）申请书》", "data": b"not an image"}],
        tmp_path / "blobs")
    db.conn.close()
    pdb = PlatformDB(tmp_path / "hall.db")
    services = QueueServices(config, open_db, lambda: InProcessHallQueue(pdb, "H0001", "W03"),
                             push_ms=0, png_dir=tmp_path / "printed")
    theme.setup_fonts(QApplication.instance())
    from kiosk.ui.counter_window import STYLE

    window = QWidget()  # styled as the counter window styles it
    window.setStyleSheet(theme.style_sheet(False) + STYLE)
    widget = ReviewPanel(ReviewServices(services, config))
    QVBoxLayout(window).addWidget(widget)
    window.layout().setContentsMargins(0, 0, 0, 0)
    qtbot.addWidget(window)
    widget.set_language("zh-Hans")
    window.resize(1920, 1080)
    window.show()
    widget.start("王芳 (S001)", 3)
    yield widget, app, tmp_path
    services.shutdown()
    pdb.close()


def open_app(qtbot, widget, number):
    widget.number_field.setText(number)
    tap(qtbot, widget.open_button)
    qtbot.waitUntil(lambda: widget.opened is not None and not widget.busy)
    qtbot.wait(10)  # new buttons are shown by the next event-loop turn


def thumbs(widget):
    return widget.findChildren(QPushButton, "scanThumb")  # old ones are unparented on re-render


def test_every_stored_page_has_a_thumbnail_and_opens_large(qtbot, panel):
    widget, app, tmp_path = panel
    open_app(qtbot, widget, app.number)
    stored = [m for m in app.materials if m.get("sha256")]
    assert len(stored) == 4
    assert blob_path(tmp_path / "blobs", stored[0]["sha256"]).read_bytes()[:3] != b"\xff\xd8\xff"
    shown = thumbs(widget)
    assert len(shown) == len(stored)  # N pages stored, N thumbnails
    readable = [b for b in shown if b.isEnabled()]
    assert len(readable) == 3 and all(not b.icon().isNull() for b in readable)
    assert min(b.width() for b in shown) >= theme.TOUCH_MIN
    unreadable = next(b for b in shown if not b.isEnabled())
    assert unreadable.text() == "无法显示"  # a damaged file is said, not hidden
    assert widget.height() == 1080  # fits a 1080p counter screen
    SHOTS.mkdir(exist_ok=True)
    widget.grab().save(str(SHOTS / "review-thumbs-zh-Hans.png"))

    tap(qtbot, readable[1])
    viewer = widget.viewer
    assert viewer.isVisible() and viewer.geometry() == widget.rect()
    qtbot.waitUntil(lambda: viewer.image.pixmap() is not None
                    and not viewer.image.pixmap().isNull())
    assert viewer.caption.text() == "公司章程 · 第 2 页（2/4）"
    assert viewer._pixmap.height() > 600  # the enlarged page, not the thumbnail
    widget.grab().save(str(SHOTS / "review-viewer-zh-Hans.png"))
    tap(qtbot, viewer.next_button)
    assert "住所使用证明" in viewer.caption.text()
    tap(qtbot, viewer.next_button)  # the unreadable page says so in the viewer too
    qtbot.waitUntil(lambda: viewer.image.text() == "无法显示")
    assert not viewer.next_button.isEnabled()
    tap(qtbot, viewer.close_button)
    assert not viewer.isVisible()


LEASE = {"zh-Hant": "住所使用證明", "en": "Proof of the right to use the domicile"}
ARTICLES = {"zh-Hant": "公司章程", "en": "Articles of association"}
CAPTION = {"zh-Hant": "公司章程 · 第 1 頁（1/4）", "en": "Articles of association · page 1 (1 of 4)"}


def detail_texts(widget) -> list[str]:
    layout = widget.details
    return [layout.itemAt(i).widget().text() for i in range(layout.count())
            if layout.itemAt(i).widget()]


@pytest.mark.parametrize("lang", ["zh-Hant", "en"])
def test_panel_and_viewer_in_other_languages(qtbot, panel, lang):
    widget, app, _ = panel
    widget.set_language(lang)
    open_app(qtbot, widget, app.number)
    assert len(thumbs(widget)) == 4
    lines = detail_texts(widget)
    # Material names in the panel's language, from the item's guide, not as stored.
    assert any(line.startswith(f"{LEASE[lang]}：") for line in lines), lines
    assert not any(line.startswith("住所使用证明") for line in lines)
    boxes = {name: box.text() for name, box in widget.missing_boxes.items()}
    assert boxes["住所使用证明"] == LEASE[lang]  # shown translated, still keyed as stored
    assert thumbs(widget)[0].toolTip() == f"{ARTICLES[lang]} · 1"
    SHOTS.mkdir(exist_ok=True)
    widget.grab().save(str(SHOTS / f"review-thumbs-{lang}.png"))
    tap(qtbot, thumbs(widget)[0])
    qtbot.waitUntil(lambda: not widget.viewer._pixmap.isNull())
    assert widget.viewer.caption.text() == CAPTION[lang]
    widget.grab().save(str(SHOTS / f"review-viewer-{lang}.png"))


def test_switching_language_keeps_the_clerks_ticks(qtbot, panel):
    widget, app, _ = panel
    open_app(qtbot, widget, app.number)
    ticked = {name for name, box in widget.missing_boxes.items() if box.isChecked()}
    widget.missing_boxes["住所使用证明"].setChecked(True)
    widget.reason_field.setText("盖章不清")
    widget.set_language("en")
    assert widget.missing_boxes["住所使用证明"].text() == LEASE["en"]
    assert {name for name, box in widget.missing_boxes.items()
            if box.isChecked()} == ticked | {"住所使用证明"}
    assert widget.reason_field.text() == "盖章不清"


def test_a4_notice_prints_after_a_decision_in_the_chosen_language(qtbot, panel):
    widget, app, tmp_path = panel
    open_app(qtbot, widget, app.number)
    assert not widget.print_a4_button.isEnabled()  # filed, not decided: no notice yet
    widget.missing_boxes["公司章程"].setChecked(True)
    tap(qtbot, widget.buttons["return"])
    qtbot.waitUntil(lambda: not widget.busy and widget.opened.application.status == "returned",
                    timeout=10_000)
    tap(qtbot, widget.notice_lang_buttons["en"])
    tap(qtbot, widget.print_a4_button)
    qtbot.waitUntil(lambda: not widget.printing, timeout=10_000)
    printed = sorted((tmp_path / "a4").glob("*.pdf"))
    assert len(printed) == 1, widget.message.text()
    assert str(printed[0]) in widget.message.text()
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(printed[0]), "-"], capture_output=True,
                              text=True).stdout
        assert "Notice of Missing Materials" in text and app.number in text
        assert "Articles of association" in text  # the ticked material, in English

    tap(qtbot, widget.buttons["accept"])
    qtbot.waitUntil(lambda: not widget.busy and widget.opened.application.status == "accepted")
    tap(qtbot, widget.notice_lang_buttons["zh-Hans"])
    tap(qtbot, widget.print_a4_button)
    qtbot.waitUntil(lambda: len(list((tmp_path / "a4").glob("*.pdf"))) == 2, timeout=10_000)
    if shutil.which("pdftotext"):
        newest = sorted((tmp_path / "a4").glob("*.pdf"))[-1]
        assert "受理通知书" in subprocess.run(["pdftotext", str(newest), "-"],
                                         capture_output=True, text=True).stdout


def test_a4_printer_failure_is_told_to_the_clerk(qtbot, panel, monkeypatch):
    widget, app, _ = panel
    widget.services.config = Config(a4_printer=A4PrinterConfig(kind="lp", lp_queue="office"))
    monkeypatch.setenv("PATH", "/nonexistent")
    done = []
    widget.services.decide(app.id, "accept", "王芳", [], "", "d-1", done.append, done.append)
    qtbot.waitUntil(lambda: bool(done))
    assert isinstance(done[0], review.Decision)
    open_app(qtbot, widget, app.number)
    tap(qtbot, widget.print_a4_button)
    qtbot.waitUntil(lambda: not widget.printing)
    assert "A4 通知书未打印" in widget.message.text() and "cups-client" in widget.message.text()


def test_the_return_notice_names_materials_in_the_clerks_language(qtbot, panel, monkeypatch):
    widget, app, _ = panel
    widget.set_language("en")
    open_app(qtbot, widget, app.number)
    printed = []  # the documents handed to the counter's printer
    queue = widget.services.queue
    print_ticket = queue.print_ticket
    monkeypatch.setattr(queue, "print_ticket",
                        lambda doc, *args: (printed.append(doc), print_ticket(doc, *args)))
    for name, box in widget.missing_boxes.items():
        box.setChecked(name == "住所使用证明")
    tap(qtbot, widget.buttons["return"])
    qtbot.waitUntil(lambda: bool(printed), timeout=10_000)
    text = " ".join(f"{line.text} {line.value}" for line in printed[0].lines)
    assert "Proof of the right to use the domicile" in text and "住所使用证明" not in text
