"""The one HTTP session a terminal uses to talk to the platform, and the protocol calls on it.

:func:`make_session` sets the defaults every call needs (connect and read timeouts, a
User-Agent naming our version, the bearer token) so no call can forget them. urllib3's own
retries are off: a POST is made safe to retry by the outbox and its idempotency keys, never by a
transport that silently sends it twice. The token is never logged or put in a message.
TLS is always verified (``verify=False`` is refused), plain ``http://`` is allowed only to this
machine (127.0.0.1, ::1, localhost), and ``[sync] pin_sha256`` pins the platform's certificate.

:class:`PlatformClient` speaks docs/protocol.md and turns every transport failure into the named
errors of :mod:`kiosk.sync.errors`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import ssl
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool

from kiosk import __version__
from kiosk.config import parse_pins, plain_http_refusal
from kiosk.sync.errors import (
    AuthRejected,
    InsecureTransport,
    NotConfigured,
    PlatformFailed,
    PlatformTimeout,
    PlatformUnreachable,
    RequestRefused,
)

log = logging.getLogger(__name__)

USER_AGENT = f"kiosk/{__version__}"


class TransportRefused(requests.exceptions.InvalidURL):
    """Raised by our adapter before anything is sent: plain http off this machine, or
    verification turned off. PlatformClient turns it into InsecureTransport."""


class PinMismatch(ssl.SSLError):
    """The platform's certificate matches none of the configured pins (raised right after the
    TLS handshake, before the request, so the token never reaches that server)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "certificate pin mismatch"


