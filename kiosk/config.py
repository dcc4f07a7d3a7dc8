"""Terminal configuration: one TOML file with documented defaults.

The file is optional; every key has a default below. ``kiosk config`` prints the documented
template. Unknown keys and wrong types are refused with a message naming the key. Device and sync
settings live in their own TOML tables ([printer], [idcard], [scanner], [capture], [sync]).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def _doc(default: Any, doc: str) -> Any:
    """A dataclass field whose ``doc`` is written above the key in ``kiosk config``."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class PrinterConfig:
    """[printer]: the receipt/ticket printer."""

    kind: str = _doc("simulated", "simulated | network | usb | serial | lp | none")
    model: str = _doc("gb18030-80", "a model in resources/printers.json: how it prints Chinese "
                      "(GB18030 font or raster image), QR codes and cuts")
    paper_mm: int = _doc(80, "paper width: 58 or 80")
    host: str = _doc("", "network: the printer's address (raw TCP, usually port 9100)")
    port: int = _doc(9100, "network: TCP port")
    serial_port: str = _doc("/dev/ttyS0", "serial: the port the printer is on")
    baudrate: int = _doc(9600, "serial: speed")
    usb_vendor_id: int = _doc(0, "usb: vendor id (write hex as 0x0416)")
    usb_product_id: int = _doc(0, "usb: product id")
    lp_queue: str = _doc("", "lp: the CUPS queue (raw); empty = the default destination")
    timeout_ms: int = _doc(3000, "how long to wait for the printer to connect or answer a status")
    reprint_window: str = _doc("1", "the window told to visitors when a receipt cannot print")


@dataclass(frozen=True)
class IdCardConfig:
    """[idcard]: the resident ID card reader."""

    kind: str = _doc("simulated", "simulated | serial | none")
    serial_port: str = _doc("/dev/ttyUSB0", "serial: the reader's port")
    baudrate: int = _doc(115200, "serial: speed (most readers: 115200)")
    timeout_ms: int = _doc(2000, "how long one reader answer may take")


@dataclass(frozen=True)
class ScannerConfig:
    """[scanner]: barcode / QR scanners."""

    kind: str = _doc("wedge", "wedge (keyboard emulation) | serial | simulated | none")
    serial_port: str = _doc("/dev/ttyACM0", "serial: the scanner's port")
    baudrate: int = _doc(9600, "serial: speed")
    wedge_max_gap_ms: int = _doc(50, "wedge: longest pause between keys of one scan")
    wedge_min_length: int = _doc(4, "wedge: fewest characters that count as a scan")


@dataclass(frozen=True)
class A4PrinterConfig:
    """[a4_printer]: the counter's A4 printer for notices (受理通知书, 一次性告知书)."""

    kind: str = _doc("simulated", "lp (a CUPS queue) | simulated (PDFs saved to a folder) | none")
    lp_queue: str = _doc("", "lp: the CUPS queue; empty = the default destination")
    out_dir: str = _doc("", "simulated: the folder the PDFs go to; empty = <data dir>/printed-a4")
    timeout_s: float = _doc(20.0, "lp: seconds to wait for CUPS to take the job")


@dataclass(frozen=True)
class CaptureConfig:
    """[capture]: document capture."""

    kind: str = _doc("files", "files | camera | sane | simulated (demo) | none")
    sane_device: str = _doc("", "sane: scanimage device name; empty = the first scanner")
    sane_dpi: int = _doc(200, "sane: resolution")
    max_side_px: int = _doc(2480, "pages are scaled down to this longest side (A4 at 300 dpi)")
    jpeg_quality: int = _doc(85, "JPEG quality of stored pages (1-95)")


@dataclass(frozen=True)
class SyncConfig:
    """[sync]: talking to the platform."""

    # seconds between sync rounds
    interval_s: int = 30
    # terminal token from `kiosk admin enroll` (file mode 0600); relative = in the data directory
    token_file: str = "terminal.token"
    # administrator's Ed25519 public key that catalog bundles must be signed with (PEM)
    public_key_file: str = "catalog_signing_key.pub.pem"
    # seconds to wait for a connection, then for each answer, before calling the platform offline
    connect_timeout_s: float = 5.0
    timeout_s: float = 20.0
    # records per POST (the protocol allows at most 500)
    batch_size: int = 500
    # retry delay after a failed attempt: base * 2^(attempts-1), jittered, at most max
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    # TLS: CA bundle (PEM) for a platform certificate from a private CA; empty = the system's
    ca_file: str = ""
    # optional pins: SHA-256 (hex) of the platform certificate's SubjectPublicKeyInfo or of the
    # whole certificate; several separated by spaces or commas (for a key change); empty = none
    pin_sha256: str = ""


