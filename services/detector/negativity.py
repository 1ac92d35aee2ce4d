"""How negative one review is: the `Classifier` seam and its first implementation, from the star rating."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from services.shared.events import RatingScale, ReviewEvent

Polarity = Literal["negative", "neutral", "positive", "unknown"]

# On the normalised 0 (worst) .. 1 (best) scale: 1-2 of 5 stars are negative, 4-5 positive, 3 neutral.
NEGATIVE_AT_MOST = 0.25
POSITIVE_AT_LEAST = 0.75
# A rating without a scale is almost always stars; the pollers normally send the scale explicitly.
DEFAULT_SCALE = RatingScale(1.0, 5.0)


@dataclass(frozen=True, slots=True)
class Classification:
    """What the detector needs to know about one item's content."""

    negativity: float | None  # 0 (glowing) .. 1 (furious); None when nothing could be judged
    negative: bool
    polarity: Polarity
    category: str | None = None  # complaint category (logistics, service, ...); None until text is classified
    language: str | None = None


UNKNOWN = Classification(negativity=None, negative=False, polarity="unknown")


class Classifier(Protocol):
    """Judges one review event. Pure: the same event always gets the same classification."""

    def classify(self, event: ReviewEvent) -> Classification: ...


class RatingClassifier:
    """Negativity from the rating alone. Items without a rating are `unknown` (a text classifier comes later)."""

    def classify(self, event: ReviewEvent) -> Classification:
        if event.rating is None:
            return Classification(negativity=None, negative=False, polarity="unknown", language=event.language)
        scale = event.rating_scale or DEFAULT_SCALE
        try:
            normalised = scale.normalise(event.rating)
        except ValueError:
            # An empty scale (min == max) says nothing about the rating.
            return Classification(negativity=None, negative=False, polarity="unknown", language=event.language)
        return Classification(
            negativity=1.0 - normalised,
            negative=normalised <= NEGATIVE_AT_MOST,
            polarity=polarity_of(normalised),
            language=event.language,
        )


def polarity_of(normalised: float) -> Polarity:
    if normalised <= NEGATIVE_AT_MOST:
        return "negative"
    if normalised >= POSITIVE_AT_LEAST:
        return "positive"
    return "neutral"
