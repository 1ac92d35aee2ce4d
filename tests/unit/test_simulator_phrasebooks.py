"""The extra simulator phrasebooks read, to the project's classifier, as their language, polarity and category."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from services.detector.classification.classifier import ReviewClassifier
from services.detector.classification.embedder import E5Embedder
from services.detector.classification.inputs import review_text
from services.detector.classification.types import Classification, ClassificationInput
from services.simulator import texts
from services.simulator.phrasebook import Phrasebook
from services.simulator.phrasebooks_more import MORE_PHRASEBOOKS
from services.simulator.texts import NEGATIVE_CATEGORIES

SEED = 2026
NEGATIVE_PER_CATEGORY = 8  # composed one- and two-star texts per complaint category and language
POSITIVE_PER_LANGUAGE = 16  # composed four- and five-star texts per language
MAX_LANGUAGE_MISSES = 0.05
MIN_POLARITY_HITS = 0.85
MIN_CATEGORY_HITS = 0.70


@dataclass(frozen=True)
class Sample:
    """One composed review: its language, the category it was written for (None when positive), its verdict."""

    language: str
    category: str | None
    result: Classification


def _compose_all(language: str, book: Phrasebook) -> list[tuple[str | None, str]]:
    """(category or None, title and body as the detector joins them) via texts.compose, the simulator's own path."""
    rng = random.Random(f"{SEED}-{language}")
    composed: list[tuple[str | None, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        # compose looks the phrasebook up in texts.PHRASEBOOKS: lend it this one for the duration only.
        patch.setitem(texts.PHRASEBOOKS, language, book)
        for category in NEGATIVE_CATEGORIES:
            for i in range(NEGATIVE_PER_CATEGORY):
                review = texts.compose(rng, language, 1 + i % 2, category)
                composed.append((category, review_text(review.title, review.text)))
        for i in range(POSITIVE_PER_LANGUAGE):
            review = texts.compose(rng, language, 4 + i % 2, None)
            composed.append((None, review_text(review.title, review.text)))
    return composed


@pytest.fixture(scope="module")
def classifier() -> Iterator[ReviewClassifier]:
    """One real classifier (model and language identifier) for the whole module, closed at the end. The model runs
    on every core (OpenMP): the same embeddings bit for bit as on one, in a fraction of the time."""
    instance = ReviewClassifier(embedder=E5Embedder(threads=os.cpu_count() or 1))
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def samples(classifier: ReviewClassifier) -> list[Sample]:
    """Every composed text of every extra language, classified once from its text alone (no rating, no hints)."""
    composed = [
        (language, *item) for language, book in MORE_PHRASEBOOKS.items() for item in _compose_all(language, book)
    ]
    results = classifier.classify_many_sync(
        [ClassificationInput(text=text, rating=None, language=None) for _, _, text in composed]
    )
    return [
        Sample(language, category, result) for (language, category, _), result in zip(composed, results, strict=True)
    ]


def _share(hits: list[bool]) -> float:
    assert hits
    return sum(hits) / len(hits)


def test_every_language_has_every_category() -> None:
    """Each extra phrasebook has titles and at least two sentences for every complaint category, and no others."""
    for language, book in MORE_PHRASEBOOKS.items():
        assert set(book.negative_titles) == set(NEGATIVE_CATEGORIES), language
        assert set(book.negative_sentences) == set(NEGATIVE_CATEGORIES), language
        for category in NEGATIVE_CATEGORIES:
            assert book.negative_titles[category], (language, category)
            assert len(book.negative_sentences[category]) >= 2, (language, category)
        assert len(book.positive_sentences) >= 2, language
        assert book.neutral_titles and book.neutral_sentences and book.negative_closings, language
        assert book.first_names and book.last_initials and book.locations, language


@pytest.mark.parametrize("language", sorted(MORE_PHRASEBOOKS))
def test_detected_language(samples: list[Sample], language: str) -> None:
    """The classifier detects the phrasebook's language for at least 95% of its composed texts."""
    mine = [s for s in samples if s.language == language]
    share = _share([s.result.language == language for s in mine])
    assert share >= 1.0 - MAX_LANGUAGE_MISSES, (share, [s.result.language for s in mine])


@pytest.mark.parametrize("language", sorted(MORE_PHRASEBOOKS))
def test_polarity(samples: list[Sample], language: str) -> None:
    """At least 85% of negative texts are classified negative and at least 85% of positive ones not negative."""
    negative = [s.result.negative for s in samples if s.language == language and s.category is not None]
    positive = [not s.result.negative for s in samples if s.language == language and s.category is None]
    assert _share(negative) >= MIN_POLARITY_HITS, _share(negative)
    assert _share(positive) >= MIN_POLARITY_HITS, _share(positive)


@pytest.mark.parametrize("language", sorted(MORE_PHRASEBOOKS))
def test_category(samples: list[Sample], language: str) -> None:
    """At least 70% of negative texts get the complaint category their sentences were written for."""
    mine = [s for s in samples if s.language == language and s.category is not None]
    share = _share([s.result.category == s.category for s in mine])
    assert share >= MIN_CATEGORY_HITS, (share, [(s.category, s.result.category) for s in mine])
