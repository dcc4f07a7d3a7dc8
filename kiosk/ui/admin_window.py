"""The admin console: one tab per concern (sync and catalog, devices, ...).

Each page is a widget in its own module; ADMIN_PAGES lists them as (title key, factory), where the
factory takes the AdminContext and returns the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QMainWindow, QTabWidget, QWidget

from kiosk.config import Config
from kiosk.i18n import tr
from kiosk.ui import theme
from kiosk.ui.services import Services


@dataclass
class AdminContext:
    services: Services
    config: Config
    extra: dict[str, Any]


# Pages register here: (ui.json key of the tab title, factory).
ADMIN_PAGES: list[tuple[str, Callable[[AdminContext], QWidget]]] = []


def _sync_page(context: AdminContext) -> QWidget:
    from kiosk.ui.admin_sync import SyncPage  # lazy: that module imports AdminContext from here

    return SyncPage(context)


ADMIN_PAGES.append(("admin.sync.tab", _sync_page))


def _devices_page(context: AdminContext) -> QWidget:
    from kiosk.ui.admin_devices import DevicesPage  # lazy, as above

    return DevicesPage(context)


ADMIN_PAGES.append(("admin.devices.tab", _devices_page))


def _queue_stats_page(context: AdminContext) -> QWidget:
    from kiosk.ui.queue_stats_page import QueueStatsPage  # lazy, as above

    return QueueStatsPage(context)


ADMIN_PAGES.append(("admin.queue.tab", _queue_stats_page))


def _evaluations_page(context: AdminContext) -> QWidget:
    from kiosk.ui.admin_evaluations import EvaluationsPage  # lazy, as above

    return EvaluationsPage(context)


ADMIN_PAGES.append(("admin.evaluation.tab", _evaluations_page))


class AdminWindow(QMainWindow):
    def __init__(self, context: AdminContext) -> None:
        super().__init__()
        self.context = context
        lang = context.config.language
        self.setWindowTitle(tr("admin.title", lang))
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        self.pages: dict[str, QWidget] = {}
        for key, factory in ADMIN_PAGES:
            page = factory(context)
            self.pages[key] = page
            self.tabs.addTab(page, tr(key, lang).replace("&", "&&"))  # '&' is not a mnemonic
        self.setStyleSheet(theme.style_sheet(False))
        self.resize(1920, 1080)
