"""Admin page "Devices": each device's state, its type and address, and a test for each
(test print, read a card, scan, capture). Everything goes through DeviceServices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import CHOICES, default_data_dir
from kiosk.devices import DeviceError
from kiosk.i18n import tr
from kiosk.idnumbers import mask_resident_id
from kiosk.receipts import mask_name
from kiosk.ui.admin_window import AdminContext
from kiosk.ui.device_services import DeviceServices

OK_COLOUR, FAULT_COLOUR = "#2b8a3e", "#c92a2a"
ADDRESSED_KINDS = ("network", "serial", "usb", "lp", "sane")


def device_services(context: AdminContext) -> tuple[DeviceServices, bool]:
    """The terminal's DeviceServices from context.extra["device_services"], or new ones made
    from the configuration (then the caller owns them: True)."""
    services = context.extra.get("device_services")
    if services is not None:
        return services, False
    services = DeviceServices(
        context.config, Path(context.extra.get("data_dir") or default_data_dir()),
        context.extra.get("open_db") or context.services.worker._open_db,
        config_path=context.extra.get("config_path"))
    services.actor = getattr(context.services, "admin_actor", "admin")  # for the audit trail
    context.extra["device_services"] = services
    return services, True


def _address(name: str, section: Any) -> str:
    """The one field an admin changes most, as text, for the section's kind."""
    kind = section.kind
    if name == "printer":
        return {"network": f"{section.host}:{section.port}",
                "serial": f"{section.serial_port}@{section.baudrate}",
                "usb": f"{section.usb_vendor_id:04x}:{section.usb_product_id:04x}",
                "lp": section.lp_queue}.get(kind, "")
    if name in ("idcard", "scanner") and kind == "serial":
        return f"{section.serial_port}@{section.baudrate}"
    if name == "capture" and kind == "sane":
        return section.sane_device
    return ""


def parse_address(name: str, kind: str, text: str) -> dict[str, Any]:
    """The config changes meant by the address field (refuses text that cannot be meant)."""
    text = text.strip()
    if name == "printer" and kind == "network":
        host, _, port = text.rpartition(":")
        if not host:
            host, port = text, "9100"
        if not host or not port.isdigit():
            raise ValueError("network printer address: host:port, e.g. 192.168.1.50:9100")
        return {"host": host, "port": int(port)}
    if name == "printer" and kind == "usb":
        vid, _, pid = text.partition(":")
        try:
            return {"usb_vendor_id": int(vid, 16), "usb_product_id": int(pid, 16)}
        except ValueError:
            raise ValueError("USB printer: vendor:product in hex, e.g. 0416:5011") from None
    if name == "printer" and kind == "lp":
        return {"lp_queue": text}
    if kind == "serial":
        port, _, baud = text.partition("@")
        if not port:
            raise ValueError("serial port, e.g. /dev/ttyUSB0@115200")
        changes: dict[str, Any] = {"serial_port": port}
        if baud:
            if not baud.isdigit():
                raise ValueError("serial speed must be a number, e.g. /dev/ttyUSB0@115200")
            changes["baudrate"] = int(baud)
        return changes
    if name == "capture" and kind == "sane":
        return {"sane_device": text}
    return {}


