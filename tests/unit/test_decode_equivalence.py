"""The fast review decoding gives exactly what the plain one gave: the same events, the same rejections and words.

The reference below is the decoder before the fast paths: parse, check the object and the schema name, always run
the JSON-schema validator, then build the event through the dataclass's own `__init__`. The production decoder may
skip the validator (`plainly_valid_review`) and builds events without `__init__` (`ReviewEvent.from_dict`); on
generated valid, edited and broken events the two must agree to the bit.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.detector.intake import Rejected, decode
from services.shared import codec, review_shape, schemas
from services.shared.errors import BadInput, Reason
from services.shared.events import REVIEW_SCHEMA, Engagement, MerchantReply, RatingScale, ReviewEvent
from tests.fuzz.test_fuzz_codec_config import EVENT_KEYS, mutated
from tests.unit.test_review_shape import VALID, _edited


def _reference_decode(raw: bytes) -> ReviewEvent:
    """The review decoder as it was before the fast paths."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}", reason=Reason.MALFORMED_JSON) from None
    if not isinstance(data, dict):
        raise BadInput("payload is not a JSON object", reason=Reason.SCHEMA_INVALID)
    found = data.get("schema")
    if found != REVIEW_SCHEMA:
        raise BadInput(f"schema is {found!r}, expected {REVIEW_SCHEMA!r}", reason=Reason.SCHEMA_INVALID)
    schemas.validate(REVIEW_SCHEMA, data)
    scale = data["rating_scale"]
    engagement = data["engagement"]
    reply = data["merchant_reply"]
    return ReviewEvent(
        event_id=data["event_id"],
        event_type=data["event_type"],
        merchant_id=data["merchant_id"],
        platform=data["platform"],
        source_id=data["source_id"],
        item_id=data["item_id"],
        thread_id=data["thread_id"],
        parent_id=data["parent_id"],
        kind=data["kind"],
        rating=data["rating"],
        rating_scale=None if scale is None else RatingScale(scale["min"], scale["max"]),
        title=data["title"],
        text=data["text"],
        language=data["language"],
        author=data["author"],
        url=data["url"],
        created_at=data["created_at"],
        observed_at=data["observed_at"],
        engagement=None if engagement is None else Engagement(**engagement),
        merchant_reply=None if reply is None else MerchantReply(reply["text"], reply["created_at"]),
        attributes=data["attributes"],
    )


def _outcome(decoder: Any, raw: bytes) -> tuple[str, Any, Any]:
    try:
        event = decoder(raw)
    except BadInput as exc:
        return ("rejected", exc.reason, str(exc))
    return ("accepted", event, None)


def _hash_or_error(value: Any) -> object:
    try:
        return hash(value)
    except TypeError as exc:
        return str(exc)


def _assert_same_event(new: ReviewEvent, old: ReviewEvent) -> None:
    """Equal, and alike in everything else one can observe: types of every value, repr, wire form, hash, frozen."""
    assert type(new) is ReviewEvent
    assert new == old
    assert repr(new) == repr(old)  # repr shows 4 against 4.0 and the nested objects' values
    for field in dataclasses.fields(ReviewEvent):
        ours, theirs = getattr(new, field.name), getattr(old, field.name)
        assert type(ours) is type(theirs), field.name
        if dataclasses.is_dataclass(theirs):
            assert type(ours) is type(theirs)
            assert dataclasses.astuple(ours) == dataclasses.astuple(theirs)  # type: ignore[arg-type]
            assert _hash_or_error(ours) == _hash_or_error(theirs)
    assert orjson.dumps(new.to_dict()) == orjson.dumps(old.to_dict())
    assert _hash_or_error(new) == _hash_or_error(old)
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.event_id = "0" * 32  # type: ignore[misc]
    if new.rating_scale is not None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            new.rating_scale.min = 0  # type: ignore[misc]


def _assert_same_outcome(raw: bytes) -> None:
    new = _outcome(codec.decode_review, raw)
    old = _outcome(_reference_decode, raw)
    assert new[0] == old[0], (raw, new, old)
    if old[0] == "accepted":
        _assert_same_event(new[1], old[1])
    else:
        assert new == old


_START = datetime(1999, 12, 25, tzinfo=UTC)