def certificate_pins(der: bytes) -> tuple[str, str]:
    """(SHA-256 of the SubjectPublicKeyInfo, SHA-256 of the whole certificate), hex."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest(), hashlib.sha256(der).hexdigest()


def _pinned_pool(pins: tuple[str, ...]) -> type[HTTPSConnectionPool]:
    """An HTTPS pool whose connections check the peer certificate against ``pins``."""

    class PinnedConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()  # the normal chain and host name checks happen here
            der = self.sock.getpeercert(binary_form=True) if self.sock else None
            actual = certificate_pins(der) if der else ("none", "none")
            if not set(actual) & set(pins):
                self.close()
                raise PinMismatch(
                    f"the platform's certificate does not match [sync] pin_sha256: expected "
                    f"{' or '.join(pins)}; the server presented public key (SPKI) {actual[0]}, "
                    f"certificate {actual[1]}")

    class PinnedPool(HTTPSConnectionPool):
        ConnectionCls = PinnedConnection

    return PinnedPool


class _TimeoutAdapter(HTTPAdapter):
    """Default (connect, read) timeouts on every request; TLS verification can never be turned
    off; plain http only to this machine; optional certificate pins on https."""

    def __init__(self, timeout: tuple[float, float], pins: tuple[str, ...] = ()) -> None:
        self.pins = pins
        super().__init__(max_retries=0)
        self.timeout = timeout

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        if self.pins:
            self.poolmanager.pool_classes_by_scheme = {
                **self.poolmanager.pool_classes_by_scheme, "https": _pinned_pool(self.pins)}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("verify") is False:
            raise TransportRefused("TLS certificate verification cannot be turned off for the "
                                   "platform (verify=False refused)", request=request)
        if refusal := plain_http_refusal(request.url or ""):
            raise TransportRefused(refusal, request=request)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_session(token: str | None, *, connect_timeout_s: float = 5.0,
                 timeout_s: float = 20.0, pin_sha256: str = "",
                 ca_file: str | Path | None = None) -> requests.Session:
    """A session with our User-Agent, the bearer token and default timeouts on every call.

    TLS is always verified (against ``ca_file`` when given, else the system's CAs) and, with
    ``pin_sha256`` (see kiosk.config.parse_pins), the certificate must also match a pin.
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    adapter = _TimeoutAdapter((connect_timeout_s, timeout_s), parse_pins(pin_sha256))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = str(ca_file) if ca_file else True
    session.trust_env = False  # a proxy from the environment must not see the hall's traffic
    return session


def read_token(path: Path) -> str:
    """The terminal token from its file; NotConfigured (no token shown) when it is unusable."""
    try:
        info = path.stat()
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise NotConfigured(f"no terminal token at {path}: enroll this terminal "
                            "(kiosk admin enroll) and save the token there (mode 0600)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise NotConfigured(f"cannot read the terminal token {path}: {exc}") from exc
    if not token:
        raise NotConfigured(f"the terminal token file {path} is empty")
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("terminal token file %s is readable by others (mode %o); "
                    "run: chmod 600 %s", path, stat.S_IMODE(info.st_mode), path)
    return token


def write_token(path: Path, token: str) -> None:
    """Save a terminal token with mode 0600 (created that way: never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token.strip() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _error_code(response: requests.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    if isinstance(body, dict):
        return body.get("error"), str(body.get("detail", ""))[:300]
    return None, str(body)[:200]


class PlatformClient:
    """Protocol v1 calls over one session. Raises only kiosk.sync.errors exceptions."""

    def __init__(self, base_url: str, session: requests.Session) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200,),
              **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, **kwargs)
        except TransportRefused as exc:
            raise InsecureTransport(f"{method} {_brief(path)}: {exc}") from exc
        except requests.exceptions.SSLError as exc:
            raise InsecureTransport(f"{method} {_brief(path)}: {_tls_reason(exc)}") from exc
        except requests.Timeout as exc:
            raise PlatformTimeout(f"{method} {_brief(path)}: no answer in time "
                                  f"({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise PlatformUnreachable(f"{method} {_brief(path)}: {_reason(exc)}") from exc
        status = response.status_code
        if status in ok:
            return response
        code, detail = _error_code(response)
        where = f"{method} {_brief(path)}: {status} {code or ''} {detail}".strip()
        if status in (401, 403):
            raise AuthRejected(where)
        if status >= 500 or status < 400:  # a 5xx, or a 1xx/2xx/3xx the protocol never sends
            raise PlatformFailed(where, status)
        raise RequestRefused(where, status, code)

    def get_catalog(self, since: int) -> dict | None:
        """The newest published catalog answer, or None when ours is current (304/404)."""
        response = self._call("GET", "/v1/catalog", params={"since": since}, ok=(200, 304, 404))
        if response.status_code != 200:
            return None
        return self._json(response, "GET /v1/catalog")

    def download_catalog(self, since: int, dest: Path,
                         on_start: Callable[[], object] | None = None) -> bool:
        """Stream the newest catalog answer to ``dest`` unparsed; False when ours is current.

        Used by the app so that the big JSON is parsed in a helper process, never in the one
        that draws the screen (see catalog_updater.update_catalog_isolated). ``on_start`` is
        called once a newer catalog is known to be coming, before its body is read.
        """
        response = self._call("GET", "/v1/catalog", params={"since": since}, ok=(200, 304, 404),
                              stream=True)
        with response:
            if response.status_code != 200:
                return False
            if on_start is not None:
                on_start()
            try:
                with open(dest, "wb") as fh:
                    for chunk in response.iter_content(chunk_size=1 << 20):
                        fh.write(chunk)
            except requests.Timeout as exc:
                raise PlatformTimeout(f"GET /v1/catalog: the download stalled ({exc})") from exc
            except requests.RequestException as exc:
                raise PlatformUnreachable(f"GET /v1/catalog: download broken: {_reason(exc)}") from exc
        return True

    def put_blob(self, sha256: str, data: bytes) -> requests.Response:
        """Upload one file; 201/200 stored, 422 answered as a RequestRefused (code kept)."""
        return self._call("PUT", f"/v1/blobs/{sha256}", ok=(200, 201), data=data,
                          headers={"Content-Type": "application/octet-stream"})

    def post_batch(self, kind: str, payloads: list[str]) -> list[dict]:
        """POST a batch of already-serialised records; the per-item results, in order.

        ``kind`` is "applications" or "events". The body is assembled from the stored JSON
        text as is, so a retry sends the very same bytes.
        """
        body = ('{"' + kind + '":[' + ",".join(payloads) + "]}").encode("utf-8")
        response = self._call("POST", f"/v1/{kind}", data=body,
                              headers={"Content-Type": "application/json"})
        answer = self._json(response, f"POST /v1/{kind}")
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise PlatformFailed(f"POST /v1/{kind}: answer without results", response.status_code)
        return results

    def post_decision(self, application_id: str, body: str) -> dict:
        """POST a clerk's decision (stored JSON text, sent as is); the answer's JSON."""
        path = f"/v1/applications/{application_id}/decision"
        response = self._call("POST", path, data=body.encode("utf-8"),
                              headers={"Content-Type": "application/json"})
        return self._json(response, f"POST {path}")

    def get_status(self, cursor: str | None) -> dict:
        params: Mapping[str, str] = {"since": cursor} if cursor else {}
        response = self._call("GET", "/v1/applications/status", params=params)
        return self._json(response, "GET /v1/applications/status")

    def get_application(self, number: str) -> dict | None:
        """The platform's record of one of our hall's applications with its status history
        (GET /v1/applications/by-number/{number}); None when the platform does not know it."""
        path = f"/v1/applications/by-number/{quote(number, safe='')}"
        response = self._call("GET", path, ok=(200, 404))
        if response.status_code == 404:
            return None
        return self._json(response, f"GET {path}")

    def get_audit_anchor(self, hall_id: str, terminal_id: str) -> dict:
        """How far the platform verified this terminal's audit chain (seq, hash, conflict_seq)."""
        path = (f"/v1/terminals/{quote(hall_id, safe='')}/{quote(terminal_id, safe='')}"
                "/audit-anchor")
        return self._json(self._call("GET", path), f"GET {path}")

    @staticmethod
    def _json(response: requests.Response, where: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise PlatformFailed(f"{where}: the answer is not JSON", response.status_code) from exc


def _brief(path: str) -> str:
    """A path for messages: a blob's 64-digit hash shortened to its first 12."""
    return re.sub(r"([0-9a-f]{12})[0-9a-f]{52}", r"\1…", path)


def _tls_reason(exc: Exception) -> str:
    """A TLS failure in one sentence: the pin mismatch as raised, or why the chain failed."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PinMismatch):
            return str(current)
        if isinstance(current, ssl.SSLCertVerificationError):
            return (f"the platform's TLS certificate is not trusted ({current.verify_message}); "
                    "for a private CA set [sync] ca_file")
        todo += [e for e in (current.__cause__, current.__context__,
                             getattr(current, "reason", None), *current.args)
                 if isinstance(e, BaseException)]
    return f"TLS failed: {str(exc)[:200]}"


def _reason(exc: Exception) -> str:
    """What went wrong on the wire in a few words ('Connection refused'), not urllib3's chain."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found.group(1).strip()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the connection was closed before an answer came"
    return f"{type(exc).__name__}: {text[:160]}"
