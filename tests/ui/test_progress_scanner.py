"""Progress by the receipt's QR read on a serial scanner (simulated over a pseudo-terminal): the
progress screen listens while it shows and stops when the visitor leaves."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from kiosk.applications import file_application, progress_url
from kiosk.config import Config, ScannerConfig
from kiosk.store import open_store
from kiosk.ui.device_services import DeviceServices
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker


@pytest.mark.pty
def test_a_receipt_qr_on_the_serial_scanner_finds_the_application(qtbot, tmp_path):
    def open_db():
        return open_store(tmp_path / "kiosk.db")

    config = replace(Config(fullscreen=False), scanner=ScannerConfig(kind="simulated"))
    db = open_db()
    filed = file_application(db, config, "SCDJ-XK-004", {"name": "张三"}, {}, [], tmp_path)
    db.conn.close()
    services = Services(StoreWorker(open_db))
    services.devices = DeviceServices(config, tmp_path, open_db)
    window = KioskWindow(services, config)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.mouseClick(window.home.tiles["tile.progress"], Qt.MouseButton.LeftButton)
        screen = window.cases.progress
        assert window.cases._listening
        scanner = services.devices.devices.scanner
        assert scanner.state().ok  # the port is open (pyserial drops what came before)
        scanner.simulator.scan(progress_url(config.guide_url_template, filed.number))
        qtbot.waitUntil(lambda: bool(screen.answers), timeout=5000)
        assert screen.answers[0][0].application.id == filed.id
        assert screen.field.text() == filed.number
        assert window.cases._listening  # still listening for the next receipt

        window.reset_for_next_visitor()  # back home: the poll ends after its current wait
        qtbot.waitUntil(lambda: not window.cases._listening, timeout=3000)
    finally:
        services.devices.shutdown()
        services.worker.shutdown()
