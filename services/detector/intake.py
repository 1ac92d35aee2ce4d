"""The detector's first stage: a partition's Kafka records to scored reviews, rejected records and repeats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.detector.scoring import ScoredReview
from services.shared import codec
from services.shared.errors import BadInput, Reason
from services.shared.events import ReviewEvent


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that can never be processed: it goes to the dead-letter topic with its reason."""

    offset: int
    original: bytes
    reason: Reason
    detail: str


@dataclass
class Intake:
    reviews: list[ScoredReview] = field(default_factory=list)  # in offset order, each event_id once
    rejected: list[Rejected] = field(default_factory=list)
    repeats: int = 0  # records whose event_id came earlier in the same batch


def take_in(records: Sequence[Any], score: Callable[[ReviewEvent], ScoredReview]) -> Intake:
    """Decode, validate and score records (anything with `.offset` and `.value`). Pure, never raises on input."""
    intake = Intake()
    seen: set[str] = set()
    for record in records:
        raw: bytes = record.value if record.value is not None else b""
        try:
            event = codec.decode_review(raw)
            review = score(event)
        except BadInput as exc:
            intake.rejected.append(Rejected(record.offset, raw, exc.reason, str(exc)))
            continue
        except ValueError as exc:
            intake.rejected.append(Rejected(record.offset, raw, Reason.SCHEMA_INVALID, f"unusable timestamp: {exc}"))
            continue
        if event.event_id in seen:
            intake.repeats += 1
            continue
        seen.add(event.event_id)
        intake.reviews.append(review)
    return intake


def decodable_reviews(records: Sequence[Any]) -> list[ReviewEvent]:
    """The review events among `records` that decode (the rest are left for `take_in` to reject)."""
    events = []
    for record in records:
        try:
            events.append(codec.decode_review(record.value if record.value is not None else b""))
        except BadInput:
            continue
    return events
