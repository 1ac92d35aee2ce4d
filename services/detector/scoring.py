"""The first pipeline stage: a review event plus its classification and its parsed event time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.detector.negativity import Classification, Classifier
from services.shared.events import ReviewEvent
from services.shared.timeutil import format_rfc3339, parse_rfc3339


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


def epoch_seconds(text: str) -> float:
    """An RFC 3339 timestamp as epoch seconds. Raises ValueError when it is unusable or has no offset."""
    try:
        moment = datetime.fromisoformat(text)  # Python 3.11+ reads `Z` and any offset
    except ValueError:
        moment = parse_rfc3339(text)  # the slower path knows a lowercase `z` too
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset")
    return moment.timestamp()


def score(event: ReviewEvent, classifier: Classifier) -> ScoredReview:
    """Classify one event and parse its times. Raises ValueError when a timestamp is unusable."""
    return ScoredReview(
        event=event,
        classification=classifier.classify(event),
        event_time=epoch_seconds(event.created_at),
        observed_time=epoch_seconds(event.observed_at),
    )
