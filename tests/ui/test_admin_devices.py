"""The admin Devices page and the keyboard-wedge filter, offscreen, on simulated devices."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from kiosk import receipts
from kiosk.config import Config
from kiosk.devices.printer_sim import PrinterSimulator, TcpPrinterServer
from kiosk.devices.scanner import WedgeDetector
from kiosk.store import open_store
from kiosk.ui.admin_devices import DevicesPage, parse_address
from kiosk.ui.admin_window import ADMIN_PAGES, AdminContext, AdminWindow
from kiosk.ui.device_services import DeviceServices
from kiosk.ui.scan_filter import ScanFilter
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker

SHOTS = Path("/tmp/kiosk-devices-shots")


@pytest.fixture
def context(qtbot, tmp_path):
    def open_db():
        return open_store(tmp_path / "kiosk.db")

    config = Config(fullscreen=False)
    store_worker = StoreWorker(open_db)
    devices = DeviceServices(config, tmp_path, open_db, config_path=tmp_path / "config.toml")
    ctx = AdminContext(Services(store_worker), config, {"device_services": devices})
    yield ctx
    devices.shutdown()
    store_worker.shutdown()


def settle(qtbot, services):
    for _ in range(3):
        services.worker.wait_idle()
        qtbot.wait(10)


@pytest.fixture
def page(qtbot, context):
    p = DevicesPage(context)
    qtbot.addWidget(p)
    p.resize(1920, 1000)
    p.show()
    settle(qtbot, p.services)
    return p


def sim_of(page) -> PrinterSimulator:
    return page.services.devices.printer.transport.sim


def test_page_is_registered():
    assert "admin.devices.tab" in [key for key, _ in ADMIN_PAGES]


@pytest.mark.pty
def test_states_are_shown(qtbot, page):
    for name in ("printer", "idcard", "scanner", "capture"):
        assert "正常" in page.boxes[name].state.text(), name
    assert page.queue_label.text() == "排队中的打印任务：0"


@pytest.mark.pty
def test_test_print_and_read_card(qtbot, page):
    qtbot.mouseClick(page.test_print_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.services)
    assert len(sim_of(page).printed) == 1
    assert "打印测试" in sim_of(page).printed[0].text()
    assert page.boxes["printer"].result.text() == "✓ ready"
    qtbot.mouseClick(page.read_card_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.services)
    assert page.boxes["idcard"].result.text().startswith("✓ 张* · 1101**********002X · 2020-01-01")


def test_printer_fault_is_shown_and_the_queue_prints_on_recovery(qtbot, page):
    sim = sim_of(page)
    sim.paper = "out"
    outcomes = []
    doc = receipts.queue_ticket(hall_name="市民服务中心", number="B007", item_name="社保",
                                waiting=0, issued_at="09:00", terminal_id="K01", lang="zh-Hans")
    page.services.print_receipt(doc, outcomes.append)
    settle(qtbot, page.services)
    assert not outcomes[0].printed and "B007" in outcomes[0].message
    qtbot.mouseClick(page.refresh_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.services)
    assert "故障" in page.boxes["printer"].state.text()
    assert "paper out" in page.boxes["printer"].state.text()
    assert page.queue_label.text() == "排队中的打印任务：1"
    SHOTS.mkdir(exist_ok=True)
    page.grab().save(str(SHOTS / "admin-devices-paper-out.png"))
    sim.paper = "ok"
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.services)
    assert len(sim.printed) == 1 and "B007" in sim.printed[0].text()
    assert page.queue_label.text() == "排队中的打印任务：0"
    assert "正常" in page.boxes["printer"].state.text()


def test_choose_a_network_printer(qtbot, page, tmp_path):
    sim = PrinterSimulator(576, 48)
    server = TcpPrinterServer(sim)
    port = server.start()
    try:
        box = page.boxes["printer"]
        box.kind.setCurrentText("network")
        box.address.setText(f"127.0.0.1:{port}")
        qtbot.mouseClick(box.apply, Qt.MouseButton.LeftButton)
        settle(qtbot, page.services)
        assert "network 127.0.0.1" in box.state.text() and "正常" in box.state.text()
        saved = (tmp_path / "config.toml").read_text(encoding="utf-8")
        assert 'kind = "network"' in saved and f"port = {port}" in saved
        from kiosk import audit  # the change is in the audit trail: which settings, no values

        db = open_store(tmp_path / "kiosk.db")
        (record,) = [r for r in audit.records(db) if r["action"] == "admin.device_config"]
        db.conn.close()
        assert record["subject"] == "printer" and "127.0.0.1" not in str(record)
        qtbot.mouseClick(page.test_print_button, Qt.MouseButton.LeftButton)
        settle(qtbot, page.services)
        assert len(sim.printed) == 1
    finally:
        server.stop()


def test_bad_address_is_refused_on_the_page(qtbot, page):
    box = page.boxes["printer"]
    box.kind.setCurrentText("network")
    box.address.setText("")
    qtbot.mouseClick(box.apply, Qt.MouseButton.LeftButton)
    assert "host:port" in box.result.text()
    assert parse_address("idcard", "serial", "/dev/ttyUSB1@9600") == {
        "serial_port": "/dev/ttyUSB1", "baudrate": 9600}


def test_capture_from_a_file(qtbot, page, tmp_path):
    from PIL import Image

    src = tmp_path / "page.png"
    Image.new("RGB", (640, 480), "white").save(src)
    page.capture_pages([src])
    settle(qtbot, page.services)
    assert page.boxes["capture"].result.text().startswith("✓ 640×480 ")


def test_screenshot_of_the_admin_window(qtbot, context):
    from kiosk.ui import theme

    theme.setup_fonts(QApplication.instance())
    window = AdminWindow(context)
    qtbot.addWidget(window)
    window.show()
    keys = [key for key, _ in ADMIN_PAGES]
    window.tabs.setCurrentIndex(keys.index("admin.devices.tab"))
    page = window.pages["admin.devices.tab"]
    qtbot.mouseClick(page.read_card_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.services)
    SHOTS.mkdir(exist_ok=True)
    assert window.grab().save(str(SHOTS / "admin-devices.png"))


def test_wedge_scan_is_caught_and_typing_passes(qtbot):
    now = [0.0]
    line = QLineEdit()
    qtbot.addWidget(line)
    line.show()
    line.setFocus()
    scan_filter = ScanFilter(WedgeDetector(max_gap=0.05, min_length=4), clock=lambda: now[0])
    app = QApplication.instance()
    app.installEventFilter(scan_filter)
    codes = []
    scan_filter.scanned.connect(codes.append)
    try:
        for ch in "A023":
            now[0] += 0.005
            qtbot.keyClick(line, ch)
        now[0] += 0.005
        qtbot.keyClick(line, Qt.Key.Key_Return)
        assert codes == ["A023"] and line.text() == ""
        for ch in "hi":
            now[0] += 0.4  # a person
            qtbot.keyClick(line, ch)
        now[0] += 0.4
        qtbot.waitUntil(lambda: line.text() == "hi", timeout=1000)
        assert codes == ["A023"]
    finally:
        app.removeEventFilter(scan_filter)


def test_camera_capture_without_a_camera_says_so(qtbot, tmp_path):
    from kiosk.devices.capture import BlobStore, PageOptions
    from kiosk.ui.camera_capture import CameraCapture, cameras

    if cameras():
        pytest.skip("this machine has a camera; the no-camera path cannot be shown")
    capture = CameraCapture(BlobStore(tmp_path), PageOptions(), "zh-Hans")
    with qtbot.waitSignal(capture.failed, timeout=1000) as signal:
        assert capture.start() is False
    assert signal.args == ["本机没有可用的摄像头。"]


def test_page_without_shared_device_services_makes_and_stops_its_own(qtbot, tmp_path):
    """The admin console started on its own (run_admin passes no devices) still works."""
    def open_db():
        return open_store(tmp_path / "kiosk.db")

    worker = StoreWorker(open_db)
    ctx = AdminContext(Services(worker), Config(fullscreen=False), {"data_dir": tmp_path})
    page = DevicesPage(ctx)
    settle(qtbot, page.services)
    assert "正常" in page.boxes["printer"].state.text()
    services = page.services
    page.deleteLater()
    qtbot.waitUntil(lambda: not services._retry.isActive(), timeout=2000)
    worker.shutdown()
