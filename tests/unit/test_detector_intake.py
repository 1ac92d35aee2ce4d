"""The intake stage: records become scored reviews; bad input becomes a rejection with a reason, never an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from services.detector.intake import decode, score_decoded, take_in
from services.detector.negativity import RatingClassifier
from services.detector.scoring import ScoredReview, score
from services.detector.synthetic import review_event
from services.shared import codec
from services.shared.events import ReviewEvent

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    offset: int
    value: bytes | None


def scorer(event: ReviewEvent) -> ScoredReview:
    return score(event, RatingClassifier())


def test_bad_records_are_rejected_with_reasons_and_the_rest_kept_in_order() -> None:
    """Non-JSON, schema-invalid, empty and badly timed records are rejected with their reason and original bytes;
    valid ones are scored in offset order, and a repeated event_id in the batch is kept once."""
    first = review_event(merchant_id="m1", item_id="a", created=T0, rating=1.0)
    second = review_event(merchant_id="m1", item_id="b", created=T0, rating=5.0)
    invalid = orjson.dumps({**first.to_dict(), "rating": "five"})
    no_zone = orjson.dumps({**second.to_dict(), "event_id": "e" * 32, "created_at": "2026-11-20T09:00:00"})
    records = [
        Record(0, codec.encode_review(first)),
        Record(1, b"{not json"),
        Record(2, invalid),
        Record(3, None),
        Record(4, no_zone),
        Record(5, codec.encode_review(first)),
        Record(6, codec.encode_review(second)),
    ]
    intake = take_in(records, scorer)
    assert [r.event.item_id for r in intake.reviews] == ["a", "b"]
    assert intake.reviews[0].classification.negative
    assert intake.repeats == 1
    assert [(r.offset, r.reason.value) for r in intake.rejected] == [
        (1, "malformed_json"),
        (2, "schema_invalid"),
        (3, "malformed_json"),
        (4, "schema_invalid"),
    ]
    assert intake.rejected[1].original == invalid
    assert intake.rejected[0].detail.startswith("not JSON")


def test_decoding_once_then_scoring_gives_what_take_in_gives() -> None:
    """The service decodes a batch once (for the model's batch) and scores the same events later: the reviews,
    repeats and rejections (an event the scorer rejects lands in its offset place) equal the one-pass result."""
    first = review_event(merchant_id="m1", item_id="a", created=T0, rating=1.0)
    second = review_event(merchant_id="m1", item_id="b", created=T0, rating=5.0)
    timeless = review_event(merchant_id="m1", item_id="t", created=T0, rating=5.0)

    def picky(event: ReviewEvent) -> ScoredReview:
        if event.item_id == "t":
            raise ValueError("no usable time")
        return scorer(event)

    records = [
        Record(0, codec.encode_review(timeless)),
        Record(1, codec.encode_review(first)),
        Record(2, b"[]"),
        Record(3, codec.encode_review(first)),
        Record(4, codec.encode_review(second)),
    ]
    decoded = decode(records)
    assert [offset for offset, _, _ in decoded.events] == [0, 1, 3, 4]
    assert [event.item_id for event in decoded.reviews()] == ["t", "a", "a", "b"]
    split = score_decoded(decoded, picky)
    whole = take_in(records, picky)
    assert [r.event.item_id for r in split.reviews] == [r.event.item_id for r in whole.reviews] == ["a", "b"]
    assert split.repeats == whole.repeats == 1
    assert [(r.offset, r.reason.value) for r in split.rejected] == [(0, "schema_invalid"), (2, "schema_invalid")]
    assert split.rejected[0].detail == "unusable timestamp: no usable time"
    assert split.rejected == whole.rejected
