"""The device factory and the states the heartbeat sends."""

from dataclasses import replace

import pytest

from kiosk.config import Config, PrinterConfig
from kiosk.devices import build_devices, device_states


@pytest.mark.pty
def test_default_config_builds_simulated_devices(tmp_path):
    devices = build_devices(Config(), tmp_path)
    try:
        states = device_states(devices)
        assert [s["name"] for s in states] == ["printer", "idcard", "scanner", "capture"]
        assert all(s["ok"] for s in states), states
        assert {s["kind"] for s in states} == {"simulated", "wedge", "files"}
        assert set(states[0]) == {"name", "kind", "ok", "detail"}
        card = devices.idcard.read_card()  # the demo card on the simulated reader
        assert card.id_number == "11010519491231002X"
        printer = devices.printer
        printer.print_document(printer.test_page())
        assert list((tmp_path / "printed").glob("*.png"))
    finally:
        devices.close()


def test_a_device_that_cannot_be_built_is_shown_as_a_fault(tmp_path):
    config = replace(Config(), printer=PrinterConfig(kind="network", host=""))
    devices = build_devices(config, tmp_path)
    try:
        printer = device_states(devices)[0]
        assert printer == {"name": "printer", "kind": "network", "ok": False,
                           "detail": "printer.host is empty: set the printer's address"}
    finally:
        devices.close()


def test_unreachable_network_printer_is_a_fault_not_an_exception(tmp_path):
    import socket

    with socket.socket() as s:  # a free port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = replace(Config(), printer=PrinterConfig(kind="network", host="127.0.0.1",
                                                     port=port, timeout_ms=300))
    devices = build_devices(config, tmp_path)
    try:
        state = device_states(devices)[0]
        assert not state["ok"] and f"127.0.0.1:{port}" in state["detail"]
    finally:
        devices.close()


def test_none_kinds(tmp_path):
    config = Config()
    config = replace(config, printer=replace(config.printer, kind="none"),
                     idcard=replace(config.idcard, kind="none"),
                     scanner=replace(config.scanner, kind="none"),
                     capture=replace(config.capture, kind="none"))
    devices = build_devices(config, tmp_path)
    assert all(s["detail"] == "not configured" for s in device_states(devices))


def test_a_state_that_raises_is_reported(tmp_path):
    devices = build_devices(replace(Config(), idcard=replace(Config().idcard, kind="none")),
                            tmp_path)

    class Exploding:
        kind = "serial"

        def state(self):
            raise RuntimeError("driver bug")

        def close(self):
            pass

    devices.scanner = Exploding()
    try:
        scanner = device_states(devices)[2]
        assert scanner["ok"] is False and "driver bug" in scanner["detail"]
    finally:
        devices.close()