class DeviceBox(QGroupBox):
    """One device: state, type, address, apply, and its test buttons."""

    apply_requested = Signal(str, dict)

    def __init__(self, name: str, section: Any, lang: str) -> None:
        super().__init__(tr(f"admin.devices.{name}", lang))
        self.name, self.lang = name, lang
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.state = QLabel("…")
        self.state.setObjectName("deviceState")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        self.kind = QComboBox()
        self.kind.addItems(list(CHOICES[f"{name}.kind"]))
        self.kind.setCurrentText(section.kind)
        grid.addWidget(QLabel(tr("admin.devices.kind", lang)), 0, 0)
        grid.addWidget(self.kind, 0, 1)
        self.address = QLineEdit(_address(name, section))
        grid.addWidget(QLabel(tr("admin.devices.address", lang)), 1, 0)
        grid.addWidget(self.address, 1, 1)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self._kind_changed(section.kind)
        self.extra_row = 2
        self.grid = grid
        layout.addLayout(grid)
        self.buttons = QHBoxLayout()
        self.apply = QPushButton(tr("admin.devices.apply", lang))
        self.apply.clicked.connect(self._apply)
        self.buttons.addWidget(self.apply)
        layout.addLayout(self.buttons)
        self.result = QLabel()
        self.result.setObjectName("hint")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        layout.addStretch(1)

    def _kind_changed(self, kind: str) -> None:
        # Only these kinds have an address; the field is greyed out for the others.
        self.address.setEnabled(kind in ADDRESSED_KINDS)

    def add_row(self, label: str, widget: QWidget) -> None:
        self.grid.addWidget(QLabel(label), self.extra_row, 0)
        self.grid.addWidget(widget, self.extra_row, 1)
        self.extra_row += 1

    def add_button(self, key: str) -> QPushButton:
        button = QPushButton(tr(key, self.lang))
        self.buttons.addWidget(button)
        return button

    def changes(self) -> dict[str, Any]:
        kind = self.kind.currentText()
        return {"kind": kind, **parse_address(self.name, kind, self.address.text())}

    def _apply(self) -> None:
        try:
            changes = self.changes()
        except ValueError as exc:
            self.show_result(str(exc), ok=False)
            return
        self.apply_requested.emit(self.name, changes)

    def show_state(self, state: dict[str, Any]) -> None:
        ok = state["ok"]
        word = tr("admin.devices.ok" if ok else "admin.devices.fault", self.lang)
        colour = OK_COLOUR if ok else FAULT_COLOUR
        self.state.setText(f"<b style='color:{colour}'>● {word}</b> · {state['kind']} · "
                           f"{state['detail']}")

    def show_result(self, text: str, *, ok: bool = True) -> None:
        self.result.setStyleSheet("" if ok else f"color: {FAULT_COLOUR};")
        self.result.setText(text)


