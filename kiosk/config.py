"""Terminal configuration: one TOML file with documented defaults.

The file is optional; every key has a default below. ``kiosk config`` prints the documented
template. Unknown keys and wrong types are refused with a message naming the key. Device and sync
settings live in their own TOML tables ([printer], [idcard], [scanner], [capture], [sync]).
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from kiosk.i18n import LANGUAGES

TEMPLATE = """\
# Service-hall kiosk configuration. Every key is optional; the values shown are the defaults.

# Which hall this terminal stands in, and its own id in the hall (used in application numbers
# and queue tickets, so they stay unique with no network).
hall_id = "{hall_id}"
terminal_id = "{terminal_id}"

# Screen mode: kiosk (visitors), counter (window clerks), display (hall board), admin.
mode = "{mode}"

# Language shown after start and after every idle reset: zh-Hans, zh-Hant or en.
language = "{language}"

# Seconds without a touch before the 10-second countdown back to the home screen.
idle_timeout_s = {idle_timeout_s}

# The platform server this terminal syncs with.
platform_url = "{platform_url}"

# Address of an item's online guide, shown as a QR code; {{code}} is the item code.
guide_url_template = "{guide_url_template}"

# Screen: "portrait" (1080x1920) or "landscape" (1920x1080); fullscreen on a real kiosk.
orientation = "{orientation}"
fullscreen = {fullscreen}
"""


@dataclass(frozen=True)
class PrinterConfig:
    """[printer]: the receipt/ticket printer."""

    # simulated | network | usb | serial | lp
    kind: str = "simulated"


@dataclass(frozen=True)
class IdCardConfig:
    """[idcard]: the resident ID card reader."""

    # simulated | serial
    kind: str = "simulated"


@dataclass(frozen=True)
class ScannerConfig:
    """[scanner]: barcode / QR scanners."""

    # wedge (keyboard emulation) | serial | none
    kind: str = "wedge"


@dataclass(frozen=True)
class CaptureConfig:
    """[capture]: document capture."""

    # files | camera | sane
    kind: str = "files"


@dataclass(frozen=True)
class SyncConfig:
    """[sync]: talking to the platform."""

    # seconds between sync rounds
    interval_s: int = 30


@dataclass(frozen=True)
class Config:
    hall_id: str = "H0001"
    terminal_id: str = "K01"
    mode: str = "kiosk"
    language: str = "zh-Hans"
    idle_timeout_s: int = 90
    platform_url: str = "http://127.0.0.1:8700"
    guide_url_template: str = "https://zwfw.example.gov.cn/guide/{code}"
    orientation: str = "portrait"
    fullscreen: bool = True
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    idcard: IdCardConfig = field(default_factory=IdCardConfig)
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)

    def template(self) -> str:
        """The documented configuration file for these values."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if not _is_section(f.name)}
        values["fullscreen"] = "true" if self.fullscreen else "false"
        text = TEMPLATE.format(**values)
        for f in fields(self):
            if _is_section(f.name):
                section = getattr(self, f.name)
                text += f"\n# {type(section).__doc__}\n[{f.name}]\n"
                for sf in fields(section):
                    text += f"{sf.name} = {_toml_value(getattr(section, sf.name))}\n"
        return text


def _is_section(name: str) -> bool:
    return is_dataclass(getattr(Config(), name))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


class ConfigError(Exception):
    """The configuration file is unreadable or holds a bad value; the message names the key."""


_CHOICES = {
    "mode": ("kiosk", "counter", "display", "admin"),
    "language": LANGUAGES,
    "orientation": ("portrait", "landscape"),
}


def _checked(path: Path, defaults: Any, data: dict, prefix: str = "") -> Any:
    """``defaults`` with the values of ``data``, every key and type checked."""
    known = {f.name for f in fields(defaults)}
    values = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{path}: unknown key {name!r}")
        default = getattr(defaults, key)
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {name} must be a table [{name}]")
            values[key] = _checked(path, default, value, f"{name}.")
            continue
        if type(value) is not type(default):
            raise ConfigError(f"{path}: {name} must be a {type(default).__name__}, not {value!r}")
        if name in _CHOICES and value not in _CHOICES[name]:
            raise ConfigError(f"{path}: {name} must be one of {', '.join(_CHOICES[name])}")
        values[key] = value
    return replace(defaults, **values)


def load_config(path: Path | None) -> Config:
    """Read ``path`` (missing file = all defaults) and check every value."""
    if path is None or not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    config = _checked(path, Config(), data)
    if config.idle_timeout_s < 15:
        raise ConfigError(f"{path}: idle_timeout_s must be at least 15 seconds")
    if "{code}" not in config.guide_url_template:
        raise ConfigError(f"{path}: guide_url_template must contain {{code}}")
    return config


def default_data_dir() -> Path:
    """Per-platform data directory: $KIOSK_DATA_DIR, else XDG/AppData/Library conventions."""
    if env := os.environ.get("KIOSK_DATA_DIR"):
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "kiosk"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "kiosk"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "kiosk"
