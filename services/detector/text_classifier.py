"""The detector's Classifier seam backed by the multilingual text classifier, with the model run in batches off-loop."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from services.detector.classification.classifier import ClassifierStats, ReviewClassifier, rating_cleared
from services.detector.classification.inputs import input_from_event
from services.detector.classification.language import normalise_tag
from services.detector.classification.rating import normalise_rating, verdict
from services.detector.classification.types import Classification as TextClassification
from services.detector.negativity import Classification
from services.shared import metrics
from services.shared.events import ReviewEvent

_CLEARED_CACHE_SIZE = 10_000


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
        # (normalised rating, language) -> the classification of a review its rating alone clears; see `_cleared`.
        self._cleared_cache: dict[tuple[float, str], Classification] = {}

    @property
    def stats(self) -> ClassifierStats:
        return self._classifier.stats

    async def prepare(self, events: Sequence[ReviewEvent]) -> None:
        """Classify a batch off the event loop; the next `classify` calls for these events are lookups."""
        if not events:
            return
        prepared, rest = self._split(events)
        results = await self._classifier.classify_many([input_from_event(event) for event in rest])
        prepared.update((event.event_id, to_detector(r)) for event, r in zip(rest, results, strict=True))
        # Only the current batch is kept: the engine consumes it right after, and memory stays bounded. Partitions
        # are processed side by side, but each scores its batch with no await between this line and its scoring,
        # so another partition's prepare cannot replace the answers in between.
        self._prepared = prepared

    def prepare_sync(self, events: Sequence[ReviewEvent]) -> None:
        """The same as `prepare`, on the calling thread (offline tools)."""
        prepared, rest = self._split(events)
        results = self._classifier.classify_many_sync([input_from_event(event) for event in rest])
        prepared.update((event.event_id, to_detector(r)) for event, r in zip(rest, results, strict=True))
        self._prepared = prepared

    def _split(self, events: Sequence[ReviewEvent]) -> tuple[dict[str, Classification], list[ReviewEvent]]:
        """The events a good rating clears (classified here), and the rest (for the classifier)."""
        prepared: dict[str, Classification] = {}
        rest: list[ReviewEvent] = []
        for event in events:
            cleared = self._cleared(event)
            if cleared is None:
                rest.append(event)
            else:
                prepared[event.event_id] = cleared
        self._classifier.count_decided(len(prepared))
        return prepared, rest

    def _cleared(self, event: ReviewEvent) -> Classification | None:
        """The classification of a review whose rating alone says "not negative" and whose language the platform
        declared, else None. Most reviews are such (4-5 stars); for them the classifier's answer depends on the
        rating and the language only (no text, hints or model), so it is computed once per pair and reused. The
        classifier's own path gives the same answer (`tests/unit/test_text_classifier_adapter.py` checks it)."""
        if event.rating is None or event.language is None:
            return None
        normalised = normalise_rating(event.rating, event.rating_scale)
        if normalised is None or verdict(normalised) != "not_negative":
            return None
        language = normalise_tag(event.language)
        if language is None:
            return None
        key = (normalised, language)
        found = self._cleared_cache.get(key)
        if found is None:
            if len(self._cleared_cache) >= _CLEARED_CACHE_SIZE:
                self._cleared_cache.clear()
            found = self._cleared_cache[key] = to_detector(rating_cleared(normalised, language))
        return found

    def classify(self, event: ReviewEvent) -> Classification:
        found = self._prepared.get(event.event_id)
        if found is not None:
            return found
        return to_detector(self._classifier.classify_many_sync([input_from_event(event)])[0])

    def close(self) -> None:
        self._classifier.close()


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
