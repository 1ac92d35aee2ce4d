"""The first pipeline stage: a review event plus its classification and its parsed event time."""

from __future__ import annotations

from dataclasses import dataclass

from services.detector.negativity import Classification, Classifier
from services.shared.events import ReviewEvent
from services.shared.timeutil import format_rfc3339, parse_rfc3339


@dataclass(frozen=True, slots=True)
class ScoredReview:
    event: ReviewEvent
    classification: Classification
    event_time: float  # created_at as seconds since the epoch: detection runs on event time, never wall time
    event_at: str  # created_at normalised to RFC 3339 UTC
    observed_time: float  # observed_at as seconds since the epoch

    @property
    def counts(self) -> bool:
        """Only newly created items are counted; edits and deletions describe items already counted."""
        return self.event.event_type == "review.created"


def score(event: ReviewEvent, classifier: Classifier) -> ScoredReview:
    """Classify one event and parse its times. Raises ValueError when a timestamp is unusable."""
    moment = parse_rfc3339(event.created_at)
    return ScoredReview(
        event=event,
        classification=classifier.classify(event),
        event_time=moment.timestamp(),
        event_at=format_rfc3339(moment),
        observed_time=parse_rfc3339(event.observed_at).timestamp(),
    )
