"""Fuzz tests (hypothesis): marked ``fuzz``; their case counts go to $KIOSK_FUZZ_COUNTS."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "unit"))  # sync_support: the in-process platform


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().parent == HERE:
            item.add_marker(pytest.mark.fuzz)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("KIOSK_FUZZ_COUNTS")
    fuzz_support = sys.modules.get("fuzz_support")
    if path and fuzz_support is not None:
        Path(path).write_text(json.dumps(dict(fuzz_support.CASES), ensure_ascii=False, indent=1),
                              encoding="utf-8")
