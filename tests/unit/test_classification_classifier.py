"""ReviewClassifier: the rating decides without the model, the text decides otherwise, cached, off the event loop."""

# ruff: noqa: RUF001  (review texts in Chinese and Turkish use those scripts' own punctuation and letters)

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from services.detector.classification.classifier import ReviewClassifier
from services.detector.classification.embedder import E5Embedder
from services.detector.classification.types import ClassificationInput


class CountingEmbedder:
    """The real model, counting what it is asked to embed and on which thread."""

    def __init__(self, inner: E5Embedder) -> None:
        self.inner = inner
        self.texts: list[str] = []
        self.threads: set[int] = set()

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts.extend(texts)
        self.threads.add(threading.get_ident())
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def model() -> E5Embedder:
    return E5Embedder()


@pytest.fixture
def embedder(model: E5Embedder) -> CountingEmbedder:
    return CountingEmbedder(model)


@pytest.fixture
def classifier(embedder: CountingEmbedder) -> Iterator[ReviewClassifier]:
    instance = ReviewClassifier(embedder=embedder)
    yield instance
    instance.close()


def test_clear_ratings_never_call_the_model(classifier: ReviewClassifier, embedder: CountingEmbedder) -> None:
    """Normalised ratings <= 0.25 are negative and >= 0.75 not, from the rating alone: the model is not called."""
    items = [
        ClassificationInput(text="Everything was great, thank you!", rating=0.0),
        ClassificationInput(text="The parcel never arrived.", rating=0.25),
        ClassificationInput(text="Paket nie angekommen", rating=1.0),
        ClassificationInput(text="Отлично", rating=0.75),
    ]
    results = classifier.classify_many_sync(items)
    assert embedder.texts == []
    assert [r.negative for r in results] == [True, True, False, False]
    assert [r.source for r in results] == ["rating"] * 4
    assert [r.negativity for r in results] == [1.0, 0.75, 0.0, 0.25]
    assert results[1].category == "logistics"  # keywords name the category without the model
    assert results[2].category == "other"  # not negative: no complaint category
    assert [r.language for r in results] == ["en", "en", "de", "ru"]
    assert classifier.stats.needed_model == 0


def test_middle_ratings_read_the_text(classifier: ReviewClassifier, embedder: CountingEmbedder) -> None:
    """A 3-star review is negative when its text is, and not when its text is content."""
    angry = ClassificationInput(text="Rude staff, they refused to help and hung up on me.", rating=0.5)
    content = ClassificationInput(text="Nice quality, fast delivery, happy with it.", rating=0.5)
    negative, positive = classifier.classify_many_sync([angry, content])
    assert len(embedder.texts) == 2
    assert (negative.negative, negative.category, negative.source) == (True, "service", "rating+text")
    assert (positive.negative, positive.category) == (False, "other")
    assert negative.used_model and positive.used_model
    assert 0.0 <= positive.negativity < 0.5 <= negative.negativity <= 1.0


def test_unrated_items_by_text_in_every_core_language(classifier: ReviewClassifier) -> None:
    """Posts and mentions without a rating get negativity, category and language from the text alone."""
    texts = {
        "en": "My parcel is lost and nobody at the courier knows where it is.",
        "de": "Mein Paket ist verloren gegangen und niemand weiß, wo es ist.",
        "nl": "Mijn pakket is kwijt en niemand bij de bezorger weet waar het is.",
        "ru": "Моя посылка потерялась, и никто в службе доставки не знает, где она.",
        "zh": "我的包裹丢了，快递公司没人知道在哪里。",
    }
    results = classifier.classify_many_sync([ClassificationInput(text=t) for t in texts.values()])
    for language, result in zip(texts, results, strict=True):
        assert (result.language, result.negative, result.category, result.source) == (
            language,
            True,
            "logistics",
            "text",
        )


def test_cache_by_text(classifier: ReviewClassifier, embedder: CountingEmbedder) -> None:
    """A text is embedded once: repeats within a batch and across batches come from the cache."""
    text = "Wieder zu spät geliefert, das dritte Mal."
    first = classifier.classify_many_sync([ClassificationInput(text=text), ClassificationInput(text=text)])
    second = classifier.classify_many_sync([ClassificationInput(text=text, rating=0.5)])
    assert embedder.texts == [text]
    assert classifier.stats.cache_hits == 1
    assert classifier.stats.needed_model == 3
    assert first[0] == first[1]
    assert second[0].source == "rating+text"


