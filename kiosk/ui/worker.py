"""Runs store work off the UI thread and answers on it (the Anki "operation" pattern).

One worker thread owns the store connection, so jobs run one at a time in the order given and
SQLite is never shared between threads. Screens never call this directly: they get a Services
object (kiosk.ui.services) whose methods take success and failure callbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)


class StoreWorker(QObject):
    _answered = Signal(object, object)  # callback, value

    def __init__(self, open_db: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._db: Any = None
        self._open_db = open_db
        self._answered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def submit(
        self,
        job: Callable[[Any], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run ``job(db)`` on the store thread; call ``on_done(result)`` or ``on_error(exc)`` here."""

        def run() -> None:
            try:
                if self._db is None:
                    self._db = self._open_db()
                result = job(self._db)
            except Exception as exc:  # reported to the screen, never lost silently
                log.exception("store job failed")
                if on_error is not None:
                    self._answered.emit(on_error, exc)
                return
            if on_done is not None:
                self._answered.emit(on_done, result)

        self._pool.submit(run)

    def _deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        callback(value)

    def wait_idle(self) -> None:
        """Block until every job submitted so far has run (used at shutdown and by tests)."""
        self._pool.submit(lambda: None).result()

    def shutdown(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

        self._pool.submit(close)
        self._pool.shutdown(wait=True)
