"""Where the bundled resources live (catalog, schema, translations)."""

from pathlib import Path

# resources/ sits beside the package in the source tree (editable install).
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
