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

    #: the hall queue (kiosk.ui.queue_services.QueueServices, its own thread), when attached
    queue: Any = None
    #: who the audit trail names for admin actions (the admin console sets the signed-in admin)
    admin_actor: str = "admin"

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

    def evaluation_summary(self, period: str, on_done: Done, on_error: Failed = None) -> None:
        """The 好差评 distribution of ``period`` (kiosk.progress.evaluation_summary)."""
        from kiosk.progress import evaluation_summary

        self.worker.submit(lambda db: evaluation_summary(db, period), on_done, on_error)

    # --- sync with the platform ------------------------------------------------------------
    # Rounds run on their own worker thread with its own store connection (WAL lets both work
    # at once), so a slow or absent network never delays a visitor's search.

    sync_agent: Any = None
    sync_worker: StoreWorker | None = None
    _round_running = False

    def attach_sync(self, agent: Any, worker: StoreWorker) -> None:
        """Enable sync: ``agent`` is a kiosk.sync.runner.SyncAgent, ``worker`` its own thread."""
        self.sync_agent, self.sync_worker = agent, worker

    @property
    def sync_enabled(self) -> bool:
        return self.sync_agent is not None

    def sync_round(self, on_done: Done, on_error: Failed = None, *, force: bool = False) -> bool:
        """Run one sync round (answers a SyncReport); False, and nothing run, while one runs."""
        if self.sync_worker is None or self._round_running:
            return False
        self._round_running = True

        def done(report: Any) -> None:
            self._round_running = False
            on_done(report)

        def failed(exc: Exception) -> None:
            self._round_running = False
            if on_error is not None:
                on_error(exc)

        agent = self.sync_agent
        # A forced round is an administrator's "sync now": audited.
        actor = self.admin_actor if force else None
        self.sync_worker.submit(lambda db: agent.run_round(db, force=force, actor=actor),
                                done, failed)
        return True

    lookup_worker: StoreWorker | None = None
    _lookup: Any = None

    def platform_application(self, number: str, on_done: Done, on_error: Failed = None) -> bool:
        """The platform's record of an application (a dict, or None when it does not know it),
        on a thread of its own with short timeouts; False, and nothing asked, when sync is off."""
        if self.sync_agent is None:
            return False
        if self.lookup_worker is None:
            from kiosk.sync.lookup import PlatformLookup

            self.lookup_worker = StoreWorker(lambda: None)  # no store: it only talks HTTP
            self._lookup = PlatformLookup(self.sync_agent)
        lookup = self._lookup
        self.lookup_worker.submit(lambda _db: lookup.application(number), on_done, on_error)
        return True

    def sync_state(self, on_done: Done, on_error: Failed = None) -> None:
        """The stored sync state (a SyncReport of the last round), or None when sync is off."""
        if self.sync_agent is None:
            on_done(None)
            return
        agent = self.sync_agent
        self.worker.submit(lambda db: agent.state(db), on_done, on_error)

    def failed_records(self, on_done: Done, on_error: Failed = None) -> None:
        """Records the platform refused for good, kept for the administrator."""
        from kiosk.sync import outbox

        self.worker.submit(outbox.failed_records, on_done, on_error)

    def retry_failed(self, on_done: Done, on_error: Failed = None) -> None:
        """Queue every refused record again; answers how many."""
        from kiosk.sync import outbox

        self.worker.submit(outbox.retry_failed, on_done, on_error)

    def rollback_catalog(self, on_done: Done, on_error: Failed = None) -> None:
        """Restore the previous catalog version; answers the version now serving."""
        from kiosk.sync.catalog_updater import rollback

        # On the sync thread: never at the same time as a catalog update.
        actor = self.admin_actor
        (self.sync_worker or self.worker).submit(lambda db: rollback(db, actor=actor),
                                                 on_done, on_error)
