"""What can go wrong while syncing, and the ONE place that says it to a person.

Every sync failure is one of the named exceptions below. :func:`message_for` turns any of them
(or anything else) into the sentence a screen shows, in the visitor's or administrator's
language, from resources/translations/ui.json; no screen words its own sync error.
"""

from __future__ import annotations

from kiosk.i18n import tr


class SyncError(Exception):
    """Base of every sync failure. ``key`` names its ui.json sentence."""

    key = "sync.error.generic"


class NotConfigured(SyncError):
    """The terminal lacks what it needs to sync (token or public key file)."""

    key = "sync.error.not_configured"


class InsecureTransport(NotConfigured):
    """The connection to the platform was refused as unsafe: plain http to a host that is not
    this machine, verification turned off, an untrusted certificate or a pin mismatch."""


class PlatformUnreachable(SyncError):
    """No connection, a refused connection, a dropped answer or a timeout: we are offline."""

    key = "sync.error.offline"


class PlatformTimeout(PlatformUnreachable):
    """The platform took longer than the configured timeout to connect or answer."""


class PlatformFailed(SyncError):
    """The platform answered 5xx (or something that is not its protocol)."""

    key = "sync.error.server"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthRejected(SyncError):
    """401/403: the terminal token is wrong, revoked, or for another hall."""

    key = "sync.error.auth"


class RequestRefused(SyncError):
    """A 4xx other than auth for a whole request (too large, invalid): the request is at fault."""

    key = "sync.error.server"

    def __init__(self, message: str, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class CatalogRefused(SyncError):
    """A catalog bundle from the platform was refused (unsigned, tampered, older, invalid)."""

    key = "sync.error.catalog_refused"


class CatalogApplyFailed(SyncError):
    """A valid catalog could not be applied here (disk full, helper process crashed)."""

    key = "sync.error.generic"


class AuditChainMismatch(SyncError):
    """The local audit chain no longer matches the anchor the platform holds (or fails its own
    check): records were edited, removed or the chain was rewritten on this terminal."""

    key = "sync.error.audit_mismatch"


class NothingToRollBack(SyncError):
    """No previous catalog version is kept in the store."""

    key = "sync.error.no_previous"


def revive(name: str, message: str = "") -> SyncError:
    """A stored failure (class name, message) as the exception again, for message_for."""
    cls = next((c for c in _all_errors() if c.__name__ == name), SyncError)
    exc = SyncError.__new__(cls)
    Exception.__init__(exc, message)
    return exc


def _all_errors() -> list[type[SyncError]]:
    found, todo = [], [SyncError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def is_transient(exc: BaseException) -> bool:
    """True when trying again later may work (offline, timeout, 5xx)."""
    return isinstance(exc, PlatformUnreachable | PlatformFailed)


def message_for(exc: BaseException | None, lang: str, **values: object) -> str:
    """The sentence a screen shows for a sync failure, in ``lang``."""
    if exc is None:
        return ""
    key = exc.key if isinstance(exc, SyncError) else SyncError.key
    return tr(key, lang, **values)
