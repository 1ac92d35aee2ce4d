"""The classifier's vocabulary: its input, its output, the supported languages and the complaint categories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Languages with a lexicon, keyword lists and labelled evaluation texts. The first five are the core languages
# (largest labelled sets); the model itself is multilingual, so other languages still get a text verdict.
CORE_LANGUAGES = ("en", "de", "nl", "ru", "zh")
LANGUAGES = (*CORE_LANGUAGES, "fr", "es", "it", "pl", "tr", "ja")

Category = Literal["logistics", "not_as_described", "service", "quality", "price", "other"]
CATEGORIES: tuple[Category, ...] = ("logistics", "not_as_described", "service", "quality", "price", "other")

Source = Literal["rating", "text", "rating+text", "hint", "none"]
Polarity = Literal["negative", "neutral", "positive"]

# On the normalised 0 (worst) .. 1 (best) rating scale: at or below this the rating alone says negative, at or
# above POSITIVE_AT_LEAST it says not negative; in between (3 of 5 stars, "neutral") the text is read too.
NEGATIVE_AT_MOST = 0.25
POSITIVE_AT_LEAST = 0.75
# Probability above which a review counts as negative.
NEGATIVE_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class ClassificationInput:
    """What the classifier reads about one item. `rating` is already normalised onto 0 (worst) .. 1 (best)."""

    text: str = ""
    rating: float | None = None
    language: str | None = None  # the platform's language field, if it sent one
    hints: tuple[str, ...] = ()  # platform topics, tags and complaint reasons, e.g. "topic:shipping"


@dataclass(frozen=True, slots=True)
class Classification:
    """The four fields every processed event carries, plus where the verdict came from."""

    negativity: float  # 0 (glowing) .. 1 (furious)
    negative: bool
    category: Category  # the complaint category; "other" for items that are not negative
    language: str | None  # ISO 639-1; None when there is no text and the platform sent no language
    source: Source
    used_model: bool = False  # whether the text model ran (or its cached verdict was used) for this item

    @property
    def polarity(self) -> Polarity:
        if self.negative:
            return "negative"
        return "positive" if self.negativity <= 1.0 - POSITIVE_AT_LEAST else "neutral"
