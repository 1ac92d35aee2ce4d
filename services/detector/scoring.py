"""The first pipeline stage: a review event plus its classification and its parsed event time."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from services.detector.negativity import Classification, Classifier
from services.shared.events import ReviewEvent
from services.shared.timeutil import format_rfc3339, parse_rfc3339

_FIRST_UTC = datetime.min.replace(tzinfo=UTC).timestamp()
_LAST_UTC = datetime.max.replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class ScoredReview:
    event: ReviewEvent
    classification: Classification
    event_time: float  # created_at as seconds since the epoch: detection runs on event time, never wall time
    observed_time: float  # observed_at as seconds since the epoch

    @property
    def event_at(self) -> str:
        """created_at normalised to RFC 3339 UTC (formatted on demand: only incidents need it)."""
        return format_rfc3339(parse_rfc3339(self.event.created_at))

    @property
    def counts(self) -> bool:
        """Only newly created items are counted; edits and deletions describe items already counted."""
        return self.event.event_type == "review.created"


_fromisoformat = datetime.fromisoformat


def epoch_seconds(text: str) -> float:
    """An RFC 3339 timestamp as epoch seconds. Raises ValueError when it is unusable or has no offset."""
    try:
        moment = _fromisoformat(text)  # Python 3.11+ reads `Z` and any offset
    except ValueError:
        moment = parse_rfc3339(text)  # the slower path knows a lowercase `z` too
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset")
    seconds = moment.timestamp()
    # `0001-01-01T00:00:00+01:00` parses but is before year 1 in UTC: storing it raised OverflowError and stopped
    # the detector (found by fuzzing). Reject it here, where the intake dead-letters unusable timestamps.
    # Strict bounds: float rounding hides a microsecond past either end.
    if _FIRST_UTC < seconds < _LAST_UTC:
        return seconds
    raise ValueError(f"timestamp {text!r} is outside the years 1..9999 in UTC")


# score() runs for every event on the detector's loop: it fills the slots directly, which skips the frozen
# dataclass's __init__ (one object.__setattr__ lookup per field, ~0.2 µs). The same object results
# (`tests/unit/test_scoring.py` compares it with the constructor's, which fails if a field is added).
if [field.name for field in fields(ScoredReview)] != ["event", "classification", "event_time", "observed_time"]:
    raise TypeError("ScoredReview's fields changed: score() must set each of them")
_new_scored = object.__new__
_set_event = vars(ScoredReview)["event"].__set__
_set_classification = vars(ScoredReview)["classification"].__set__
_set_event_time = vars(ScoredReview)["event_time"].__set__
_set_observed_time = vars(ScoredReview)["observed_time"].__set__


def score(event: ReviewEvent, classifier: Classifier) -> ScoredReview:
    """Classify one event and parse its times. Raises ValueError when a timestamp is unusable."""
    scored: ScoredReview = _new_scored(ScoredReview)
    _set_event(scored, event)
    _set_classification(scored, classifier.classify(event))
    _set_event_time(scored, epoch_seconds(event.created_at))
    _set_observed_time(scored, epoch_seconds(event.observed_at))
    return scored
