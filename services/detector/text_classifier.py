"""The detector's Classifier seam backed by the multilingual text classifier, with the model run in batches off-loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from services.detector.classification.classifier import ClassifierStats, ReviewClassifier, rating_cleared
from services.detector.classification.inputs import input_from_event
from services.detector.classification.language import normalise_tag
from services.detector.classification.rating import normalise_rating, verdict
from services.detector.classification.types import Classification as TextClassification
from services.detector.negativity import Classification
from services.shared import metrics
from services.shared.events import ReviewEvent

_RATED_CACHE_SIZE = 10_000
_NEGATIVE_CACHE_SIZE = 20_000
_NEGATIVE_TEXT_LIMIT = 2_000  # characters of title + text: longer reviews are classified, never remembered
_UNKNOWN = object()

_NegativeKey = tuple[str | None, str | None, float, str]


@dataclass(frozen=True, slots=True)
class _Rated:
    """What a rating on its scale and a declared language decide."""

    normalised: float
    language: str  # the declared language's ISO 639-1 code
    cleared: Classification | None  # the answer when the rating alone clears the review
    negative: bool  # the rating alone makes the review negative (the text only names the category)


def _rate(event: ReviewEvent) -> _Rated | None:
    normalised = normalise_rating(event.rating, event.rating_scale)
    language = normalise_tag(event.language)
    if normalised is None or language is None:
        return None
    decided = verdict(normalised)
    cleared = to_detector(rating_cleared(normalised, language)) if decided == "not_negative" else None
    return _Rated(normalised, language, cleared, decided == "negative")


def _negative_key(event: ReviewEvent, rated: _Rated) -> _NegativeKey | None:
    """The key a low-rated review's classification is remembered under, or None if it is not remembered: hints
    (attributes) can name the category, and long texts would make the cache's memory unbounded."""
    if not rated.negative or event.attributes:
        return None
    title, text = event.title, event.text
    if len(title or "") + len(text or "") > _NEGATIVE_TEXT_LIMIT:
        return None
    return (title, text, rated.normalised, rated.language)


def to_detector(result: TextClassification) -> Classification:
    """Map the text classifier's verdict onto what the detection engine keeps."""
    if result.source == "none":  # no rating, no text, no hint: nothing to judge
        return Classification(negativity=None, negative=False, polarity="unknown", language=result.language)
    return Classification(
        negativity=result.negativity,
        negative=result.negative,
        polarity=result.polarity,
        category=result.category,
        language=result.language,
    )


