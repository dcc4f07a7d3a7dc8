"""Shared fixtures. With KIOSK_BLOCK_QT=1 the domain tests run as if PySide6 were not installed."""

from __future__ import annotations

import importlib.abc
import os
import sys
from pathlib import Path

import pytest


class _BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pytestqt"):
            raise ImportError(f"{name} is blocked: domain code must not need Qt")
        return None


if os.environ.get("KIOSK_BLOCK_QT"):
    sys.meta_path.insert(0, _BlockQt())
    for mod in [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")]:
        del sys.modules[mod]


def _pseudo_terminals_work() -> bool:
    try:
        master, slave = os.openpty()
    except OSError:
        return False
    os.close(master)
    os.close(slave)
    return True


def pytest_collection_modifyitems(config, items):
    """Tests marked ``pty`` talk to simulated serial devices over pseudo-terminals. A chroot
    without /dev/pts has none: say so as a skip rather than fail for a reason that is not ours."""
    if _pseudo_terminals_work():
        return
    skip = pytest.mark.skip(reason="no pseudo-terminals here (/dev/pts not mounted)")
    for item in items:
        if "pty" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def db(tmp_path: Path):
    """A fresh, migrated store in a temporary directory."""
    from kiosk.store import open_store

    database = open_store(tmp_path / "kiosk.db")
    yield database
    database.conn.close()


@pytest.fixture(scope="session")
def sample_bundle() -> dict:
    from kiosk import catalog

    return catalog.load_bundle(catalog.SAMPLE_CATALOG)


@pytest.fixture
def catalog_db(db, sample_bundle):
    """A fresh store with the bundled sample catalog applied."""
    from kiosk import catalog

    catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
    return db


@pytest.fixture
def midday_in_the_hall(monkeypatch):
    """The hall's day follows the machine's time zone, and queue tests book slots around now:
    run them in a zone where it is about noon, so no test straddles midnight (one failed every
    evening after 22:00 UTC before this)."""
    import time
    from datetime import UTC, datetime

    offset = 12 - datetime.now(UTC).hour  # hours east of UTC
    monkeypatch.setenv("TZ", f"HALL{-offset:+d}")  # POSIX TZ counts hours west, hence the sign
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