@dataclass(frozen=True)
class QueueConfig:
    """[queue]: the hall queue (take a number, counter windows, the hall board)."""

    connect_timeout_s: float = _doc(1.0, "seconds to reach the hall queue; past this a kiosk "
                                    "issues from its own block (A-K01-001) and says so")
    timeout_s: float = _doc(3.0, "seconds to wait for the hall queue's answer")
    default_service_s: int = _doc(300, "kiosk: assumed service time for offline estimates "
                                  "before any real figure is known")
    window: int = _doc(1, "counter: the window number offered at sign-in")
    categories: str = _doc("", "counter: the categories offered at sign-in, e.g. \"AB\"; "
                           "empty = every category of the catalog")
    announce_en: bool = _doc(False, "display: also announce each call in English")
    tts_engine: str = _doc("", "display: QtTextToSpeech engine (speechd, mock); empty = the "
                           "first one with a Mandarin voice, else espeak-ng; \"none\" = silent")
    board_calls: int = _doc(8, "display: how many recent calls the board lists")
    poll_ms: int = _doc(1000, "display and counter: how often the board is refreshed")


@dataclass(frozen=True)
class SecurityConfig:
    """[security]: personal data kept on this terminal."""

    retention_days: int = _doc(30, "days after the platform acknowledged an application before "
                               "its personal data and scans are purged here (1-3650)")


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
    a4_printer: A4PrinterConfig = field(default_factory=A4PrinterConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)

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
                    if doc := sf.metadata.get("doc"):
                        text += f"# {doc}\n"
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


CHOICES = {
    "mode": ("kiosk", "counter", "display", "admin"),
    "language": LANGUAGES,
    "orientation": ("portrait", "landscape"),
    "printer.kind": ("simulated", "network", "usb", "serial", "lp", "none"),
    "printer.paper_mm": (58, 80),
    "idcard.kind": ("simulated", "serial", "none"),
    "scanner.kind": ("wedge", "serial", "simulated", "none"),
    "capture.kind": ("files", "camera", "sane", "simulated", "none"),
    "a4_printer.kind": ("lp", "simulated", "none"),
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
        if type(default) is float and type(value) is int:
            value = float(value)  # `timeout_s = 10` means 10.0
        if type(value) is not type(default):
            raise ConfigError(f"{path}: {name} must be a {type(default).__name__}, not {value!r}")
        if name in CHOICES and value not in CHOICES[name]:
            raise ConfigError(f"{path}: {name} must be one of {', '.join(CHOICES[name])}")
        values[key] = value
    return replace(defaults, **values)


def plain_http_refusal(url: str) -> str | None:
    """Why ``url`` may not be used for the platform (plain http to a host other than this
    machine, or not http(s) at all), or None when it may."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return None
    if parts.scheme == "http":
        return (f"plain http:// to {parts.hostname or '?'} is refused: the platform must be "
                "reached over https:// (http:// is allowed only for 127.0.0.1, ::1 or localhost)")
    return f"the platform address {url!r} is not an https:// URL"


def parse_pins(text: str) -> tuple[str, ...]:
    """``[sync] pin_sha256`` as lower-case hex digests; ValueError naming a malformed pin.

    A pin is 64 hex digits (colons allowed, as openssl prints them) or the base64 of the 32
    bytes, optionally written ``sha256/<base64>`` as curl does."""
    pins = []
    for word in re.split(r"[\s,]+", text.strip()):
        if not word:
            continue
        hex_text = word.replace(":", "").lower()
        if re.fullmatch(r"[0-9a-f]{64}", hex_text):
            pins.append(hex_text)
            continue
        try:
            raw = base64.b64decode(word.removeprefix("sha256//").removeprefix("sha256/"),
                                   validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"pin {word!r} is not a SHA-256 (64 hex digits or base64)")
        pins.append(raw.hex())
    return tuple(pins)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    try:
        parse_pins(config.sync.pin_sha256)
    except ValueError as exc:
        raise ConfigError(f"{path}: sync.pin_sha256: {exc}") from exc
    if refusal := plain_http_refusal(config.platform_url):
        raise ConfigError(f"{path}: platform_url: {refusal}")
    if "{code}" not in config.guide_url_template:
        raise ConfigError(f"{path}: guide_url_template must contain {{code}}")
    sync = config.sync
    if not 1 <= sync.batch_size <= 500:
        raise ConfigError(f"{path}: sync.batch_size must be 1 to 500 (the protocol's limit)")
    for name in ("interval_s", "connect_timeout_s", "timeout_s", "backoff_base_s"):
        if getattr(sync, name) <= 0:
            raise ConfigError(f"{path}: sync.{name} must be more than 0")
    if sync.backoff_max_s < sync.backoff_base_s:
        raise ConfigError(f"{path}: sync.backoff_max_s must be at least sync.backoff_base_s")
    if not 1 <= config.security.retention_days <= 3650:
        raise ConfigError(f"{path}: security.retention_days must be 1 to 3650")
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
