"""The JSON Schemas in schemas/ accept their example payloads, reject broken ones, and round-trip through the codec."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import orjson
import pytest

from services.shared import codec, schemas
from services.shared.errors import BadInput, Reason

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


@pytest.mark.parametrize("name", ["review-event.v1", "incident-event.v1", "deadletter.v1", "config.v1"])
def test_schema_is_valid_draft7(name: str) -> None:
    """Every schema document is itself a valid draft-07 schema."""
    jsonschema.Draft7Validator.check_schema(schemas.load_schema(name))


@pytest.mark.parametrize(
    ("example", "schema"),
    [
        ("review-event.valid.json", "review-event.v1"),
        ("incident-event.valid.json", "incident-event.v1"),
        ("deadletter.valid.json", "deadletter.v1"),
    ],
)
def test_valid_examples_pass_both_validators(example: str, schema: str) -> None:
    """The fast validator used on the hot path and the reference validator agree that the examples are valid."""
    payload = orjson.loads((EXAMPLES / example).read_bytes())
    jsonschema.Draft7Validator(schemas.load_schema(schema), format_checker=jsonschema.FormatChecker()).validate(payload)
    schemas.validate(schema, payload)


def test_review_round_trip() -> None:
    """Decoding then encoding a review event gives back the same JSON object."""
    raw = (EXAMPLES / "review-event.valid.json").read_bytes()
    event = codec.decode_review(raw)
    assert event.rating == 1
    assert event.rating_scale is not None and event.rating_scale.normalise(1) == 0.0
    assert orjson.loads(codec.encode_review(event)) == orjson.loads(raw)


def test_incident_round_trip() -> None:
    """Decoding then encoding an incident event gives back the same JSON object."""
    raw = (EXAMPLES / "incident-event.valid.json").read_bytes()
    event = codec.decode_incident(raw)
    assert event.evidence.sample_items[0].platform == "trustpilot"
    assert orjson.loads(codec.encode_incident(event)) == orjson.loads(raw)


def test_invalid_rating_is_rejected_with_path() -> None:
    """A rating that is not a number fails as schema_invalid and the message names the field."""
    raw = (EXAMPLES / "review-event.invalid-rating.json").read_bytes()
    with pytest.raises(BadInput) as caught:
        codec.decode_review(raw)
    assert caught.value.reason is Reason.SCHEMA_INVALID
    assert "rating" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", Reason.MALFORMED_JSON),
        (b"[1, 2]", Reason.SCHEMA_INVALID),
        (b'{"schema": "incident-event.v1"}', Reason.SCHEMA_INVALID),
        (b'{"schema": "review-event.v1", "event_id": "x"}', Reason.SCHEMA_INVALID),
    ],
)
def test_garbage_is_bad_input(raw: bytes, reason: Reason) -> None:
    """Anything that is not a valid review event raises BadInput with a reason, never another exception."""
    with pytest.raises(BadInput) as caught:
        codec.decode_review(raw)
    assert caught.value.reason is reason


def test_bad_timestamp_is_rejected() -> None:
    """created_at must be an RFC 3339 date-time."""
    payload = orjson.loads((EXAMPLES / "review-event.valid.json").read_bytes())
    payload["created_at"] = "yesterday"
    with pytest.raises(BadInput):
        codec.decode_review(orjson.dumps(payload))
