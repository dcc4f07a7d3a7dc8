"""The PySide6 screens. The only package allowed to import Qt."""

from kiosk.ui.refcount_guard import guard as _guard

# Before any screen runs: PySide6 6.12 on Python 3.11 under-counts None and True (see there).
_guard()
