"""Request and answer shapes of protocol v1 (docs/protocol.md), as pydantic models.

They validate what terminals send (wrong types are a 422 ``invalid``, never a silent coercion:
the models are strict) and they are what the served OpenAPI document is generated from.
Records that the server stores whole (applications, events) allow extra fields, so a newer
terminal can add information without a protocol break; the stored content is what they sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

MAX_BATCH = 500
ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


def _uuid_text(value: str) -> str:
    uuid.UUID(value)  # ValueError → 422; the id is kept exactly as the terminal wrote it
    return value


def _iso_time(value: str) -> str:
    datetime.fromisoformat(value)
    return value


UUIDText = Annotated[str, AfterValidator(_uuid_text),
                     Field(description="a UUID made by the sender", examples=[str(uuid.UUID(int=1))])]
ISOTime = Annotated[str, AfterValidator(_iso_time),
                    Field(description="ISO 8601 date and time", examples=["2026-11-02T09:30:00+08:00"])]
HallId = Annotated[str, Field(pattern=ID_PATTERN, examples=["H0001"])]
TerminalId = Annotated[str, Field(pattern=ID_PATTERN, examples=["K01"])]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN, description="lowercase hex SHA-256")]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class ErrorOut(BaseModel):
    error: str = Field(examples=["invalid"])
    detail: str = Field(examples=["applications[0].filed_at: Input should be a valid string"])


# --- catalog ------------------------------------------------------------------------------

class CatalogIn(BaseModel):
    model_config = ConfigDict(strict=True)
    bundle: dict[str, Any] = Field(description="the catalog bundle (resources/catalog.schema.json)")
    signature: str | None = Field(None, description="base64 Ed25519 over the canonical JSON")


class CatalogOut(BaseModel):
    version: int
    bundle: dict[str, Any]
    signature: str


class VersionOut(BaseModel):
    version: int


# --- applications -------------------------------------------------------------------------

class Material(_Strict):
    material: Text
    sha256: Sha256 | None = None


class Application(_Strict):
    id: UUIDText
    number: Text
    item_code: Text
    hall_id: HallId
    terminal_id: TerminalId
    filed_at: ISOTime
    applicant: dict[str, Any]
    form: dict[str, Any]
    materials: list[Material] = []
    prereview: dict[str, Any] = {}


class ApplicationsIn(BaseModel):
    model_config = ConfigDict(strict=True)
    applications: list[Application] = Field(max_length=MAX_BATCH)


class ItemResult(BaseModel):
    id: str
    result: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = Field(None, examples=["missing_blob:" + "0" * 64])


class ResultsOut(BaseModel):
    results: list[ItemResult]


class StatusChange(BaseModel):
    id: str
    number: str
    status: Literal["received", "accepted", "returned", "rejected"]
    at: str
    detail: dict[str, Any]


class StatusOut(BaseModel):
    changes: list[StatusChange]
    cursor: str = Field(description="pass back as ?since= to get only later changes")
    more: bool = Field(description="true when more changes wait after this page")


class HistoryEntry(BaseModel):
    status: Literal["received", "accepted", "returned", "rejected"]
    at: str
    detail: dict[str, Any]


class ApplicationStatusOut(BaseModel):
    id: str
    number: str
    item_code: str
    status: Literal["received", "accepted", "returned", "rejected"]
    history: list[HistoryEntry] = Field(description="every status it had, oldest first")


class DecisionIn(_Strict):
    decision_id: UUIDText
    decision: Literal["accept", "return", "reject"]
    missing: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    reason: Annotated[str, Field(max_length=2000)] = ""
    clerk: Annotated[str, Field(max_length=64)] = ""

    @model_validator(mode="after")
    def _explained(self) -> DecisionIn:
        # 一次性告知: a returned application must say what is missing; a rejection says why.
        if self.decision == "return" and not (self.missing or self.reason.strip()):
            raise ValueError("a return needs the missing materials or a reason")
        if self.decision == "reject" and not self.reason.strip():
            raise ValueError("a rejection needs a reason")
        return self


class DecisionOut(BaseModel):
    status: Literal["accepted", "returned", "rejected"]


# --- events -------------------------------------------------------------------------------

class Device(_Strict):
    name: str
    kind: str
    ok: bool
    detail: str = ""


class Heartbeat(_Strict):
    version: str
    catalog_version: int | None = None
    outbox_depth: Annotated[int, Field(ge=0)]
    devices: list[Device] = []


class Event(_Strict):
    id: UUIDText
    type: Literal["ticket", "evaluation", "audit", "heartbeat"]
    at: ISOTime
    payload: dict[str, Any] = {}

    @model_validator(mode="after")
    def _heartbeat_shape(self) -> Event:
        if self.type == "heartbeat":
            try:
                Heartbeat.model_validate(self.payload)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"heartbeat payload.{where}: {first['msg']}") from None
        return self


class EventsIn(BaseModel):
    model_config = ConfigDict(strict=True)
    events: list[Event] = Field(max_length=MAX_BATCH)


# --- terminals ----------------------------------------------------------------------------

class EnrollIn(BaseModel):
    model_config = ConfigDict(strict=True)
    hall_id: HallId
    terminal_id: TerminalId


class EnrollOut(BaseModel):
    hall_id: str
    terminal_id: str
    token: str = Field(description="shown once; the server keeps only its SHA-256")


class TerminalOut(BaseModel):
    hall_id: str
    terminal_id: str
    enrolled_at: str
    last_seen: str | None = Field(description="when its latest heartbeat arrived (server time)")
    heartbeat_at: str | None = Field(description="the 'at' of that heartbeat (terminal clock)")
    heartbeat: dict[str, Any] | None


class TerminalsOut(BaseModel):
    terminals: list[TerminalOut]


class AuditAnchorOut(BaseModel):
    hall_id: str
    terminal_id: str
    seq: int = Field(description="highest audit record verified link by link from record 1; "
                                 "0 when none")
    hash: str | None = Field(description="that record's hash; null when seq is 0")
    records: int = Field(description="audit records of this terminal the platform holds")
    conflict_seq: int | None = Field(description="lowest seq sent again with a different hash")
    updated_at: str | None


class HealthOut(BaseModel):
    status: Literal["ok"]