@st.composite
def _timestamps(draw: st.DrawFn) -> str:
    """RFC 3339 times as producers write them and in the rarer shapes the schema also takes (or refuses)."""
    moment = _START + timedelta(seconds=draw(st.integers(min_value=0, max_value=40 * 365 * 86400)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = draw(st.sampled_from(["", "", ".5", ".120000"]))
    zone = draw(st.sampled_from(["Z", "Z", "Z", "z", "+01:00", "-0530", "+00:00"]))
    separator = draw(st.sampled_from(["T"] * 6 + ["t"]))
    if draw(st.integers(min_value=0, max_value=5)):
        return text[:10] + separator + text[11:] + fraction + zone
    return draw(
        st.sampled_from(
            [
                "2024-02-29T10:00:00Z",  # a leap day: the narrow check says no, the schema yes
                "2023-02-29T10:00:00Z",
                "2026-04-31T10:00:00Z",
                "2026-12-31T23:59:60Z",
                "2026-01-30T24:00:00Z",
                "2026-11-20 10:00:00Z",
                "2026-11-20T10:00:00",
                "\u0662\u0660\u0662\u0666-11-20T10:00:00Z",  # other digits: the schema's \\d takes them
            ]
        )
    )


_NUMBER = st.one_of(st.integers(-5, 10), st.floats(allow_nan=False, allow_infinity=False), st.just(-0.0))
_COUNT = st.one_of(st.none(), st.integers(min_value=0, max_value=10**12))
_TEXT = st.text(max_size=12)
_OPTIONAL = st.none() | _TEXT
_VALID_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "schema": st.just("review-event.v1"),
    "event_id": st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    "event_type": st.sampled_from(["review.created", "review.updated", "review.deleted", "thread.snapshot"]),
    "merchant_id": st.text(min_size=1, max_size=8),
    "platform": st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    "source_id": st.text(min_size=1, max_size=8),
    "item_id": st.text(min_size=1, max_size=8),
    "thread_id": _OPTIONAL,
    "parent_id": _OPTIONAL,
    "kind": st.sampled_from(["review", "comment", "post", "mention"]),
    "rating": st.none() | _NUMBER,
    "rating_scale": st.none() | st.fixed_dictionaries({"min": _NUMBER, "max": _NUMBER}),
    "title": _OPTIONAL,
    "text": _OPTIONAL,
    "language": _OPTIONAL,
    "author": _OPTIONAL,
    "url": _OPTIONAL,
    "created_at": _timestamps(),
    "observed_at": _timestamps(),
    "engagement": st.none()
    | st.fixed_dictionaries({"views": _COUNT, "likes": _COUNT, "shares": _COUNT, "replies": _COUNT}),
    "merchant_reply": st.none() | st.fixed_dictionaries({"text": _TEXT, "created_at": st.none() | _timestamps()}),
    "attributes": st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.none(), st.booleans(), _NUMBER, st.text(max_size=5), st.lists(st.text(max_size=3))),
        max_size=3,
    ),
}
# Values at and just past each limit, of a near type, or with a key too many, for any field.
_SPOILT_VALUES: list[Any] = [
    None, True, False, 0, 1.0, -1, -0.0, 2**63, "", "X", "a-b", "a" * 35, "a" * 36, "a" * 200, "a" * 201,
    "a" * 500, "a" * 501, "a" * 2000, "a" * 2001, "a" * 20000, "a" * 20001, "0" * 31, "0" * 32, "0" * 33,
    "A" * 32, "0" * 32 + "\n", "2026-11-20", "2026-11-20T10:00:00Z", "2024-02-29T10:00:00Z", [], ["x"], [1], {},
    {"min": 1}, {"min": 1, "max": True}, {"min": 1, "max": 5, "x": 1}, {"min": 1, "mix": 5},
    {"views": -1, "likes": 0, "shares": 0, "replies": 0}, {"views": 1.0, "likes": 0, "shares": 0, "replies": 0},
    {"views": 1, "likes": 0, "shares": 0, "replies": 0, "x": 0}, {"views": 1, "likes": 0, "shares": 0},
    {"text": "a" * 20001, "created_at": None}, {"text": "x", "created_at": "noon"},
    {"text": "x", "created_at": None, "y": 1}, {"text": None, "created_at": None}, {"k": {}}, {"k": [1]},
]  # fmt: skip
_SPOILERS = st.sampled_from(_SPOILT_VALUES)


@st.composite
def _events(draw: st.DrawFn) -> dict[str, Any]:
    """Review events field by field, nested objects present or null: mostly valid, a field now and then spoilt."""
    document: dict[str, Any] = {}
    for key, valid in _VALID_FIELDS.items():
        spoil = draw(st.integers(min_value=0, max_value=40)) == 23  # not an end: hypothesis favours those
        document[key] = draw(_SPOILERS if spoil else valid)
    if draw(st.booleans()):  # the same keys in another order: the fast check must not depend on the order
        keys = draw(st.permutations(sorted(document)))
        document = {key: document[key] for key in keys}
    return document


