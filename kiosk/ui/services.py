"""What the screens may ask for. Each call runs on the store thread and answers by callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk import catalog, search
from kiosk.ui.worker import StoreWorker

Done = Callable[[Any], None]
Failed = Callable[[Exception], None] | None


class Services:
    def __init__(self, worker: StoreWorker) -> None:
        self.worker = worker

    def departments(self, on_done: Done, on_error: Failed = None) -> None:
        self.worker.submit(catalog.departments, on_done, on_error)

    def items_in_department(self, code: str, on_done: Done, on_error: Failed = None) -> None:
        self.worker.submit(lambda db: catalog.items_in_department(db, code), on_done, on_error)

    def item(self, code: str, on_done: Done, on_error: Failed = None) -> None:
        """The item with its department, as (item, department) or (None, None)."""

        def job(db: Any) -> tuple[dict | None, dict | None]:
            item = catalog.get_item(db, code)
            return item, (catalog.get_department(db, item["department"]) if item else None)

        self.worker.submit(job, on_done, on_error)

    def search(self, query: str, lang: str, on_done: Done, on_error: Failed = None) -> None:
        self.worker.submit(lambda db: search.search(db, query, lang, limit=40), on_done, on_error)
