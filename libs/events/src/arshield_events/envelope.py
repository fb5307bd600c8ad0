"""The CloudEvents 1.0 envelope (structured JSON mode) that every arshield event travels in."""

from __future__ import annotations

import functools
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from arshield_events.fields import ID_PATTERN, Timestamp

CONTENT_TYPE = "application/cloudevents+json"
# Namespace for ids derived from a cause, so a replay emits the very same event id.
_EVENT_ID_NAMESPACE = uuid.UUID("5f0c2a8e-7d1b-4b7e-9a43-2d6f0e1c9b10")


UtcDatetime = Timestamp
"""The envelope's `time`: see `fields.Timestamp`."""

# The envelope's string attributes are ids, URI references and names: printable, no whitespace, no
# control character (PostgreSQL refuses NUL in text, and they travel as Kafka headers too).
EnvelopeText = Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)]


class Payload(BaseModel):
    """Base of every event payload: frozen, strict about unknown fields, versioned by its type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str]
    """The name and version as it appears in `type`, e.g. `arshield.erp.InvoiceIssued.v1`."""
    topic: ClassVar[str]
    tenant_keyed: ClassVar[bool] = False
    """True for events keyed by tenant alone (clock ticks); others are keyed `tenant:buyer`."""


P = TypeVar("P", bound=Payload)


class CloudEvent(BaseModel, Generic[P]):
    """A CloudEvents 1.0 structured-mode event with arshield's extension attributes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: EnvelopeText
    source: EnvelopeText = Field(description="URI reference of the producer, e.g. erp/sap-eu")
    type: EnvelopeText
    subject: EnvelopeText = Field(description="the buyer id")
    time: Timestamp
    datacontenttype: Literal["application/json"] = "application/json"
    tenantid: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    correlationid: EnvelopeText | None = None
    causationid: EnvelopeText | None = None
    data: P

    @field_validator("data")
    @classmethod
    def _envelope_matches_payload(cls, data: P, info: ValidationInfo) -> P:
        # The type names the payload's schema, and the subject decides the partition: a mismatch
        # would file the fact under the wrong schema or the wrong buyer's ordered stream.
        event_name = getattr(type(data), "event_name", None)
        declared = info.data.get("type")
        if event_name is not None and declared is not None and declared != event_name:
            raise ValueError(f"type {declared!r} does not match the payload {event_name!r}")
        subject = info.data.get("subject")
        if subject is None:
            return data
        if data.tenant_keyed:
            tenantid = info.data.get("tenantid")
            if tenantid is not None and subject != tenantid:
                raise ValueError(f"subject {subject!r} must be the tenant id {tenantid!r}")
            return data
        buyer_id = getattr(data, "buyer_id", None)
        if buyer_id is not None and subject != buyer_id:
            raise ValueError(f"subject {subject!r} must be the payload's buyer_id {buyer_id!r}")
        return data

    @property
    def key(self) -> str:
        """The Kafka record key: all facts about one buyer share a partition."""
        if self.data.tenant_keyed:
            return self.tenantid
        return partition_key(self.tenantid, self.subject)


def partition_key(tenant_id: str, buyer_id: str) -> str:
    return f"{tenant_id}:{buyer_id}"


def derived_event_id(cause_source: str, cause_id: str, purpose: str) -> str:
    """An id that depends only on the cause, so re-handling a cause re-emits the same event."""
    h = uuid5_hex(_EVENT_ID_NAMESPACE, f"{cause_source}\x1f{cause_id}\x1f{purpose}")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid5_hex(namespace: uuid.UUID, name: str) -> str:
    """`uuid.uuid5(namespace, name).hex`, without building the `UUID` (a third of the cost; a busy
    tick derives tens of thousands of ids): the name's SHA-1 in the namespace, its first 16 bytes
    with the version (5) and the RFC 4122 variant set (RFC 4122 section 4.3)."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])  # noqa: S324
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return digest.hex()


def now_utc() -> datetime:
    return datetime.now(UTC)


@functools.cache
def envelope_class(payload_class: type[Payload]) -> type[CloudEvent[Any]]:
    """`CloudEvent[payload_class]`, built once: pydantic builds a new class at each subscript."""
    return CloudEvent[payload_class]  # type: ignore[valid-type]


def envelope(
    data: Payload,
    *,
    id: str,
    source: str,
    subject: str,
    tenantid: str,
    time: datetime,
    correlationid: str | None = None,
    causationid: str | None = None,
) -> CloudEvent[Any]:
    return envelope_class(type(data))(
        id=id,
        source=source,
        type=data.event_name,
        subject=subject,
        time=time,
        tenantid=tenantid,
        correlationid=correlationid,
        causationid=causationid,
        data=data,
    )
