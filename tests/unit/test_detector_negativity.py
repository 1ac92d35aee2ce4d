"""Rating-based negativity: the first Classifier behind the seam the text classifier will use later."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from services.detector.negativity import RatingClassifier
from services.detector.scoring import score
from services.detector.synthetic import review_event
from services.shared.events import RatingScale

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rating", "negativity", "negative", "polarity"),
    [(1.0, 1.0, True, "negative"), (2.0, 0.75, True, "negative"), (3.0, 0.5, False, "neutral"),
     (4.0, 0.25, False, "positive"), (5.0, 0.0, False, "positive")],
)  # fmt: skip
def test_five_star_ratings(rating: float, negativity: float, negative: bool, polarity: str) -> None:
    """On 1..5 stars, 1-2 stars are negative, 3 neutral, 4-5 positive; negativity is 1 - the normalised rating."""
    result = RatingClassifier().classify(review_event(merchant_id="m1", item_id="i", created=T0, rating=rating))
    assert (result.negativity, result.negative, result.polarity) == (negativity, negative, polarity)


def test_other_scales_are_normalised() -> None:
    """A 0..1 recommendation of 0 and a 3 of 1..10 are negative; a 7 of 1..10 is neutral."""
    base = review_event(merchant_id="m1", item_id="i", created=T0, rating=0.0)
    classifier = RatingClassifier()
    assert classifier.classify(dataclasses.replace(base, rating_scale=RatingScale(0, 1))).negative
    ten = RatingScale(1, 10)
    assert classifier.classify(dataclasses.replace(base, rating=3.0, rating_scale=ten)).negative
    assert classifier.classify(dataclasses.replace(base, rating=7.0, rating_scale=ten)).polarity == "neutral"


def test_without_rating_polarity_is_unknown() -> None:
    """No rating (a comment, a mention) or an empty scale: unknown, never negative, language kept."""
    comment = review_event(merchant_id="m1", item_id="i", created=T0, rating=None, language="de")
    result = RatingClassifier().classify(comment)
    assert (result.negativity, result.negative, result.polarity, result.language) == (None, False, "unknown", "de")
    empty = dataclasses.replace(comment, rating=3.0, rating_scale=RatingScale(3, 3))
    assert RatingClassifier().classify(empty).polarity == "unknown"


def test_missing_scale_means_stars() -> None:
    """A rating without a scale is read as 1..5 stars."""
    event = dataclasses.replace(review_event(merchant_id="m1", item_id="i", created=T0, rating=1.0), rating_scale=None)
    assert RatingClassifier().classify(event).negative


def test_score_parses_event_time() -> None:
    """Scoring keeps created_at as epoch seconds and normalised RFC 3339; a bad timestamp raises ValueError."""
    event = review_event(merchant_id="m1", item_id="i", created=T0, rating=1.0)
    scored = score(dataclasses.replace(event, created_at="2026-11-20T10:00:00+01:00"), RatingClassifier())
    assert scored.event_time == T0.timestamp()
    assert scored.event_at == "2026-11-20T09:00:00Z"
    with pytest.raises(ValueError, match=r"Invalid|time zone"):
        score(dataclasses.replace(event, created_at="2026-11-20T09:00:00"), RatingClassifier())
