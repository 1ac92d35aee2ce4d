"""The detector's scoring stage: a scored review is what the dataclass's constructor builds, and event times are
the RFC 3339 timestamps' epoch seconds, with the same ValueError for every unusable timestamp."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.detector.negativity import Classification
from services.detector.scoring import ScoredReview, epoch_seconds, score
from services.shared.events import ReviewEvent
from services.shared.timeutil import parse_rfc3339

_FIRST_UTC = datetime.min.replace(tzinfo=UTC).timestamp()
_LAST_UTC = datetime.max.replace(tzinfo=UTC).timestamp()


def reference_seconds(text: str) -> float:
    """What the detector has always taken a timestamp to mean: datetime's own parse (or parse_rfc3339 for a
    lowercase z), an offset required, years 1..9999 in UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = parse_rfc3339(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset")
    seconds = moment.timestamp()
    if not _FIRST_UTC < seconds < _LAST_UTC:
        raise ValueError(f"timestamp {text!r} is outside the years 1..9999 in UTC")
    return seconds


def outcome(parse: object, text: str) -> tuple[str, object]:
    assert callable(parse)
    try:
        return "value", parse(text)
    except ValueError as exc:
        return "error", str(exc)


_DIGITS = st.text("0123456789", min_size=1, max_size=9)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339-like timestamps: valid ones, offsets, `Z`/`z`, 1-9 fraction digits, the edge years, and broken
    variants (missing or extra parts, out-of-range fields, stray characters)."""
    year = draw(st.sampled_from(["0001", "0000", "1970", "2026", "9999", "10000", "99"]))
    month = draw(st.sampled_from(["01", "02", "11", "12", "13", "00", "1"]))
    day = draw(st.sampled_from(["01", "28", "29", "31", "32", "00"]))
    sep = draw(st.sampled_from(["T", "t", " ", "_", ""]))
    time = draw(st.sampled_from(["00:00:00", "23:59:59", "24:00:00", "12:30", "12", "23:59:60", "1:2:3"]))
    fraction = draw(st.one_of(st.just(""), _DIGITS.map(lambda d: "." + d), _DIGITS.map(lambda d: "," + d)))
    zone = draw(
        st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+01:00", "-05:30", "+14:00", "-23:59", "+24:00", "+0100"])
    )
    text = f"{year}-{month}-{day}{sep}{time}{fraction}{zone}"
    if draw(st.booleans()):
        return text
    return draw(st.sampled_from([text + " ", " " + text, text + "Z", text.replace("-", "/", 1), text[:-1], ""]))


@settings(max_examples=2000)
@given(st.one_of(timestamps(), st.text(max_size=40)))
@example("0001-01-01T00:00:00Z")
@example("0001-01-01T00:00:00.000001z")
@example("0001-01-01T00:59:59.999999+01:00")
@example("9999-12-31T23:59:59.999999Z")
@example("9999-12-31T23:59:59.999998+00:00")
@example("9999-12-31T22:59:59.999999-01:00")
def test_epoch_seconds_matches_the_reference_parse(text: str) -> None:
    """Every string, valid or not, gives exactly the reference's epoch seconds or its ValueError message (the
    intake dead-letters an unusable timestamp with that message)."""
    assert outcome(epoch_seconds, text) == outcome(reference_seconds, text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1970-01-01T00:00:00Z", 0.0),
        ("1970-01-01T00:00:00.5z", 0.5),
        ("1970-01-01T01:00:00+01:00", 0.0),
        ("2026-11-20T10:00:00.123456789Z", 1795168800.123456),
    ],
)
def test_epoch_seconds_of_known_timestamps(text: str, seconds: float) -> None:
    """Known timestamps: `Z` and `z`, an offset, and nanoseconds (datetime keeps microseconds)."""
    assert epoch_seconds(text) == pytest.approx(seconds, abs=1e-6)


def test_unusable_timestamps_raise_value_error() -> None:
    """No offset, a time before year 1 in UTC and garbage are ValueErrors, never another exception."""
    for text in ("2026-11-20T10:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "soon"):
        with pytest.raises(ValueError):
            epoch_seconds(text)


class _Fixed:
    def __init__(self, answer: Classification) -> None:
        self.answer = answer

    def classify(self, event: ReviewEvent) -> Classification:
        return self.answer


def _event() -> ReviewEvent:
    return ReviewEvent(
        event_id="e1",
        event_type="review.created",
        merchant_id="m1",
        platform="trustpilot",
        source_id="s",
        item_id="i1",
        kind="review",
        created_at="2026-11-20T10:00:00Z",
        observed_at="2026-11-20T10:00:01.5+01:00",
        rating=2,
    )


def test_score_builds_what_the_constructor_builds() -> None:
    """score() fills the scored review field by field: the result equals, hashes and reads like the one the
    dataclass's constructor makes, and stays frozen."""
    classification = Classification(negativity=0.75, negative=True, polarity="negative", category="logistics")
    event = _event()
    scored = score(event, _Fixed(classification))
    expected = ScoredReview(
        event=event,
        classification=classification,
        event_time=epoch_seconds(event.created_at),
        observed_time=epoch_seconds(event.observed_at),
    )
    assert scored == expected
    assert repr(scored) == repr(expected)
    assert dataclasses.astuple(scored) == dataclasses.astuple(expected)
    assert scored.counts and scored.event_at == "2026-11-20T10:00:00Z"
    with pytest.raises(dataclasses.FrozenInstanceError):
        scored.event_time = 0.0  # type: ignore[misc]


def test_score_raises_for_an_unusable_time() -> None:
    """An unusable observed_at raises the ValueError the intake dead-letters."""
    classification = Classification(negativity=0.0, negative=False, polarity="positive")
    with pytest.raises(ValueError, match="no time zone offset"):
        score(replace(_event(), observed_at="2026-11-20T10:00:01"), _Fixed(classification))
