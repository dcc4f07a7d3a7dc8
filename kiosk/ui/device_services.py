"""What screens may ask of the devices. Each call runs on the device thread, answers by callback.

Device I/O (a printer's status timeout, a card read, a scan) takes seconds, so it has its own
worker thread with its own store connection (for the print jobs): the store thread stays free
for the screens. While print jobs wait, a timer retries them, so a receipt prints as soon as the
printer is back, with nobody pressing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk import devices as dev
from kiosk import print_jobs
from kiosk.config import Config
from kiosk.receipts import Document
from kiosk.ui.worker import StoreWorker

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[Exception], None] | None

RETRY_MS = 15_000  # how often queued print jobs are tried while the printer is down


class DeviceServices(QObject):
    """The devices of this terminal, used from the UI thread without blocking it."""

    queue_changed = Signal(int)  # print jobs still waiting

    def __init__(self, config: Config, data_dir: Path, open_db: Callable[[], Any], *,
                 devices: dev.Devices | None = None, config_path: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config, self.data_dir, self.config_path = config, data_dir, config_path
        self.actor = "admin"  # the admin console sets the signed-in admin (audit trail)
        self.devices = devices if devices is not None else dev.build_devices(config, data_dir)
        self.worker = StoreWorker(open_db)
        self.worker.submit(print_jobs.recover_interrupted)
        self._retry = QTimer(self)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(lambda: self.retry_queue(lambda _r: None))
        self._retry.start()

    # ---- state ---------------------------------------------------------------------------

    def states(self, on_done: Done, on_error: Failed = None) -> None:
        """(device states as dicts, print jobs waiting)."""
        def job(db: Any) -> tuple[list[dict], int]:
            return dev.device_states(self.devices), print_jobs.pending_count(db)

        self.worker.submit(job, on_done, on_error)

    def heartbeat_states(self) -> list[dict]:
        """For the heartbeat (called on the sync thread; each device locks its own port)."""
        return dev.device_states(self.devices)

    # ---- printing ------------------------------------------------------------------------

    def print_receipt(self, doc: Document, on_done: Done, on_error: Failed = None) -> None:
        """Store the receipt as a job and print it; answers a print_jobs.PrintOutcome."""
        def job(db: Any) -> print_jobs.PrintOutcome:
            return print_jobs.print_receipt(db, self._printer(), doc,
                                            window=self.config.printer.reprint_window)

        self.worker.submit(job, self._after_print(on_done), on_error)

    def reprint(self, receipt_no: str, on_done: Done, on_error: Failed = None) -> None:
        """Queue the next copy of a receipt (counter / admin) and try the queue."""
        def job(db: Any) -> print_jobs.ProcessResult:
            print_jobs.reprint(db, receipt_no)
            return print_jobs.process(db, self._printer())

        self.worker.submit(job, self._after_print(on_done), on_error)

    def test_print(self, lang: str, on_done: Done, on_error: Failed = None) -> None:
        """A test page straight to the printer (not a job: nobody needs it reprinted)."""
        def job(db: Any) -> Any:
            printer = self._printer()
            return printer.print_document(printer.test_page(lang))

        self.worker.submit(job, on_done, on_error)

    def retry_queue(self, on_done: Done, on_error: Failed = None) -> None:
        """Send waiting jobs if there are any; answers a ProcessResult (or None: none waiting)."""
        def job(db: Any) -> print_jobs.ProcessResult | None:
            if print_jobs.pending_count(db) == 0 or not isinstance(
                    self.devices.printer, _PRINTER_TYPES()):
                return None
            return print_jobs.process(db, self.devices.printer)

        self.worker.submit(job, self._after_print(on_done), on_error)

    def _printer(self) -> Any:
        printer = self.devices.printer
        if not isinstance(printer, _PRINTER_TYPES()):
            return None  # no printer configured or it failed to build: jobs wait, visitor told
        return printer

    def _after_print(self, on_done: Done) -> Done:
        def done(result: Any) -> None:
            self.worker.submit(print_jobs.pending_count, self.queue_changed.emit)
            on_done(result)

        return done

    # ---- ID card, scanner, capture -------------------------------------------------------

    def read_card(self, on_done: Done, on_error: Failed = None) -> None:
        """Read the card on the reader; fails with an IdCardError (its visitor_key says what
        to tell the visitor)."""
        def job(db: Any) -> Any:
            reader = self.devices.idcard
            if reader is None or not hasattr(reader, "read_card"):
                raise dev.DeviceConfigError("no ID card reader is configured")
            return reader.read_card()

        self.worker.submit(job, on_done, on_error)

    def wait_scan(self, timeout: float, on_done: Done, on_error: Failed = None) -> None:
        """The next code from a serial scanner within ``timeout`` s (None if none came).
        Keyboard-wedge scans arrive through kiosk.ui.scan_filter instead."""
        def job(db: Any) -> str | None:
            scanner = self.devices.scanner
            if scanner is None or not hasattr(scanner, "read_code"):
                raise dev.DeviceConfigError("no serial scanner is configured")
            return scanner.read_code(timeout)

        self.worker.submit(job, on_done, on_error)

    def capture_pages(self, paths: list[Path] | None, on_done: Done,
                      on_error: Failed = None) -> None:
        """Pages from the capture source (files at ``paths``, or one SANE scan), stored."""
        def job(db: Any) -> Any:
            source = self.devices.capture
            if source is None or not hasattr(source, "capture"):
                raise dev.DeviceConfigError("no document capture is configured")
            return source.capture(paths) if paths is not None else source.capture()

        self.worker.submit(job, on_done, on_error)

    # ---- configuration -------------------------------------------------------------------

    def apply_section(self, name: str, changes: dict[str, Any], on_done: Done,
                      on_error: Failed = None) -> None:
        """Rebuild device ``name`` with ``changes`` to its config section, save the config file
        (when there is one), and answer the new states."""
        def job(db: Any) -> tuple[list[dict], int]:
            section = replace(getattr(self.config, name), **changes)
            config = replace(self.config, **{name: section})
            builder = {
                "printer": lambda: dev.build_printer(config, self.data_dir, self.devices._owned),
                "idcard": lambda: dev.build_idcard(config, self.devices._owned),
                "scanner": lambda: dev.build_scanner(config, self.devices._owned),
                "capture": lambda: dev.build_capture(config, self.data_dir),
            }[name]
            new_device = builder()  # raises before anything is replaced when it is wrong
            old = getattr(self.devices, name)
            if old is not None:
                old.close()
                sim = getattr(old, "simulator", None)
                if sim is not None and sim in self.devices._owned:
                    self.devices._owned.remove(sim)
                    sim.close()
            setattr(self.devices, name, new_device)
            self.config = config
            if self.config_path is not None:
                self.config_path.parent.mkdir(parents=True, exist_ok=True)
                self.config_path.write_text(config.template(), encoding="utf-8")
            from kiosk import audit

            # Which settings changed, not their values (paths, addresses): enough to follow up.
            audit.append(db, self.actor, "admin.device_config", name,
                         {"keys": sorted(changes)})
            return dev.device_states(self.devices), print_jobs.pending_count(db)

        self.worker.submit(job, on_done, on_error)

    def shutdown(self) -> None:
        self._retry.stop()
        self.worker.shutdown()
        self.devices.close()


def _PRINTER_TYPES() -> tuple[type, ...]:
    from kiosk.devices.printer import Printer

    return (Printer,)