class TextAwareClassifier:
    """Implements `negativity.Classifier` for the engine.

    The engine asks one event at a time, synchronously, inside its pure processing. The text model is far too
    slow for that on an event loop, so the service first calls `prepare(events)` for a whole batch (the model
    runs in the classifier's worker thread, batched and cached) and `classify` then only looks the answer up.
    An event that was not prepared (the backtest, the CLI) is classified inline: same code, same answer, so the
    live service and the backtest agree.
    """

    def __init__(self, classifier: ReviewClassifier | None = None) -> None:
        self._classifier = classifier or ReviewClassifier()
        self._prepared: dict[str, Classification] = {}
        # (rating type, rating, scale, declared language) -> what those decide; see `_rated`. Both caches are
        # emptied when full: memory stays bounded and a busy detector refills them within a few batches.
        self._rated_cache: dict[tuple[type, object, tuple[float, float] | None, str], _Rated | None] = {}
        # Low-rated reviews without hints: (title, text, normalised rating, language) -> their classification.
        self._negative_cache: dict[_NegativeKey, Classification] = {}

    @property
    def stats(self) -> ClassifierStats:
        return self._classifier.stats

    async def prepare(self, events: Sequence[ReviewEvent], *, stop: asyncio.Event | None = None) -> PreparedBatch:
        """Classify a batch off the event loop. The returned batch answers `classify` for these events by lookup;
        so does this classifier until the next `prepare` (only the newest batch is kept: memory stays bounded).

        Partitions are prepared side by side, so a caller scores with the batch it got back: another partition's
        `prepare` may finish before this one's scoring and replace what this classifier holds.
        `stop`: set it to give the batch up after the text model's current chunk (raises Interrupted)."""
        prepared: dict[str, Classification] = {}
        if events:
            prepared, rest, keys = self._split(events)
            results = await self._classifier.classify_many([input_from_event(event) for event in rest], stop=stop)
            self._merge(prepared, rest, keys, results)
        self._prepared = prepared
        return PreparedBatch(prepared, self)

    def prepare_sync(self, events: Sequence[ReviewEvent]) -> PreparedBatch:
        """The same as `prepare`, on the calling thread (offline tools)."""
        prepared, rest, keys = self._split(events)
        results = self._classifier.classify_many_sync([input_from_event(event) for event in rest])
        self._merge(prepared, rest, keys, results)
        self._prepared = prepared
        return PreparedBatch(prepared, self)

    def _split(
        self, events: Sequence[ReviewEvent]
    ) -> tuple[dict[str, Classification], list[ReviewEvent], list[_NegativeKey | None]]:
        """The events decided here (a rating that clears them, or a low-rated text already seen), and the rest
        (for the classifier) with, for each, the key its answer is remembered under (None: not remembered)."""
        prepared: dict[str, Classification] = {}
        rest: list[ReviewEvent] = []
        keys: list[_NegativeKey | None] = []
        for event in events:
            rated = self._rated(event)
            if rated is not None:
                if rated.cleared is not None:
                    prepared[event.event_id] = rated.cleared
                    continue
                key = _negative_key(event, rated)
                if key is not None:
                    found = self._negative_cache.get(key)
                    if found is not None:
                        prepared[event.event_id] = found
                        continue
                rest.append(event)
                keys.append(key)
                continue
            rest.append(event)
            keys.append(None)
        self._classifier.count_decided(len(prepared))
        return prepared, rest, keys

    def _merge(
        self,
        prepared: dict[str, Classification],
        rest: Sequence[ReviewEvent],
        keys: Sequence[_NegativeKey | None],
        results: Sequence[TextClassification],
    ) -> None:
        """Add the classifier's answers to `prepared`, and remember those of low-rated reviews by their text."""
        for event, key, result in zip(rest, keys, results, strict=True):
            found = prepared[event.event_id] = to_detector(result)
            if key is not None:
                if len(self._negative_cache) >= _NEGATIVE_CACHE_SIZE:
                    self._negative_cache.clear()
                self._negative_cache[key] = found

    def _rated(self, event: ReviewEvent) -> _Rated | None:
        """What a review's rating and declared language decide, or None when it lacks either or one is unusable.

        Most reviews are rated 4-5 stars: for them the classifier's answer depends on the rating and the language
        only (no text, hints or model), so it is computed once per (rating, scale, language) and reused. 1-2 star
        reviews are negative by their rating; their category comes from hints or the text's keywords only, so
        without hints the answer depends on the text, the rating and the language (see `_negative_key`).
        The classifier's own path gives the same answers (`tests/unit/test_text_classifier_adapter.py` checks it).
        """
        rating, declared = event.rating, event.language
        if rating is None or declared is None:
            return None
        scale = event.rating_scale
        # The rating's type is in the key: True == 1 but a boolean is a recommendation, 1 a star.
        key = (rating.__class__, rating, None if scale is None else (scale.min, scale.max), declared)
        found = self._rated_cache.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = _rate(event)
            if len(self._rated_cache) >= _RATED_CACHE_SIZE:
                self._rated_cache.clear()
            self._rated_cache[key] = found
        return found  # type: ignore[return-value]

    def classify(self, event: ReviewEvent) -> Classification:
        found = self._prepared.get(event.event_id)
        if found is not None:
            return found
        return self.classify_inline(event)

    def classify_inline(self, event: ReviewEvent) -> Classification:
        """Classify one event on the calling thread (the same answer `prepare` gives it)."""
        return to_detector(self._classifier.classify_many_sync([input_from_event(event)])[0])

    def close(self) -> None:
        self._classifier.close()


class PreparedBatch:
    """The answers `prepare` computed for one batch; an event outside it is classified inline (same answer)."""

    def __init__(self, answers: dict[str, Classification], classifier: TextAwareClassifier) -> None:
        self._answers = answers
        self._classifier = classifier

    def classify(self, event: ReviewEvent) -> Classification:
        found = self._answers.get(event.event_id)
        if found is not None:
            return found
        return self._classifier.classify_inline(event)


class ClassifierMetrics:
    """Exports the classifier's running counts: how many items needed the text model, cache hits, embeddings."""

    def __init__(self, registry: CollectorRegistry, counted: ClassifierStats | None = None) -> None:
        """`counted`: what the classifier had already done before these metrics (a shared, warmed classifier)."""
        self._items = metrics.counter(
            registry,
            "stormwatch_classifier_items_total",
            "Items the classifier judged, by what decided: rating alone, or the text model (computed or cached).",
            ["decided_by"],
        )
        self._cache_hits = metrics.counter(
            registry, "stormwatch_classifier_cache_hits_total", "Text-model verdicts served from the text-hash cache."
        )
        self._embedded = metrics.counter(
            registry, "stormwatch_classifier_embedded_total", "Texts the model actually embedded (cache misses)."
        )
        self._last = ClassifierStats()
        if counted is not None:
            self._last = ClassifierStats(counted.items, counted.needed_model, counted.cache_hits, counted.embedded)

    def export(self, stats: ClassifierStats) -> None:
        model = stats.needed_model - self._last.needed_model
        rest = (stats.items - self._last.items) - model
        self._items.labels(decided_by="text_model").inc(max(0, model))
        self._items.labels(decided_by="rating_or_hint").inc(max(0, rest))
        self._cache_hits.inc(max(0, stats.cache_hits - self._last.cache_hits))
        self._embedded.inc(max(0, stats.embedded - self._last.embedded))
        self._last = ClassifierStats(stats.items, stats.needed_model, stats.cache_hits, stats.embedded)
