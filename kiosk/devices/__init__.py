"""Devices of a terminal: receipt printer, ID card reader, barcode scanner, document capture.

Each device is a small class over one transport primitive, with a real driver and a simulated
twin that pass the same tests (STYLE.md point 4). ``build_devices`` makes them from the [printer],
[idcard], [scanner] and [capture] sections of the configuration; ``device_states`` is what the
admin screen and the heartbeat show. No Qt here (the camera lives in kiosk.ui.camera_capture).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kiosk.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceState:
    """What a device is doing, in one line for the admin screen and the heartbeat."""

    name: str  # printer | idcard | scanner | capture
    kind: str  # the configured kind: simulated, network, serial, ...
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeviceError(Exception):
    """A device could not do what was asked. ``visitor_key`` is the ui.json key of what a
    visitor should be told; the message itself is for the log and the admin screen."""

    visitor_key = "error.try_again"


class DeviceConfigError(DeviceError):
    """A device section of the configuration names something that does not exist."""


class Device(Protocol):
    """What every device offers the admin screen and the heartbeat."""

    def state(self) -> DeviceState: ...

    def close(self) -> None: ...


@dataclass
class Devices:
    """The devices of one terminal; any of them may be None (kind = "none")."""

    printer: Any = None
    idcard: Any = None
    scanner: Any = None
    capture: Any = None
    # Things to stop on close (simulated hardware threads), after the devices themselves.
    _owned: list[Any] = field(default_factory=list)

    def all(self) -> list[tuple[str, Any]]:
        return [("printer", self.printer), ("idcard", self.idcard),
                ("scanner", self.scanner), ("capture", self.capture)]

    def close(self) -> None:
        for _, device in self.all():
            if device is not None:
                try:
                    device.close()
                except Exception:  # closing must go on for the others
                    log.exception("closing a device failed")
        for thing in self._owned:
            thing.close()
        self._owned.clear()


def device_states(devices: Devices) -> list[dict[str, Any]]:
    """The state of every configured device as plain dicts, for the heartbeat.

    Each device answers for itself (a printer is asked its DLE EOT status, a reader its SAM
    state); a device that raises while being asked is reported as a fault, never hidden.
    """
    states: list[dict[str, Any]] = []
    for name, device in devices.all():
        if device is None:
            states.append(DeviceState(name, "none", True, "not configured").as_dict())
            continue
        try:
            states.append(device.state().as_dict())
        except Exception as exc:  # a broken driver must not break the heartbeat
            log.exception("state of %s failed", name)
            states.append(DeviceState(name, getattr(device, "kind", "?"), False,
                                      f"state unavailable: {exc}").as_dict())
    return states


def build_printer(config: Config, data_dir: Path, owned: list[Any] | None = None) -> Any:
    """The printer of the [printer] section (None for kind = "none")."""
    from kiosk.devices import printer as p

    section = config.printer
    if section.kind == "none":
        return None
    model = p.load_model(section.model)
    timeout = section.timeout_ms / 1000
    transport: p.Transport
    if section.kind == "simulated":
        from kiosk.devices.printer_sim import PrinterSimulator, SimulatedTransport

        dots, columns = model.width(section.paper_mm)
        sim = PrinterSimulator(dots=dots, columns=columns, answers_status=model.status,
                               png_dir=data_dir / "printed")
        transport = SimulatedTransport(sim)
    elif section.kind == "network":
        if not section.host:
            raise DeviceConfigError("printer.host is empty: set the printer's address")
        transport = p.NetworkTransport(section.host, section.port, timeout)
    elif section.kind == "serial":
        transport = p.SerialTransport(section.serial_port, section.baudrate, timeout)
    elif section.kind == "usb":
        transport = p.UsbTransport(section.usb_vendor_id, section.usb_product_id, timeout)
    elif section.kind == "lp":
        transport = p.LpTransport(section.lp_queue, timeout)
    else:
        raise DeviceConfigError(f"printer.kind {section.kind!r} is not a printer transport")
    return p.Printer(transport, model, section.paper_mm, status_timeout=timeout)


def build_idcard(config: Config, owned: list[Any]) -> Any:
    """The ID card reader of the [idcard] section (None for kind = "none")."""
    section = config.idcard
    if section.kind == "none":
        return None
    from kiosk.devices.idcard import SerialIdCardReader

    if section.kind == "simulated":
        from kiosk.devices.idcard_sim import SimulatedReader, demo_card

        sim = SimulatedReader(card=demo_card())
        owned.append(sim)
        reader = SerialIdCardReader(sim.port, 115200, section.timeout_ms / 1000,
                                    kind="simulated")
        reader.simulator = sim
        return reader
    if section.kind == "serial":
        return SerialIdCardReader(section.serial_port, section.baudrate,
                                  section.timeout_ms / 1000)
    raise DeviceConfigError(f"idcard.kind {section.kind!r} is not a reader")


def build_scanner(config: Config, owned: list[Any]) -> Any:
    """The barcode scanner of the [scanner] section (None for kind = "none")."""
    section = config.scanner
    if section.kind == "none":
        return None
    from kiosk.devices import scanner as s

    if section.kind == "wedge":
        return s.WedgeScanner(section.wedge_max_gap_ms / 1000, section.wedge_min_length)
    if section.kind == "serial":
        return s.SerialScanner(section.serial_port, section.baudrate)
    if section.kind == "simulated":
        sim = s.SimulatedScannerDevice()
        owned.append(sim)
        scanner = s.SerialScanner(sim.port, 9600, kind="simulated")
        scanner.simulator = sim
        return scanner
    raise DeviceConfigError(f"scanner.kind {section.kind!r} is not a scanner")


def build_capture(config: Config, data_dir: Path) -> Any:
    """The document capture source of the [capture] section (None for kind = "none").

    The camera is built by kiosk.ui.camera_capture (it needs Qt); here it is the file import
    source marked as standing in, so the domain side still stores and normalises pages.
    """
    section = config.capture
    if section.kind == "none":
        return None
    from kiosk.devices import capture as c

    store = c.BlobStore(data_dir / "blobs")
    options = c.PageOptions(section.max_side_px, section.jpeg_quality)
    if section.kind == "sane":
        return c.SaneScanner(store, options, device=section.sane_device, dpi=section.sane_dpi)
    if section.kind in ("files", "camera"):
        return c.FileImport(store, options, kind=section.kind)
    if section.kind == "simulated":
        return c.SimulatedScanner(store, options)
    raise DeviceConfigError(f"capture.kind {section.kind!r} is not a capture source")


def build_devices(config: Config, data_dir: Path) -> Devices:
    """Every device of the configuration. A device that cannot be built is left out (None) with
    the reason logged, so one broken printer does not keep the kiosk from starting."""
    devices = Devices()
    builders = {
        "printer": lambda: build_printer(config, data_dir, devices._owned),
        "idcard": lambda: build_idcard(config, devices._owned),
        "scanner": lambda: build_scanner(config, devices._owned),
        "capture": lambda: build_capture(config, data_dir),
    }
    for name, make in builders.items():
        try:
            setattr(devices, name, make())
        except Exception as exc:
            log.error("device %s not available: %s", name, exc)
            setattr(devices, name, BrokenDevice(name, getattr(config, name).kind, str(exc)))
    return devices


class BrokenDevice:
    """Stands in for a device whose configuration or driver failed, so its fault is shown."""

    def __init__(self, name: str, kind: str, reason: str) -> None:
        self.name, self.kind, self.reason = name, kind, reason

    def state(self) -> DeviceState:
        return DeviceState(self.name, self.kind, False, self.reason)

    def close(self) -> None:
        pass