def test_cache_is_bounded(embedder: CountingEmbedder) -> None:
    """The least recently used text verdict is evicted once the cache is full."""
    classifier = ReviewClassifier(embedder=embedder, cache_size=2)
    for text in ("Slow delivery", "Broken on arrival", "Slow delivery", "Rude support", "Broken on arrival"):
        classifier.classify_many_sync([ClassificationInput(text=text)])
    assert embedder.texts == ["Slow delivery", "Broken on arrival", "Rude support", "Broken on arrival"]


def test_hints_take_precedence(classifier: ReviewClassifier, embedder: CountingEmbedder) -> None:
    """A complaint reason makes an unrated item negative without the model; a topic names the category."""
    reason = ClassificationInput(text="", hints=("reason:item_not_received",))
    topic = ClassificationInput(text="The seller was rude to me.", rating=0.0, hints=("topic:shipping",))
    first, second = classifier.classify_many_sync([reason, topic])
    assert embedder.texts == []
    assert (first.negative, first.category, first.source, first.language) == (True, "logistics", "hint", None)
    assert (second.negative, second.category, second.source) == (True, "logistics", "rating")


def test_nothing_to_judge(classifier: ReviewClassifier, embedder: CountingEmbedder) -> None:
    """No rating and no text: not negative, category other, the platform's language if any, source none."""
    (result,) = classifier.classify_many_sync([ClassificationInput(text="  ", language="nl-BE")])
    assert (result.negativity, result.negative, result.category, result.language, result.source) == (
        0.0,
        False,
        "other",
        "nl",
        "none",
    )
    assert result.polarity == "positive"
    assert embedder.texts == []


async def test_async_batch_runs_off_the_event_loop(classifier: ReviewClassifier, embedder: CountingEmbedder) -> None:
    """While a batch is embedded in the worker thread, other coroutines keep running on the loop."""
    texts = [f"Bestellung {n} kam beschädigt an und der Support antwortet nicht." for n in range(40)]
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    results = await classifier.classify_many([ClassificationInput(text=t) for t in texts])
    done.set()
    await task
    assert len(results) == 40
    assert all(r.negative for r in results)
    assert threading.get_ident() not in embedder.threads
    assert ticks >= 10  # a blocking call would have let the ticker run at most once


async def test_async_and_sync_agree(classifier: ReviewClassifier) -> None:
    """The async path gives exactly the sync path's results, in input order."""
    items = [
        ClassificationInput(text="Очень доволен покупкой"),
        ClassificationInput(text="Paket kaputt", rating=0.0),
        ClassificationInput(text="发错货了，颜色不对", rating=0.5),
    ]
    assert await classifier.classify_many(items) == ReviewClassifier(embedder=E5Embedder()).classify_many_sync(items)


_TEXTS = st.sampled_from(
    [
        "",
        "   ",
        "Paket nie angekommen, Kundenservice antwortet nicht",
        "  The parcel never arrived and support ignores me ",
        "Great shop, fast delivery",
        "Broken on arrival, poor quality",
        "Очень доволен покупкой",
        "发错货了，颜色不对",
        "ok",
    ]
)
_ITEMS = st.builds(
    ClassificationInput,
    text=_TEXTS,
    rating=st.sampled_from([None, 0.0, -0.0, 0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0]),
    language=st.sampled_from([None, "en", "de-DE", "x-klingon", "", "ru"]),
    hints=st.sampled_from([(), ("reason:item_not_received",), ("topic:shipping",), ("tag:great",)]),
)
# Shared by the examples (the model loads once): the first remembers plans across examples, the second never does.
_EMBEDDER = E5Embedder()
_PLANNED = ReviewClassifier(embedder=_EMBEDDER)
_UNPLANNED = ReviewClassifier(embedder=_EMBEDDER, plan_cache_size=0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ITEMS, min_size=1, max_size=6))
def test_remembered_plans_give_the_full_paths_results(items: list[ClassificationInput]) -> None:
    """Items repeat across and within batches (equal ratings such as 0.0 and -0.0 too): a classifier that
    reuses earlier plans gives exactly what one that plans every item afresh gives, with the same counts."""
    assert _PLANNED.classify_many_sync(items) == _UNPLANNED.classify_many_sync(items)
    assert _PLANNED.stats == _UNPLANNED.stats


def test_remembered_plans_stay_bounded(embedder: CountingEmbedder) -> None:
    """The plan cache holds at most its size, keeps no long texts, and answers stay right once it is emptied."""
    classifier = ReviewClassifier(embedder=embedder, plan_cache_size=10)
    items = [ClassificationInput(text=f"Paket {i} kaputt", rating=0.0, language="de") for i in range(25)]
    long = ClassificationInput(text="kaputt " * 400, rating=1.0, language="de")
    first = classifier.classify_many_sync([*items, long])
    assert len(classifier._plans) <= 10
    assert long not in classifier._plans
    assert classifier.classify_many_sync([*items, long]) == first
