"""Bytes <-> typed events: decode once with orjson, validate against the named schema, build dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from services.shared import schemas
from services.shared.errors import BadInput, Reason
from services.shared.events import (
    DEADLETTER_SCHEMA,
    INCIDENT_SCHEMA,
    REVIEW_SCHEMA,
    DeadLetterRecord,
    IncidentEvent,
    ReviewEvent,
)
from services.shared.review_shape import plainly_valid_review


def _decode_object(
    raw: bytes, expected_schema: str, plainly_valid: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Parse and validate; `plainly_valid` may vouch for the payload first (the schema decides when it does not)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}", reason=Reason.MALFORMED_JSON) from None
    if not isinstance(data, dict):
        raise BadInput("payload is not a JSON object", reason=Reason.SCHEMA_INVALID)
    found = data.get("schema")
    if found != expected_schema:
        raise BadInput(f"schema is {found!r}, expected {expected_schema!r}", reason=Reason.SCHEMA_INVALID)
    if plainly_valid is None or not plainly_valid(data):
        schemas.validate(expected_schema, data)
    return data


def decode_review(raw: bytes) -> ReviewEvent:
    return ReviewEvent.from_dict(_decode_object(raw, REVIEW_SCHEMA, plainly_valid_review))


def decode_incident(raw: bytes) -> IncidentEvent:
    return IncidentEvent.from_dict(_decode_object(raw, INCIDENT_SCHEMA))


def decode_deadletter(raw: bytes) -> DeadLetterRecord:
    return DeadLetterRecord.from_dict(_decode_object(raw, DEADLETTER_SCHEMA))


def encode_review(event: ReviewEvent, *, validate: bool = True) -> bytes:
    data = event.to_dict()
    if validate:
        schemas.validate(REVIEW_SCHEMA, data)
    return orjson.dumps(data)


def encode_incident(event: IncidentEvent, *, validate: bool = True) -> bytes:
    data = event.to_dict()
    if validate:
        schemas.validate(INCIDENT_SCHEMA, data)
    return orjson.dumps(data)


def encode_deadletter(record: DeadLetterRecord) -> bytes:
    data = record.to_dict()
    schemas.validate(DEADLETTER_SCHEMA, data)
    return orjson.dumps(data)
