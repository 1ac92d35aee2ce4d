"""The review event's fast check is sound against the schema, and vouches for the events the pollers publish."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.shared import codec, schemas
from services.shared.errors import BadInput
from services.shared.review_shape import plainly_valid_review
from tests.fuzz.strategies import ROOT
from tests.fuzz.test_fuzz_codec_config import EVENT_KEYS, mutated

VALID = orjson.loads((ROOT / "schemas" / "examples" / "review-event.valid.json").read_bytes())
# Values around each constraint of the schema: lengths at and past the limits, wrong types, odd numbers and times.
_EDGES: list[Any] = [
    None, True, 0, -1, 1.5, 2**63, "", "a" * 35, "a" * 36, "a" * 200, "a" * 201, "a" * 500, "a" * 501,
    "a" * 2000, "a" * 2001, "0" * 32, "0" * 31, "0" * 32 + "\n", "A" * 32, "trustpilot", "Trustpilot", "_x",
    "2026-11-20T10:00:00Z", "2026-11-20T10:00:60+01:00", "2026-02-30T10:00:00Z", "2026-11-20 10:00:00Z",
    "2026-11-20T10:00:00", "review.created", "thread.snapshot", "comment", [], ["a"], [1], {}, {"min": 1},
    {"min": 1, "max": 5}, {"min": "1", "max": 5}, {"views": 1, "likes": None, "shares": 0, "replies": 2},
    {"views": -1, "likes": None, "shares": 0, "replies": 2}, {"views": 1.0, "likes": 1, "shares": 0, "replies": 2},
    {"text": "thanks", "created_at": None}, {"text": "thanks", "created_at": "yesterday"},
    {"k": "v", "n": 1, "b": False, "z": None, "l": ["x"]}, {"l": [1]}, {"d": {}},
]  # fmt: skip


def _schema_accepts(document: Any) -> bool:
    try:
        schemas.validate("review-event.v1", document)
    except BadInput:
        return False
    return True


@st.composite
def _edited(draw: st.DrawFn) -> dict[str, Any]:
    """The valid example with a few of its fields (or its nested objects' fields) set to edge values."""
    document: dict[str, Any] = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        key = draw(st.sampled_from(sorted(document)))
        document[key] = copy.deepcopy(draw(st.sampled_from(_EDGES)))
    return document


@settings(max_examples=600, deadline=None)
@given(st.one_of(_edited(), mutated(VALID, EVENT_KEYS)))
def test_the_fast_check_only_vouches_for_what_the_schema_accepts(document: Any) -> None:
    """Whatever the fast check calls plainly valid, the schema accepts: it may send a valid event the slow way,
    never an invalid one past the schema."""
    if isinstance(document, dict) and plainly_valid_review(document):
        assert _schema_accepts(document), document


def test_the_fast_check_vouches_for_ordinary_events() -> None:
    """The example and the events the simulator's merchants publish take the fast path (else it would save
    nothing), and decoding still rejects what the schema rejects."""
    from bench.bench_detector_live import make_events

    assert plainly_valid_review(copy.deepcopy(VALID))
    for review in make_events(300):
        assert plainly_valid_review(orjson.loads(codec.encode_review(review)))
    broken = {**VALID, "platform": "Not A Platform"}
    assert not plainly_valid_review(broken)
    try:
        codec.decode_review(orjson.dumps(broken))
    except BadInput as exc:
        assert "platform" in str(exc)
    else:
        raise AssertionError("an invalid platform was accepted")


# The schema the fast check was written against. A change to the schema must be mirrored in review_shape.py (a
# stricter rule there too, or the fast check would vouch for what the schema now refuses); then update this hash.
SCHEMA_CHECKED = "d807d729b8c3c7521cb798bc9f87777dd4633c5816536b8f1faad3df33c9791f"


def test_the_schema_is_the_one_the_fast_check_mirrors() -> None:
    """A tripwire: editing schemas/review-event.v1.json fails here until review_shape.py is reviewed against it."""
    digest = hashlib.sha256((ROOT / "schemas" / "review-event.v1.json").read_bytes()).hexdigest()
    assert digest == SCHEMA_CHECKED, "review-event.v1.json changed: mirror the change in review_shape.py"