class DevicesPage(QWidget):
    """The admin's view of the printer, card reader, scanner and capture."""

    def __init__(self, context: AdminContext) -> None:
        super().__init__()
        self.lang = context.config.language
        self.services, owned = device_services(context)
        if owned:  # made for this page: stop its thread and devices with it
            self.destroyed.connect(self.services.shutdown)
        config = self.services.config
        lang = self.lang
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.setSpacing(16)
        top = QHBoxLayout()
        self.refresh_button = QPushButton(tr("admin.devices.refresh", lang))
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        self.queue_label = QLabel()
        top.addWidget(self.queue_label)
        top.addStretch(1)
        outer.addLayout(top)

        grid = QGridLayout()
        grid.setSpacing(20)
        self.boxes: dict[str, DeviceBox] = {}
        for i, name in enumerate(("printer", "idcard", "scanner", "capture")):
            box = DeviceBox(name, getattr(config, name), lang)
            box.apply_requested.connect(self._apply)
            self.boxes[name] = box
            grid.addWidget(box, i // 2, i % 2)
        outer.addLayout(grid, 1)

        printer = self.boxes["printer"]
        self.model = QComboBox()
        from kiosk.devices.printer import load_models

        self.model.addItems(list(load_models()))
        self.model.setCurrentText(config.printer.model)
        printer.add_row(tr("admin.devices.model", lang), self.model)
        self.paper = QComboBox()
        self.paper.addItems(["80", "58"])
        self.paper.setCurrentText(str(config.printer.paper_mm))
        printer.add_row(tr("admin.devices.paper", lang), self.paper)
        self.test_print_button = printer.add_button("admin.devices.test_print")
        self.test_print_button.clicked.connect(self.test_print)
        self.retry_button = printer.add_button("admin.devices.retry_queue")
        self.retry_button.clicked.connect(self.retry_queue)
        self.read_card_button = self.boxes["idcard"].add_button("admin.devices.read_card")
        self.read_card_button.clicked.connect(self.read_card)
        self.scan_button = self.boxes["scanner"].add_button("admin.devices.test_scan")
        self.scan_button.clicked.connect(self.test_scan)
        self.capture_button = self.boxes["capture"].add_button("admin.devices.test_capture")
        self.capture_button.clicked.connect(self.test_capture)
        self.services.queue_changed.connect(self._show_queue)
        scan_filter = context.extra.get("scan_filter")  # kiosk.ui.scan_filter.ScanFilter
        if scan_filter is not None:
            scan_filter.scanned.connect(self.scanned)
        self.refresh()

    # ---- answers -------------------------------------------------------------------------

    def _show(self, answer: tuple[list[dict], int]) -> None:
        states, queued = answer
        for state in states:
            if state["name"] in self.boxes:
                self.boxes[state["name"]].show_state(state)
        self._show_queue(queued)

    def _show_queue(self, queued: int) -> None:
        self.queue_label.setText(tr("admin.devices.queued", self.lang, n=queued))

    def _failed(self, name: str) -> Any:
        def show(exc: Exception) -> None:
            key = getattr(exc, "visitor_key", None) if isinstance(exc, DeviceError) else None
            hint = f" — {tr(key, self.lang)}" if key else ""
            self.boxes[name].show_result(f"{type(exc).__name__}: {exc}{hint}", ok=False)
            self.refresh()

        return show

    # ---- actions -------------------------------------------------------------------------

    def refresh(self) -> None:
        self.services.states(self._show)

    def _apply(self, name: str, changes: dict[str, Any]) -> None:
        if name == "printer":
            changes = {**changes, "model": self.model.currentText(),
                       "paper_mm": int(self.paper.currentText())}
        self.boxes[name].show_result(tr("admin.devices.busy", self.lang))
        self.services.apply_section(name, changes, self._applied(name), self._failed(name))

    def _applied(self, name: str) -> Any:
        def done(answer: tuple[list[dict], int]) -> None:
            self.boxes[name].show_result("✓")
            self._show(answer)

        return done

    def test_print(self) -> None:
        self.boxes["printer"].show_result(tr("admin.devices.busy", self.lang))

        def done(status: Any) -> None:
            self.boxes["printer"].show_result(f"✓ {status.describe()}")
            self.refresh()

        self.services.test_print(self.lang, done, self._failed("printer"))

    def retry_queue(self) -> None:
        def done(result: Any) -> None:
            if result is None:
                self.boxes["printer"].show_result(tr("admin.devices.queued", self.lang, n=0))
            elif result.error:
                self.boxes["printer"].show_result(result.error, ok=False)
            else:
                self.boxes["printer"].show_result(f"✓ {len(result.printed)}")
            self.refresh()

        self.services.retry_queue(done, self._failed("printer"))

    def read_card(self) -> None:
        self.boxes["idcard"].show_result(tr("idcard.place_card", self.lang))

        def done(card: Any) -> None:
            until = card.valid_until.isoformat() if card.valid_until else "长期"
            expired = f" · {tr('idcard.expired', self.lang)}" if card.expired() else ""
            self.boxes["idcard"].show_result(
                f"✓ {mask_name(card.name)} · {mask_resident_id(card.id_number)} · "
                f"{card.valid_from.isoformat()}–{until}{expired}")

        self.services.read_card(done, self._failed("idcard"))

    def test_scan(self) -> None:
        box = self.boxes["scanner"]
        box.show_result(tr("admin.devices.scan_hint", self.lang))
        if self.services.config.scanner.kind == "wedge":
            return  # the application's ScanFilter delivers it to scanned()
        self.services.wait_scan(10.0, lambda code: self.scanned(code), self._failed("scanner"))

    def scanned(self, code: str | None) -> None:
        """A code arrived (from the serial scanner here, or the wedge filter)."""
        self.boxes["scanner"].show_result(f"✓ {code}" if code else "—", ok=bool(code))

    def test_capture(self) -> None:
        box = self.boxes["capture"]
        kind = self.services.config.capture.kind
        paths: list[Path] | None = None
        if kind in ("files", "camera"):
            names, _ = QFileDialog.getOpenFileNames(self, box.title(), str(Path.home()),
                                                    "Images (*.jpg *.jpeg *.png *.tif *.tiff)")
            if not names:
                return
            paths = [Path(n) for n in names]
        self.capture_pages(paths)

    def capture_pages(self, paths: list[Path] | None) -> None:
        def done(pages: list[Any]) -> None:
            self.boxes["capture"].show_result(
                "✓ " + ", ".join(f"{p.width}×{p.height} {p.sha256[:12]}…" for p in pages))

        self.services.capture_pages(paths, done, self._failed("capture"))
