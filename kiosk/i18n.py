"""Languages of the kiosk: picking catalog text and translating interface strings.

Three languages: Simplified Chinese (zh-Hans), Traditional Chinese (zh-Hant), English (en).
Interface strings live in resources/translations/ui.json, one entry per key with all three.
"""

from __future__ import annotations

import json
from functools import cache

from kiosk.resources import RESOURCES

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LANGUAGE = "zh-Hans"


def pick(text: dict | None, lang: str) -> str:
    """The text in ``lang``, falling back to Simplified Chinese (the catalog's required language)."""
    if not text:
        return ""
    return text.get(lang) or text.get(DEFAULT_LANGUAGE) or ""


def has(text: dict | None, lang: str) -> bool:
    return bool(text and text.get(lang))


@cache
def _strings() -> dict[str, dict[str, str]]:
    return json.loads((RESOURCES / "translations" / "ui.json").read_text(encoding="utf-8"))


def tr(key: str, lang: str, **values: object) -> str:
    """The interface string ``key`` in ``lang``; ``{name}`` placeholders filled from ``values``."""
    entry = _strings().get(key)
    if entry is None:
        raise KeyError(f"no interface string {key!r} in ui.json")
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def keys() -> list[str]:
    return list(_strings())
