"""One sync round: catalog in, outbox out, status in, heartbeat; and what the screens show of it.

The app runs :meth:`SyncAgent.run_round` every ``[sync] interval_s`` on a worker thread with its
own store connection, so a slow or absent network never delays a visitor. A round never raises
for a network or platform problem: it returns a :class:`SyncReport` saying what happened, and
keeps "online / offline since" in the store's settings so the status mark survives a restart.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
import sqlite_utils

from kiosk import audit, catalog, retention
from kiosk.applications import iso, utc_now
from kiosk.config import Config
from kiosk.store import get_setting
from kiosk.sync import anchor, catalog_updater, outbox, status
from kiosk.sync.errors import (
    AuditChainMismatch,
    AuthRejected,
    CatalogApplyFailed,
    CatalogRefused,
    InsecureTransport,
    NotConfigured,
    PlatformFailed,
    PlatformUnreachable,
    RequestRefused,
    SyncError,
    revive,
)
from kiosk.sync.heartbeat import DeviceStates, no_devices, record_heartbeat
from kiosk.sync.http import PlatformClient, make_session, read_token

log = logging.getLogger(__name__)

LAST_ROUND = "sync.last_round_at"
LAST_ONLINE = "sync.last_online_at"
OFFLINE_SINCE = "sync.offline_since"
LAST_ERROR = "sync.last_error"
LAST_PROBLEM = "sync.last_problem"  # class name of the main failure, for the screens' sentence


@dataclass(frozen=True)
class SyncReport:
    """The outcome of one round (or, from :meth:`SyncAgent.state`, of the last one)."""

    online: bool
    at: str | None  # when the round ran (ISO 8601 UTC); None: never synced
    pushed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    outbox_depth: int = 0
    failed_total: int = 0
    catalog_version: int | None = None
    previous_catalog_version: int | None = None
    catalog_state: str = ""
    status_changes: int = 0
    offline_since: str | None = None
    last_online_at: str | None = None
    problem: SyncError | None = None  # the main failure, for kiosk.sync.errors.message_for
    ran: bool = False  # True: this report is a round just run; False: the stored state

    @property
    def pushed_total(self) -> int:
        return sum(self.pushed.values())


class SyncAgent:
    """Everything a terminal needs to sync: its config, files, one session, the device probe."""

    def __init__(self, config: Config, data_dir: Path, *,
                 devices: DeviceStates = no_devices, blobs_dir: Path | None = None,
                 session_factory: Callable[..., requests.Session] = make_session,
                 isolate_catalog: bool = False) -> None:
        self.config = config
        # The app sets this: new catalogs are parsed and applied in a helper process, so the
        # process drawing the screen never holds the GIL for a 30 MB bundle.
        self.isolate_catalog = isolate_catalog
        self._warm_helper = catalog_updater.WarmHelper() if isolate_catalog else None
        self.data_dir = Path(data_dir)
        # Every session this agent makes (sync, lookups) carries the TLS settings of [sync].
        # Tests mount the in-process platform through their own factory.
        sync = config.sync
        ca_file = str(self.path(sync.ca_file)) if sync.ca_file else None
        self.session_factory = functools.partial(session_factory, pin_sha256=sync.pin_sha256,
                                                 ca_file=ca_file)
        self.blobs_dir = blobs_dir or self.data_dir / "blobs"
        self.devices = devices
        self._client: PlatformClient | None = None
        self.anchor_every_s = anchor.EVERY_S  # how often the audit anchor is fetched
        self.backoff = outbox.Backoff(config.sync.backoff_base_s, config.sync.backoff_max_s)

    def close(self) -> None:
        """Stop the catalog helper kept waiting between rounds (isolate_catalog)."""
        if self._warm_helper is not None:
            self._warm_helper.close()

    def path(self, name: str) -> Path:
        """A configured file: relative names live in the data directory."""
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.data_dir / path

    @property
    def client(self) -> PlatformClient:
        if self._client is None:
            token = read_token(self.path(self.config.sync.token_file))
            sync = self.config.sync
            session = self.session_factory(token, connect_timeout_s=sync.connect_timeout_s,
                                           timeout_s=sync.timeout_s)
            self._client = PlatformClient(self.config.platform_url, session)
        return self._client

    def reset_client(self) -> None:
        """Drop the session (e.g. after the token file was replaced)."""
        if self._client is not None:
            self._client.session.close()
        self._client = None

    # --- the round -------------------------------------------------------------------------

    def run_round(self, db: sqlite_utils.Database, *, force: bool = False,
                  now: datetime | None = None, actor: str | None = None) -> SyncReport:
        """Catalog, heartbeat, push, status. Never raises for network or platform trouble.
        ``actor``: the admin who asked for this round (audited as admin.sync_now)."""
        moment = now or utc_now()
        if actor:
            audit.append(db, actor, "admin.sync_now", "sync", {"force": force}, now=moment)
        errors: list[str] = []
        problems: list[SyncError] = []
        online = False
        catalog_state = ""
        pushed: dict[str, int] = {}
        failed: dict[str, int] = {}
        changes = 0
        mismatch: AuditChainMismatch | None = None

        def note(exc: SyncError) -> None:
            errors.append(f"{type(exc).__name__}: {exc}")
            problems.append(exc)

        try:
            client = self.client
            reached = False  # has the platform answered anything yet this round?
            try:
                key_path = self.path(self.config.sync.public_key_file)
                key = catalog_updater.public_key(key_path)  # NotConfigured when unusable
                if self.isolate_catalog:
                    update = catalog_updater.update_catalog_isolated(
                        db, client, key_path, self.data_dir, warm=self._warm_helper)
                else:
                    update = catalog_updater.update_catalog(db, client, key)
                catalog_state = update.state
                reached = True
            except NotConfigured as exc:  # no key: catalogs cannot be checked, records still go
                note(exc)
                catalog_state = "error"
            except (CatalogRefused, CatalogApplyFailed, PlatformFailed, RequestRefused) as exc:
                # A refused bundle or a failing catalog endpoint must not hold back the records.
                note(exc)
                reached = True
                catalog_state = "refused" if isinstance(exc, CatalogRefused) else "error"
            if reached:  # heartbeats only when someone will hear them, not one per offline round
                record_heartbeat(db, self.devices, now=moment)
            result = outbox.push(db, client, self.blobs_dir, batch_size=self.config.sync.batch_size,
                                 backoff=self.backoff, force=force, now=moment)
            pushed, failed = result.sent, result.failed
            if result.error is not None:
                note(result.error)
            # A 5xx is a platform that answered; the status pull below also raises
            # PlatformUnreachable (so: offline) when nothing else has reached it this round.
            online = not isinstance(result.error, PlatformUnreachable)
            if online:
                changes = status.pull_status(db, client)
                if changes:  # each change wrote an audit record: send it this round, not next
                    again = outbox.push(db, client, self.blobs_dir, force=force,
                                        batch_size=self.config.sync.batch_size,
                                        backoff=self.backoff)
                    pushed = {k: pushed.get(k, 0) + n for k, n in again.sent.items()}
                    failed = {k: failed.get(k, 0) + n for k, n in again.failed.items()}
                    if again.error is not None:
                        note(again.error)
                if not reached:  # the platform answered after all: say hello next round
                    record_heartbeat(db, self.devices, now=moment)
                # The chain against the platform's anchor: at most every anchor_every_s.
                mismatch = anchor.check_if_due(db, client, self.config.hall_id,
                                               self.config.terminal_id, now=moment,
                                               every_s=self.anchor_every_s)
        except PlatformUnreachable as exc:
            note(exc)
            online = False
        except SyncError as exc:  # auth, not configured, 5xx, a refused request
            note(exc)
            if isinstance(exc, AuthRejected | NotConfigured):
                self.reset_client()
            if isinstance(exc, InsecureTransport):  # not the platform we trust: not online
                online = False
        if online:
            outbox.prune_heartbeats(db, now=moment)
        # A mismatch found earlier stands (offline rounds too) until a check finds the chain whole.
        mismatch = mismatch or anchor.stored_mismatch(db)
        if mismatch is not None:
            note(mismatch)
        self._purge(db, moment)
        for line in errors:
            log.warning("sync: %s", line)
        problem = min(problems, key=_severity) if problems else None
        self._remember(db, online, moment, errors, problem)
        return self.state(db, pushed=pushed, failed=failed, errors=errors,
                          catalog_state=catalog_state, status_changes=changes,
                          problem=problem, ran=True)

    def _purge(self, db: sqlite_utils.Database, moment: datetime) -> None:
        """Retention (kiosk.retention), at most hourly; works offline, never fails the round."""
        try:
            retention.purge_if_due(db, self.blobs_dir, self.config.security.retention_days,
                                   now=moment)
        except (sqlite3.Error, OSError, ValueError) as exc:
            log.error("retention purge failed, will try again next hour: %s", exc)

    def _remember(self, db: sqlite_utils.Database, online: bool, moment: datetime,
                  errors: list[str], problem: SyncError | None) -> None:
        stamp = iso(moment)
        values = {LAST_ROUND: stamp, LAST_ERROR: "; ".join(errors)[:1000],
                  LAST_PROBLEM: type(problem).__name__ if problem else ""}
        if online:
            values[LAST_ONLINE] = stamp
        with db.atomic():
            for key, value in values.items():
                _put(db, key, value)
            if online:
                db.execute("DELETE FROM settings WHERE key = ?", [OFFLINE_SINCE])
            elif get_setting(db, OFFLINE_SINCE) is None:
                _put(db, OFFLINE_SINCE, stamp)

    # --- what the screens show -------------------------------------------------------------

    def state(self, db: sqlite_utils.Database, **round_values: object) -> SyncReport:
        """The sync state as stored (last round, offline since, outbox, catalog versions)."""
        last_round = get_setting(db, LAST_ROUND)
        offline_since = get_setting(db, OFFLINE_SINCE)
        values: dict = {
            "online": last_round is not None and offline_since is None,
            "at": last_round,
            "outbox_depth": outbox.depth(db),
            "failed_total": outbox.failed_count(db),
            "catalog_version": catalog.current_version(db),
            "previous_catalog_version": catalog_updater.previous_version(db),
            "offline_since": offline_since,
            "last_online_at": get_setting(db, LAST_ONLINE),
        }
        if "errors" not in round_values:
            last_error = get_setting(db, LAST_ERROR)
            values["errors"] = [last_error] if last_error else []
            name = get_setting(db, LAST_PROBLEM)
            values["problem"] = revive(name, last_error or "") if name else None
        values.update(round_values)
        return SyncReport(**values)

    def rollback(self, db: sqlite_utils.Database) -> int:
        """Restore the previous catalog version (see catalog_updater.rollback)."""
        return catalog_updater.rollback(db)


# Which failure a screen names when a round had several: what stops syncing altogether first.
# A tampered audit trail comes before all: the administrator must not miss it behind "offline".
_ORDER = (AuditChainMismatch, InsecureTransport, AuthRejected, PlatformUnreachable, PlatformFailed,
          NotConfigured, RequestRefused, CatalogRefused)


def _severity(exc: SyncError) -> int:
    return next((n for n, cls in enumerate(_ORDER) if isinstance(exc, cls)), len(_ORDER))


def _put(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
