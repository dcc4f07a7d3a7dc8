"""Screenshots of the queue's screens (``kiosk demo --screenshots``): the kiosk's ticket flow,
the counter and the hall board, on a fresh hall queue of their own (the in-process twin) with a
few visitors, so every run shows the same numbers."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from kiosk import catalog
from kiosk import queue as q
from kiosk.config import Config, QueueConfig
from kiosk.platform.db import PlatformDB
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.staff import Clerk
from kiosk.store import open_store


class _Tour:
    """One language's shots, on its own temporary data directory and hall queue."""

    def __init__(self, app: QApplication, config: Config, out_dir: Path, lang: str) -> None:
        self.app, self.out_dir, self.lang = app, out_dir, lang
        self.base = Path(tempfile.mkdtemp(prefix="kiosk-queue-tour-"))
        self.hall = PlatformDB(self.base / "demo-hall-queue.db")
        self.config = replace(config, language=lang, orientation="portrait", fullscreen=False,
                              queue=QueueConfig(window=3, categories="AB", tts_engine="none",
                                                poll_ms=60_000))
        self.written: list[Path] = []
        self.open_db().conn.close()

    def open_db(self):  # noqa: ANN201 (sqlite_utils.Database)
        db = open_store(self.base / "kiosk.db")
        catalog.ensure_catalog(db)
        return db

    def settle(self, waits: list[Callable[[], None]], rounds: int = 4) -> None:
        for _ in range(rounds):
            for wait in waits:
                wait()
            self.app.processEvents()

    def shot(self, widget: QWidget, name: str, orientation: str, waits: list) -> None:
        self.settle(waits)
        path = self.out_dir / f"{orientation}-{self.lang}-queue-{name}.png"
        widget.grab().save(str(path))
        self.written.append(path)

    def services(self, terminal: str):  # noqa: ANN201 (QueueServices)
        from kiosk.ui.queue_services import QueueServices

        return QueueServices(self.config, self.open_db,
                             lambda: InProcessHallQueue(self.hall, "H0001", terminal), push_ms=0)

    def kiosk(self) -> None:
        from kiosk.ui.app import build_kiosk, shutdown_services

        window, worker = build_kiosk(self.open_db, self.config, data_dir=self.base,
                                     demo_queue=True)
        window.show()
        services = window.services
        waits = [worker.wait_idle, services.queue.worker.wait_idle,
                 services.devices.worker.wait_idle]
        try:
            flow = window.tickets
            window.home.tiles["tile.ticket"].click()
            self.shot(window, "01-ticket-categories", "portrait", waits)
            flow.choose.category_buttons["A"].click()
            self.shot(window, "02-ticket-items", "portrait", waits)
            flow.choose.item_buttons[1].click()
            self.shot(window, "03-ticket-number", "portrait", waits + waits)
            services.queue.worker.submit(lambda ctx: setattr(ctx.queue, "reachable", False))
            window.go_home()
            window.home.tiles["tile.ticket"].click()
            self.settle(waits)
            flow.choose.category_buttons["B"].click()
            flow.choose.item_buttons[0].click()
            self.shot(window, "04-ticket-offline", "portrait", waits + waits)
            services.queue.worker.submit(lambda ctx: setattr(ctx.queue, "reachable", True))
            window.show_screen(flow.lookup)
            flow.lookup.field.setText("A2")
            flow.lookup.submit()
            self.shot(window, "05-ticket-lookup", "portrait", waits)
        finally:
            window.close()
            shutdown_services(services)
            _dispose(window)

    def counter(self) -> None:
        from kiosk.ui.counter_window import CounterWindow

        services = self.services("W03")
        window = CounterWindow(services, self.config)
        window.resize(1920, 1080)
        window.show()
        waits = [services.worker.wait_idle]
        try:
            self.shot(window, "06-counter-sign-in", "landscape", waits)
            name = "Wang Fang" if self.lang == "en" else "王芳"
            window._signed_in(Clerk("S001", name), 3, ["A", "B"])
            self.settle(waits)
            window.desk.press("call_next")
            self.shot(window, "07-counter-called", "landscape", waits)
        finally:
            window.poll.stop()
            window.close()
            services.shutdown()
            _dispose(window)

    def display(self) -> None:
        from kiosk.ui.announcer import Announcer
        from kiosk.ui.display_window import DisplayWindow

        services = self.services("D01")
        window = DisplayWindow(services, self.config, Announcer("none"))
        window.resize(1920, 1080)
        window.show()
        waits = [services.worker.wait_idle]
        try:
            self.settle(waits)
            InProcessHallQueue(self.hall, "H0001", "W05").call_next(5, str(uuid.uuid4()), ["C"])
            window.refresh()
            self.shot(window, "08-display", "landscape", waits)
        finally:
            window.poll.stop()
            window.close()
            services.shutdown()
            _dispose(window)

    def close(self) -> None:
        self.hall.close()
        shutil.rmtree(self.base, ignore_errors=True)


def queue_screenshots(config: Config, out_dir: Path, languages: tuple[str, ...]) -> list[Path]:
    """Write ticket, counter and display screenshots for each language; returns the paths."""
    from kiosk.ui.app import make_app

    app = make_app()
    written: list[Path] = []
    for lang in languages:
        tour = _Tour(app, config, out_dir, lang)
        try:
            _seed(tour.hall)
            tour.kiosk()
            tour.counter()
            tour.display()
            written += tour.written
        finally:
            tour.close()
    return written


def _dispose(window: QWidget) -> None:
    """Deliver what is still queued for a window, then delete it now rather than leave it
    to Python's exit."""
    QCoreApplication.processEvents()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QCoreApplication.processEvents()


def _seed(hall: PlatformDB) -> None:
    """A morning in the hall: numbers in A, B and C, some called, a booked appointment."""
    kiosk = InProcessHallQueue(hall, "H0001", "K02")
    for cat in "AABACCBACA":
        kiosk.issue({"request_id": str(uuid.uuid4()), "category": cat})
    kiosk.mark_priority("A004", str(uuid.uuid4()), "elderly")
    now = q.utc_now()
    kiosk.add_appointment({"code": "YY20261207", "category": "B",
                           "slot_start": q.iso(now - timedelta(minutes=5)),
                           "slot_end": q.iso(now + timedelta(minutes=25))})
    for window, cats in ((1, ["A"]), (2, ["B", "C"]), (4, ["A", "C"])):
        InProcessHallQueue(hall, "H0001", f"W0{window}").call_next(window, str(uuid.uuid4()),
                                                                   cats)
