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
    payloads: list[bytes] = field(default_factory=list)  # each review's record value, as it came (for storage)
    rejected: list[Rejected] = field(default_factory=list)
    repeats: int = 0  # records whose event_id came earlier in the same batch


@dataclass
class Decoded:
    """A partition's records after decoding (once): the review events with their offsets, and the rejections."""

    events: list[tuple[int, bytes, ReviewEvent]] = field(default_factory=list)  # (offset, original, event)
    rejected: list[Rejected] = field(default_factory=list)

    def reviews(self) -> list[ReviewEvent]:
        return [event for _, _, event in self.events]


def decode(records: Sequence[Any]) -> Decoded:
    """Decode and validate records (anything with `.offset` and `.value`). Pure, never raises on input."""
    decoded = Decoded()
    accept = decoded.events.append  # looked up once per batch, not per record
    decode_review = codec.decode_review
    for record in records:
        value: bytes | None = record.value
        raw = b"" if value is None else value
        try:
            accept((record.offset, raw, decode_review(raw)))
        except BadInput as exc:
            decoded.rejected.append(Rejected(record.offset, raw, exc.reason, str(exc)))
    return decoded


def score_decoded(decoded: Decoded, score: Callable[[ReviewEvent], ScoredReview]) -> Intake:
    """Score decoded events in offset order; an unusable timestamp is rejected, a repeated event_id kept once."""
    intake = Intake(rejected=list(decoded.rejected))
    seen: set[str] = set()
    late: list[Rejected] = []
    for offset, raw, event in decoded.events:
        try:
            review = score(event)
        except BadInput as exc:
            late.append(Rejected(offset, raw, exc.reason, str(exc)))
            continue
        except ValueError as exc:
            late.append(Rejected(offset, raw, Reason.SCHEMA_INVALID, f"unusable timestamp: {exc}"))
            continue
        if event.event_id in seen:
            intake.repeats += 1
            continue
        seen.add(event.event_id)
        intake.reviews.append(review)
        intake.payloads.append(raw)
    if late:
        # Dead letters go out in offset order, as they did when decoding and scoring were one pass.
        intake.rejected = sorted(intake.rejected + late, key=lambda rejected: rejected.offset)
    return intake


def take_in(records: Sequence[Any], score: Callable[[ReviewEvent], ScoredReview]) -> Intake:
    """Decode, validate and score records in one call (tests, tools); the service decodes once and scores later."""
    return score_decoded(decode(records), score)
