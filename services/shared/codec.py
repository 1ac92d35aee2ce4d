"""Bytes <-> typed events: decode once with orjson, validate against the named schema, build dataclasses."""

from __future__ import annotations

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


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}", reason=Reason.MALFORMED_JSON) from None


def _checked(data: Any, expected_schema: str) -> dict[str, Any]:
    """Validate parsed JSON against the named schema: the errors of `_decode_object`, in its order."""
    if not isinstance(data, dict):
        raise BadInput("payload is not a JSON object", reason=Reason.SCHEMA_INVALID)
    found = data.get("schema")
    if found != expected_schema:
        raise BadInput(f"schema is {found!r}, expected {expected_schema!r}", reason=Reason.SCHEMA_INVALID)
    schemas.validate(expected_schema, data)
    return data


def _decode_object(raw: bytes, expected_schema: str) -> dict[str, Any]:
    """Parse and validate."""
    return _checked(_parse(raw), expected_schema)


def decode_review(raw: bytes) -> ReviewEvent:
    """Parse and validate a review event: `plainly_valid_review` may vouch for it first (it checks the schema name
    too, and only says yes where the schema would); when it does not, the schema decides and words the error."""
    data = _parse(raw)
    if type(data) is dict and plainly_valid_review(data):
        return ReviewEvent.from_dict(data)
    return ReviewEvent.from_dict(_checked(data, REVIEW_SCHEMA))


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
