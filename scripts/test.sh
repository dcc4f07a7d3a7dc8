#!/usr/bin/env bash
# The whole test suite: lint, the import contract, the domain tests with Qt unavailable,
# then everything (domain, screens offscreen, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
py=.venv/bin
echo "== ruff"
$py/ruff check kiosk tests bench
echo "== import contract: only kiosk.ui imports Qt"
$py/lint-imports
echo "== domain tests with PySide6 blocked"
KIOSK_BLOCK_QT=1 $py/pytest -q -p no:pytest-qt -p no:cacheprovider tests/unit
echo "== all tests"
$py/pytest -q -p no:cacheprovider tests
