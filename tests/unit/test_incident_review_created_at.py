"""The incident event's optional review_created_at: carried through the codec when set, absent (and still valid)
when not, and rejected when it is not a timestamp."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest

from services.shared import codec
from services.shared.errors import BadInput

EXAMPLE = Path(__file__).resolve().parents[2] / "schemas" / "examples" / "incident-event.valid.json"


def test_review_created_at_round_trips_through_the_codec() -> None:
    """A state carrying the review's created_at encodes it under review_created_at and decodes it back unchanged."""
    event = dataclasses.replace(codec.decode_incident(EXAMPLE.read_bytes()), review_created_at="2026-03-01T09:58:00Z")
    encoded = codec.encode_incident(event)
    assert orjson.loads(encoded)["review_created_at"] == "2026-03-01T09:58:00Z"
    assert codec.decode_incident(encoded) == event


def test_a_state_without_review_created_at_is_valid_and_encodes_as_before() -> None:
    """The field is optional: an event without it (from an older detector) decodes with None, and a state with None
    encodes without the key, byte-compatible with consumers that predate it."""
    raw = EXAMPLE.read_bytes()
    assert "review_created_at" not in orjson.loads(raw)
    event = codec.decode_incident(raw)
    assert event.review_created_at is None
    assert "review_created_at" not in orjson.loads(codec.encode_incident(event))


def test_review_created_at_must_be_a_timestamp() -> None:
    """A review_created_at that is not an RFC 3339 date-time is bad input, not a crash further down."""
    data = orjson.loads(EXAMPLE.read_bytes())
    data["review_created_at"] = "yesterday"
    with pytest.raises(BadInput):
        codec.decode_incident(orjson.dumps(data))
