"""The terminal's heartbeat: an event telling the platform it is alive and how it is doing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import sqlite_utils

from kiosk import __version__, catalog
from kiosk.applications import record_event
from kiosk.sync import outbox

log = logging.getLogger(__name__)

DeviceStates = Callable[[], list[dict]]


def no_devices() -> list[dict]:
    return []


def heartbeat_payload(db: sqlite_utils.Database, devices: DeviceStates = no_devices) -> dict:
    """Version, catalog version, outbox depth and device states (name, kind, ok, detail)."""
    try:
        states = list(devices())
    except Exception as exc:  # a broken device probe must not stop the heartbeat that reports it
        log.exception("device states unavailable")
        states = [{"name": "devices", "kind": "probe", "ok": False, "detail": str(exc)[:200]}]
    return {
        "version": __version__,
        "catalog_version": catalog.current_version(db),
        "outbox_depth": outbox.depth(db),
        "devices": states,
    }


def record_heartbeat(db: sqlite_utils.Database, devices: DeviceStates = no_devices, *,
                     now: datetime | None = None) -> str:
    """Queue a heartbeat event (sent with the other events); returns its id."""
    return record_event(db, "heartbeat", heartbeat_payload(db, devices), now=now)
