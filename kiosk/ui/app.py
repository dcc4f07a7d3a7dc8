"""Starting the Qt application for a mode, and the offscreen screenshot tour of the demo."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kiosk.config import Config
from kiosk.i18n import LANGUAGES
from kiosk.ui import theme
from kiosk.ui.kiosk_window import KioskWindow
from kiosk.ui.services import Services
from kiosk.ui.worker import StoreWorker

log = logging.getLogger(__name__)


def has_display() -> bool:
    return bool(
        os.environ.get("QT_QPA_PLATFORM")
        or os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or sys.platform in ("win32", "darwin")
    )


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kiosk")
    theme.setup_fonts(app)
    return app


def build_services(open_db: Callable, sync_agent: Any = None) -> Services:
    """Services on a store worker; with a SyncAgent, sync gets its own worker and connection."""
    services = Services(StoreWorker(open_db))
    if sync_agent is not None:
        services.attach_sync(sync_agent, StoreWorker(open_db))
    return services


def shutdown_services(services: Services) -> None:
    from kiosk.ui.queue_services import detach_queue

    detach_queue(services)
    services.worker.shutdown()
    if services.sync_worker is not None:
        services.sync_worker.shutdown()
    if services.sync_agent is not None:
        services.sync_agent.close()  # after its worker: no round can start a helper again
    if services.lookup_worker is not None:
        services.lookup_worker.shutdown()


def build_kiosk(open_db: Callable, config: Config, sync_agent: Any = None, *,
                data_dir: Path | None = None,
                demo_queue: bool = False) -> tuple[KioskWindow, StoreWorker]:
    services = build_services(open_db, sync_agent)
    if data_dir is not None:  # the hall queue and the ticket printer (kiosk.ui.queue_services)
        from kiosk.ui.queue_services import attach_queue

        attach_queue(services, config, data_dir, open_db, demo=demo_queue)
    window = KioskWindow(services, config)
    return window, services.worker


def run_admin(open_db: Callable, config: Config, *, sync_agent: Any = None,
              windowed: bool = False, data_dir: Path | None = None,
              config_path: Path | None = None) -> int:
    """The admin console (``kiosk run --mode admin``)."""
    from kiosk.ui.admin_window import AdminContext, AdminWindow

    app = make_app()
    services = build_services(open_db, sync_agent)
    admin = admin_sign_in(services, config.language)
    if admin is None:  # cancelled: a clerk or a visitor gets no console
        shutdown_services(services)
        return 1
    services.admin_actor = admin.staff_id
    # The device page works on this terminal's data directory (print jobs, config file).
    extra = {"data_dir": data_dir, "config_path": config_path, "admin": admin}
    window = AdminWindow(AdminContext(services, config, extra))
    if config.fullscreen and not windowed:
        window.showFullScreen()
    else:
        window.show()
    try:
        return app.exec()
    finally:
        shutdown_services(services)


def admin_sign_in(services: Services, lang: str) -> Any:
    """The admin console's door: the PIN dialog until an admin signs in (kiosk.staff.Clerk),
    or None when cancelled. A clerk's PIN is refused there, audited (kiosk.staff)."""
    from kiosk.ui.lockdown import PinDialog

    gate = PinDialog(services, "admin_console")
    signed_in: list[Any] = []
    gate.accepted_admin.connect(signed_in.append)
    gate.start(lang, show=False)
    gate.exec()
    return signed_in[0] if signed_in else None


def run_kiosk(open_db: Callable, config: Config, *, windowed: bool = False,
              started_at: float | None = None, exit_when_shown: bool = False,
              sync_agent: Any = None, data_dir: Path | None = None,
              demo_queue: bool = False) -> int:
    app = make_app()
    window, worker = build_kiosk(open_db, config, sync_agent, data_dir=data_dir,
                                 demo_queue=demo_queue)
    if config.fullscreen and not windowed:
        from kiosk.ui.lockdown import KioskLock

        # Frameless, on top, shortcuts swallowed; exit only through an admin's PIN.
        window.lock = KioskLock(window, window.services, lambda: window.lang)
        window.showFullScreen()
    else:
        window.show()
    if started_at is not None:
        def shown() -> None:
            # Absolute time too, so a parent process can measure from before our interpreter ran.
            print(f"home_shown_ms: {(time.perf_counter() - started_at) * 1000:.0f}", flush=True)
            print(f"home_shown_at: {time.time():.4f}", flush=True)
            if exit_when_shown:
                app.quit()
        QTimer.singleShot(0, shown)
    try:
        return app.exec()
    finally:
        shutdown_services(window.services)


def settle(app: QApplication, worker: StoreWorker) -> None:
    """Let every pending store job finish and its answer reach the screens."""
    for _ in range(3):
        worker.wait_idle()
        app.processEvents()


def take_screenshots(open_db: Callable, config: Config, out_dir: Path,
                     languages: tuple[str, ...] = LANGUAGES) -> list[Path]:
    """Drive through every screen offscreen and save one PNG per screen and language."""
    app = make_app()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for orientation in ("portrait", "landscape"):
        conf = Config(**{**config.__dict__, "orientation": orientation, "fullscreen": False})
        window, worker = build_kiosk(open_db, conf)
        window.show()
        try:
            for lang in languages:
                written += _tour(app, window, worker, lang, out_dir, orientation)
        finally:
            window.close()
            worker.shutdown()
    from kiosk.ui.queue_tour import queue_screenshots  # ticket, counter and display screens

    written += queue_screenshots(config, out_dir, languages)
    return written


def _tour(app: QApplication, w: KioskWindow, worker: StoreWorker, lang: str, out_dir: Path,
          orientation: str) -> list[Path]:
    shots: list[Path] = []

    def shot(name: str) -> None:
        settle(app, worker)
        path = out_dir / f"{orientation}-{lang}-{len(shots) + 1:02d}-{name}.png"
        w.grab().save(str(path))
        shots.append(path)

    w.reset_for_next_visitor()
    w.set_language(lang)
    shot("home")
    w.home.tiles["tile.guides"].click()
    shot("departments")
    settle(app, worker)
    w.departments.buttons[0].click()
    shot("items")
    w.go_home()
    w.home.tiles["tile.search"].click()
    for ch in "yyzz":
        w.search.keyboard.keys[ch].click()
    shot("search-yyzz")
    w.search.keyboard.cleared.emit()
    for ch in ("dianti" if lang != "en" else "food"):
        w.search.keyboard.keys[ch].click()
    shot("search-word")
    w.search.rows[0].chosen.emit(w.search.rows[0].code)
    shot("guide")
    w.guide.material_boxes[0].setChecked(True)
    w.guide.scroll.ensureWidgetVisible(w.guide.material_boxes[0], 0, 200)
    shot("guide-materials")
    w.guide.scroll.verticalScrollBar().setValue(w.guide.scroll.verticalScrollBar().maximum())
    shot("guide-end")
    w.set_large_text(True)
    w.guide.scroll.verticalScrollBar().setValue(0)
    shot("guide-large-text")
    w.set_large_text(False)
    w.countdown.show_seconds(7, lang)
    shot("idle-countdown")
    w.reset_for_next_visitor()
    return shots