@settings(max_examples=500, deadline=None)
@given(st.one_of(_events(), _edited(), mutated(VALID, EVENT_KEYS)))
def test_decoding_matches_the_plain_decoder(document: Any) -> None:
    """Every generated document decodes to an event equal in every way to the plain decoder's, or is rejected
    with the same reason and message."""
    _assert_same_outcome(orjson.dumps(document))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from([b"", b"[]", b"null", b'"review-event.v1"', b"{}", b'{"schema": "incident-event.v1"}']),
    )
)
def test_non_events_are_rejected_as_before(raw: bytes) -> None:
    """Bytes that are not a review event object are rejected with the same reason and message as before."""
    _assert_same_outcome(raw)


def test_from_dict_builds_what_the_constructor_builds() -> None:
    """`ReviewEvent.from_dict` (which skips the frozen `__init__`) gives the constructor's event, nested objects
    included, and the event stays frozen."""
    document = copy.deepcopy(VALID)
    document["engagement"] = {"views": 3, "likes": None, "shares": 0, "replies": 1}
    document["merchant_reply"] = {"text": "Sorry", "created_at": None}
    raw = orjson.dumps(document)
    _assert_same_event(codec.decode_review(raw), _reference_decode(raw))
    built = ReviewEvent.from_dict(orjson.loads(raw))
    assert built == _reference_decode(raw)
    assert pickle.loads(pickle.dumps(built)) == built
    assert dataclasses.replace(built, title="x") == dataclasses.replace(_reference_decode(raw), title="x")
    assert copy.deepcopy(built) == built


@dataclasses.dataclass(frozen=True)
class _Record:
    offset: int
    value: bytes | None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_events(), _edited(), st.none()), max_size=8))
def test_intake_decodes_a_batch_as_the_plain_decoder_would(documents: list[Any]) -> None:
    """The detector's batch decoding keeps each record's offset and bytes, and accepts or rejects it (reason and
    wording) as the plain decoder does, in offset order."""
    records = [_Record(offset, None if doc is None else orjson.dumps(doc)) for offset, doc in enumerate(documents)]
    decoded = decode(records)
    accepted: list[tuple[int, bytes, ReviewEvent]] = []
    rejected: list[Rejected] = []
    for record in records:
        raw = record.value if record.value is not None else b""
        outcome = _outcome(_reference_decode, raw)
        if outcome[0] == "accepted":
            accepted.append((record.offset, raw, outcome[1]))
        else:
            rejected.append(Rejected(record.offset, raw, outcome[1], outcome[2]))
    assert [(offset, raw) for offset, raw, _ in decoded.events] == [(offset, raw) for offset, raw, _ in accepted]
    for (_, _, new), (_, _, old) in zip(decoded.events, accepted, strict=True):
        _assert_same_event(new, old)
    assert decoded.rejected == rejected


_NESTED: dict[str, dict[str, Any]] = {
    "rating_scale": {"min": 1, "max": 5},
    "engagement": {"views": 3, "likes": None, "shares": 0, "replies": 1},
    "merchant_reply": {"text": "Sorry", "created_at": "2026-11-20T10:00:00Z"},
}


def test_every_field_spoilt_every_way_decodes_as_before() -> None:
    """Each field of the event, and of each nested object, set in turn to each value at or past a limit, of a
    near type or with a key too many: accepted or rejected exactly as the plain decoder does."""
    base = {**copy.deepcopy(VALID), **copy.deepcopy(_NESTED)}
    for key in base:
        for value in _SPOILT_VALUES:
            _assert_same_outcome(orjson.dumps({**base, key: value}))
    for outer, inner in _NESTED.items():
        for key in [*inner, "extra"]:
            for value in _SPOILT_VALUES:
                _assert_same_outcome(orjson.dumps({**base, outer: {**inner, key: value}}))


def test_the_fast_check_counts_the_schemas_keys() -> None:
    """The fast check takes "22 keys, each of the schema's names found" for "exactly the schema's keys": that holds
    only while the schema has 22 properties, all of them required, and the check looks each of them up."""
    document = schemas.load_schema(REVIEW_SCHEMA)
    assert set(document["required"]) == set(document["properties"]) == set(VALID)
    assert len(document["properties"]) == review_shape._KEY_COUNT
    for key in VALID:
        assert not review_shape.plainly_valid_review({k: v for k, v in VALID.items() if k != key} | {"x": 1})
