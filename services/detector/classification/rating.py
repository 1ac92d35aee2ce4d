"""Ratings on every platform's scale, normalised onto 0 (worst) .. 1 (best), and what the rating alone decides."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from services.detector.classification.types import NEGATIVE_AT_MOST, POSITIVE_AT_LEAST
from services.shared.events import RatingScale

Verdict = Literal["negative", "not_negative", "middle"]

STARS = RatingScale(1.0, 5.0)
TEN_POINT = RatingScale(1.0, 10.0)
BINARY = RatingScale(0.0, 1.0)  # Facebook recommendations: 0 negative, 1 positive
THREE_LEVEL = RatingScale(1.0, 3.0)  # Taobao good/neutral/bad, eBay POSITIVE/NEUTRAL/NEGATIVE: 1 bad .. 3 good

NAMED_SCALES: dict[str, RatingScale] = {
    "stars": STARS,
    "five": STARS,
    "ten": TEN_POINT,
    "binary": BINARY,
    "positive/negative": BINARY,
    "negative/positive": BINARY,
    "recommendation": BINARY,
    "good/neutral/bad": THREE_LEVEL,
    "bad/neutral/good": THREE_LEVEL,
    "positive/neutral/negative": THREE_LEVEL,
    "negative/neutral/positive": THREE_LEVEL,
}

# Platforms that send a word instead of a number: the word's place on 0 (worst) .. 1 (best), whatever the scale.
LABELS: dict[str, float] = {
    "positive": 1.0,
    "good": 1.0,
    "recommended": 1.0,
    "recommend": 1.0,
    "neutral": 0.5,
    "negative": 0.0,
    "bad": 0.0,
    "not_recommended": 0.0,
    # Google Business Profile sends starRating as an English number word.
    "one": 0.0,
    "two": 0.25,
    "three": 0.5,
    "four": 0.75,
    "five": 1.0,
}

_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|\.\.|\u2013|to)\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_scale(value: object) -> RatingScale | None:
    """A rating scale from its wire forms: {"min", "max"}, [min, max], "1-5", "1..10" or a name; ValueError if bad."""
    if value is None:
        return None
    if isinstance(value, RatingScale):
        return value
    if isinstance(value, Mapping):
        low, high = value.get("min"), value.get("max")
        return _checked(low, high)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"rating scale {value!r} is not a [min, max] pair")
        return _checked(value[0], value[1])
    if isinstance(value, str):
        key = value.strip().lower()
        if key in NAMED_SCALES:
            return NAMED_SCALES[key]
        match = _RANGE.match(key)
        if match:
            return _checked(float(match.group(1)), float(match.group(2)))
    raise ValueError(f"rating scale {value!r} is not understood")


def _checked(low: object, high: object) -> RatingScale:
    if not _is_number(low) or not _is_number(high):
        raise ValueError(f"rating scale bounds {low!r}..{high!r} are not numbers")
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if high <= low:
        raise ValueError(f"rating scale {low}..{high} is empty")
    return RatingScale(float(low), float(high))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def normalise_rating(rating: object, scale: RatingScale | None = None) -> float | None:
    """`rating` on 0 (worst) .. 1 (best), or None when there is no usable rating.

    Numbers are placed on `scale`; without one, a rating up to 5 is read as stars and up to 10 as a ten-point
    score (the pollers normally send the scale). Words (positive, neutral, bad, FOUR, ...) and booleans (a
    recommendation) have a fixed place whatever the scale.
    """
    if isinstance(rating, bool):
        return 1.0 if rating else 0.0
    if isinstance(rating, str):
        word = rating.strip().lower().replace(" ", "_")
        if word in LABELS:
            return LABELS[word]
        try:
            rating = float(word)
        except ValueError:
            return None
    if not _is_number(rating):
        return None
    assert isinstance(rating, int | float)
    scale = scale or _guessed_scale(rating)
    if scale is None or scale.max <= scale.min:
        return None
    return scale.normalise(float(rating))


def _guessed_scale(rating: float) -> RatingScale | None:
    if rating <= STARS.max:
        return STARS
    if rating <= TEN_POINT.max:
        return TEN_POINT
    return None


def verdict(normalised: float) -> Verdict:
    """What the rating alone decides: clearly low is negative, clearly high is not; the middle needs the text."""
    if normalised <= NEGATIVE_AT_MOST:
        return "negative"
    if normalised >= POSITIVE_AT_LEAST:
        return "not_negative"
    return "middle"
