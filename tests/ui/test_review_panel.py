"""The counter's review panel offscreen: open by receipt QR, see form and scans, return (the
一次性告知单 prints), then accept; each decision stored and queued for the platform."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from kiosk import catalog, staff
from kiosk.applications import file_application, get_application, status_history
from kiosk.config import Config, QueueConfig
from kiosk.platform.db import PlatformDB
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.store import open_store
from kiosk.ui.queue_services import QueueServices


def tap(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture
def open_db(tmp_path, sample_bundle):
    def open_():
        db = open_store(tmp_path / "kiosk.db")
        if catalog.current_version(db) is None:
            catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
        return db
    return open_


def test_clerk_returns_then_accepts_an_application_opened_by_its_receipt_qr(qtbot, tmp_path,
                                                                            open_db):
    from kiosk.ui.counter_window import CounterWindow

    config = Config(fullscreen=False, queue=QueueConfig(window=3, categories="A", poll_ms=200))
    db = open_db()
    staff.add_staff(db, "S001", "王芳", "2468")
    app = file_application(
        db, config, "SCDJ-XK-001", {"name": "张三"},
        {"name": "张三", "company": "<b>张三</b>商贸有限公司"},
        [{"material": "公司章程", "data": b"x" * 4096},
         {"material": "住所使用证明", "original_brought": True}], tmp_path / "blobs")
    db.conn.close()
    pdb = PlatformDB(tmp_path / "hall.db")
    printed = tmp_path / "printed"
    services = QueueServices(config, open_db, lambda: InProcessHallQueue(pdb, "H0001", "W03"),
                             push_ms=0, png_dir=printed)
    window = CounterWindow(services, config)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: bool(window.signin.category_boxes))
        window.signin.staff_field.setText("S001")
        window.signin.pin_field.setText("2468")
        tap(qtbot, window.signin.submit_button)
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.desk)
        tap(qtbot, window.desk.review_button)
        panel = window.review
        assert window.stack.currentWidget() is panel
        assert not panel.buttons["accept"].isEnabled()  # nothing opened yet

        panel.number_field.setText(f"https://zwfw.example.gov.cn/progress/{app.number}")
        tap(qtbot, panel.open_button)
        qtbot.waitUntil(lambda: panel.opened is not None)
        assert app.number in panel.summary.text() and "待审核" in panel.summary.text()
        lines = [item.widget().text() for i in range(panel.details.count())
                 if (item := panel.details.itemAt(i)).widget() is not None]
        assert "company：<b>张三</b>商贸有限公司" in lines  # shown as text, never as markup
        assert "申请人姓名：张三" in lines  # the form's own field title, not its key
        assert any(line.startswith("公司章程：第 1 页扫描件，4 KB") for line in lines)
        assert "住所使用证明：原件带到窗口" in lines
        # Materials nothing was received for come pre-ticked; the clerk unticks one.
        assert not panel.missing_boxes["公司章程"].isChecked()
        assert panel.missing_boxes["《公司登记（备案）申请书》"].isChecked()
        for name, box in panel.missing_boxes.items():
            box.setChecked(name == "《公司登记（备案）申请书》")
        window.resize(1600, 1000)
        panel.grab().save(str(tmp_path.parent / "review_panel.png"))

        tap(qtbot, panel.buttons["return"])
        qtbot.waitUntil(lambda: "一次性告知单已打印" in panel.message.text(), timeout=10_000)
        qtbot.waitUntil(lambda: panel.opened is not None and not panel.busy
                        and panel.opened.application.status == "returned")
        assert list(printed.glob("*.png"))

        tap(qtbot, panel.buttons["accept"])
        qtbot.waitUntil(lambda: not panel.busy and panel.opened.application.status == "accepted")
        assert "已受理" in panel.message.text()
        assert not panel.buttons["reject"].isEnabled()  # accepted is final

        services.worker.wait_idle()
        db = open_db()
        assert get_application(db, app.id).status == "accepted"
        assert [h["status"] for h in status_history(db, app.id)] == [
            "filed", "returned", "accepted"]
        bodies = [json.loads(p)["body"] for (p,) in db.execute(
            "SELECT payload FROM outbox WHERE kind = 'event' "
            "AND json_extract(payload, '$.type') = 'decision' ORDER BY id").fetchall()]
        assert [(b["decision"], b["missing"], b["clerk"]) for b in bodies] == [
            ("return", ["《公司登记（备案）申请书》"], "王芳 (S001)"), ("accept", [], "王芳 (S001)")]
        db.conn.close()
        tap(qtbot, panel.back_button)
        assert window.stack.currentWidget() is window.desk
    finally:
        services.shutdown()
        pdb.close()
