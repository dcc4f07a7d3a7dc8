"""Free text that may name a person, sealed at rest inside records that stay plain JSON.

A visitor's evaluation comment (event 'evaluation', key ``text``) and a clerk's return or
reject reason (event 'decision', key ``reason``; also in the application's status history) are
written by people and may hold a name, an ID number or a phone number. Only those values are
sealed (kiosk.atrest), so the rest of the record (event type, stars, decision, ids) stays
queryable; kiosk.sync.outbox opens them just before sending, so the platform receives the
plaintext. An empty text stays empty (nothing to hide; the admin summary counts comments).

Contexts bind each value to its record: ``events.<key>:<event id>`` (the events row, its
outbox row and, for a decision, the body sent) and ``application_status.<key>:<application
id>`` (a status-history detail, written here or pulled from the platform).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kiosk import atrest
from kiosk.crypto import KeyRing

EVENT_TEXT = {"evaluation": ("text",), "decision": ("reason",)}  # event type -> sealed keys
STATUS_TEXT = ("reason",)  # keys of a status-history detail that are sealed


def event_context(event_id: str, key: str) -> str:
    return f"events.{key}:{event_id}"


def status_context(application_id: str, key: str) -> str:
    return f"application_status.{key}:{application_id}"


def seal_fields(keys: KeyRing, record: Any, names: Iterable[str],
                context: Callable[[str], str]) -> Any:
    """A copy of ``record`` with each non-empty text under ``names`` sealed; anything that is
    not a dict is returned as it is. Every text is sealed, even one that looks like a
    ciphertext or a purge marker: it is what a person typed."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    for name in names:
        value = out.get(name)
        if isinstance(value, str) and value:
            # A lone surrogate (a server's "\ud800") cannot be encrypted as UTF-8: replaced.
            value = value.encode("utf-8", "replace").decode("utf-8")
            out[name] = atrest.seal(keys, value, context(name))
    return out


def open_fields(keys: KeyRing, record: Any, names: Iterable[str],
                context: Callable[[str], str], *, legacy: bool = False) -> Any:
    """A copy of ``record`` with the sealed texts under ``names`` opened. Raises
    crypto.CryptoError for a value that cannot be opened (or is plaintext, unless ``legacy``)."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    for name in names:
        value = out.get(name)
        if isinstance(value, str) and value:
            out[name] = atrest.unseal(keys, value, context(name), legacy=legacy)
    return out


# --- the three places a sealed text lives ------------------------------------------------------


def seal_event(keys: KeyRing, type: str, event_id: str, payload: dict) -> dict:
    """An event's payload with its free text sealed (evaluation text, decision reason)."""
    return seal_fields(keys, payload, EVENT_TEXT.get(type, ()),
                       lambda key: event_context(event_id, key))


def open_event(keys: KeyRing, type: str, event_id: str, payload: Any, *,
               legacy: bool = False) -> Any:
    return open_fields(keys, payload, EVENT_TEXT.get(type, ()),
                       lambda key: event_context(event_id, key), legacy=legacy)


def wire_part(wire: Any) -> str | None:
    """Which part of an outbox event's wire JSON holds the free text: a decision's ``body``
    (POST .../decision), any other event's ``payload``; None when the type has none."""
    if not isinstance(wire, dict) or wire.get("type") not in EVENT_TEXT:
        return None
    return "body" if wire["type"] == "decision" else "payload"


def open_wire(keys: KeyRing, wire: Any, *, legacy: bool = False) -> Any:
    """An outbox event's wire JSON with its free text opened: what the platform receives."""
    part = wire_part(wire)
    if part is None:
        return wire
    return {**wire, part: open_event(keys, wire["type"], str(wire.get("id")), wire.get(part),
                                     legacy=legacy)}


def seal_wire(keys: KeyRing, wire: Any) -> Any:
    part = wire_part(wire)
    if part is None:
        return wire
    return {**wire, part: seal_event(keys, wire["type"], str(wire.get("id")), wire.get(part))}


def seal_status(keys: KeyRing, application_id: str, detail: Any) -> Any:
    """A status-history detail with its reason sealed (local decisions and platform changes)."""
    return seal_fields(keys, detail, STATUS_TEXT, lambda key: status_context(application_id, key))


def open_status(keys: KeyRing, application_id: str, detail: Any, *, legacy: bool = False) -> Any:
    return open_fields(keys, detail, STATUS_TEXT, lambda key: status_context(application_id, key),
                       legacy=legacy)
