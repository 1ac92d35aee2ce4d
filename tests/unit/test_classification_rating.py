"""Rating normalisation on every platform's scale, and what the rating alone decides."""

from __future__ import annotations

import math

import pytest

from services.detector.classification.inputs import hints_from_attributes, input_from_event, input_from_record
from services.detector.classification.rating import (
    BINARY,
    STARS,
    TEN_POINT,
    THREE_LEVEL,
    normalise_rating,
    parse_scale,
    verdict,
)
from services.shared.events import RatingScale, ReviewEvent


@pytest.mark.parametrize(
    ("stars", "normalised", "decided"),
    [
        (1, 0.0, "negative"),
        (2, 0.25, "negative"),
        (3, 0.5, "middle"),
        (4, 0.75, "not_negative"),
        (5, 1.0, "not_negative"),
    ],
)
def test_five_star_scale(stars: int, normalised: float, decided: str) -> None:
    """1-2 stars are negative by the rating alone, 4-5 are not, 3 needs the text."""
    value = normalise_rating(stars, STARS)
    assert value is not None
    assert value == pytest.approx(normalised)
    assert verdict(value) == decided


@pytest.mark.parametrize(
    ("points", "decided"),
    [(1, "negative"), (3, "negative"), (4, "middle"), (7, "middle"), (8, "not_negative"), (10, "not_negative")],
)
def test_ten_point_scale(points: int, decided: str) -> None:
    """On 1-10, up to 3 is clearly negative and from 8 clearly not; 4-7 are read together with the text."""
    value = normalise_rating(points, TEN_POINT)
    assert value is not None
    assert value == pytest.approx((points - 1) / 9)
    assert verdict(value) == decided


@pytest.mark.parametrize(
    ("rating", "scale", "decided"),
    [
        (0, BINARY, "negative"),
        (1, BINARY, "not_negative"),
        (False, None, "negative"),
        (True, None, "not_negative"),
        ("negative", BINARY, "negative"),
        ("positive", None, "not_negative"),
    ],
)
def test_positive_negative_scale(rating: object, scale: RatingScale | None, decided: str) -> None:
    """Facebook-style recommendations (0/1, booleans or the words) decide on their own."""
    value = normalise_rating(rating, scale)
    assert value is not None
    assert verdict(value) == decided


@pytest.mark.parametrize(
    ("rating", "normalised", "decided"),
    [(1, 0.0, "negative"), (2, 0.5, "middle"), (3, 1.0, "not_negative"), ("bad", 0.0, "negative"),
     ("neutral", 0.5, "middle"), ("good", 1.0, "not_negative"), ("NEGATIVE", 0.0, "negative")],
)  # fmt: skip
def test_three_level_scale(rating: object, normalised: float, decided: str) -> None:
    """Taobao good/neutral/bad and eBay POSITIVE/NEUTRAL/NEGATIVE: neutral is a middle rating that reads the text."""
    value = normalise_rating(rating, THREE_LEVEL)
    assert value == pytest.approx(normalised)
    assert value is not None
    assert verdict(value) == decided


@pytest.mark.parametrize(("word", "normalised"), [("ONE", 0.0), ("TWO", 0.25), ("THREE", 0.5), ("FIVE", 1.0)])
def test_google_star_words(word: str, normalised: float) -> None:
    """Google Business Profile's starRating words map onto the star positions."""
    assert normalise_rating(word) == pytest.approx(normalised)


def test_missing_scale_is_guessed_from_the_value() -> None:
    """Without a scale, up to 5 is stars and up to 10 a ten-point score; larger numbers are not guessed."""
    assert normalise_rating(4) == pytest.approx(0.75)
    assert normalise_rating(8) == pytest.approx(7 / 9)
    assert normalise_rating(50) is None


def test_unusable_ratings_are_none() -> None:
    """No rating, NaN, unknown words and empty scales say nothing; out-of-range values are clamped."""
    assert normalise_rating(None) is None
    assert normalise_rating(math.nan, STARS) is None
    assert normalise_rating("meh", STARS) is None
    assert normalise_rating(3, RatingScale(5.0, 5.0)) is None
    assert normalise_rating(7, STARS) == 1.0
    assert normalise_rating("4", STARS) == pytest.approx(0.75)


def test_parse_scale_accepts_every_wire_form() -> None:
    """Scales arrive as objects, pairs, ranges or names; nonsense is a ValueError naming the value."""
    assert parse_scale({"min": 1, "max": 5}) == STARS
    assert parse_scale([1, 10]) == TEN_POINT
    assert parse_scale("1-10") == TEN_POINT
    assert parse_scale("1..5") == STARS
    assert parse_scale("positive/negative") == BINARY
    assert parse_scale("good/neutral/bad") == THREE_LEVEL
    assert parse_scale(None) is None
    for bad in ({"min": 5, "max": 1}, [1], "stars-ish", {"min": "a", "max": 5}, 7):
        with pytest.raises(ValueError, match="rating scale"):
            parse_scale(bad)


def _event(**overrides: object) -> ReviewEvent:
    fields: dict[str, object] = {
        "event_id": "e1",
        "event_type": "review.created",
        "merchant_id": "m1",
        "platform": "ebay",
        "source_id": "m1/ebay",
        "item_id": "i1",
        "kind": "review",
        "created_at": "2026-01-01T00:00:00Z",
        "observed_at": "2026-01-01T00:00:00Z",
    }
    fields.update(overrides)
    return ReviewEvent(**fields)  # type: ignore[arg-type]


def test_input_from_event_uses_the_events_scale_title_and_hints() -> None:
    """A review event's rating is normalised on its own scale; title and text join; attributes become hints."""
    event = _event(
        rating=3.0,
        rating_scale=RatingScale(1.0, 10.0),
        title="Late again",
        text="Third time the parcel is late.",
        language="en-GB",
        attributes={"topics": ["shipping", "packaging"], "tags": ["Delivery:late"], "order": "A1"},
    )
    item = input_from_event(event)
    assert item.rating == pytest.approx(2 / 9)
    assert item.text == "Late again. Third time the parcel is late."
    assert item.language == "en-GB"
    assert item.hints == ("topic:shipping", "topic:packaging", "tag:Delivery:late")


def test_input_from_event_without_rating_or_text() -> None:
    """A mention has no rating: the input carries None, and an empty text when there is none."""
    item = input_from_event(_event(kind="mention", text=None))
    assert item.rating is None
    assert item.text == ""


def test_input_from_record_validates_fields() -> None:
    """JSON records are read field by field; an unusable field is a ValueError that names it."""
    item = input_from_record({"id": "1", "text": "ok", "rating": "good", "rating_scale": "good/neutral/bad"})
    assert item.rating == 1.0
    with pytest.raises(ValueError, match="rating"):
        input_from_record({"id": "1", "text": "ok", "rating": "great"})
    with pytest.raises(ValueError, match="text"):
        input_from_record({"id": "1", "text": 5})
    assert hints_from_attributes({"complaint_reason": "item_not_received", "tags": "x"}) == (
        "tag:x",
        "reason:item_not_received",
    )
