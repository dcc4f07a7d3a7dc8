"""Screens run offscreen; skipped where PySide6 is unavailable (the headless domain run)."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6.QtWidgets")
