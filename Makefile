# The two commands of the README. Each installs what is missing first.
.PHONY: setup demo test lint screenshots bench

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/kiosk demo

test: setup
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check kiosk tests bench
	.venv/bin/lint-imports

screenshots: setup
	QT_QPA_PLATFORM=offscreen .venv/bin/kiosk demo --screenshots screenshots

bench: setup
	QT_QPA_PLATFORM=offscreen .venv/bin/python bench/search.py
	QT_QPA_PLATFORM=offscreen .venv/bin/python bench/startup.py
