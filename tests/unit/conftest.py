"""Fixtures shared by the unit tests of sync, retention and the audit anchor."""

from __future__ import annotations

import pytest
from sync_support import InProcessPlatform


@pytest.fixture
def platform(tmp_path):
    """The platform's app, database and signing keys, in this process (sync_support)."""
    server = InProcessPlatform(tmp_path / "platform")
    yield server
    server.close()


@pytest.fixture
def client(platform):
    """A PlatformClient of terminal K01 of hall H0001, enrolled with ``platform``."""
    return platform.client(platform.enroll("H0001", "K01"))
