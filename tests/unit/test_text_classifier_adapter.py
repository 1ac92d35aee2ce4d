"""The detector's text-aware classifier: prepared batches and inline calls agree, and the rating still decides."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.detector import text_classifier
from services.detector.text_classifier import TextAwareClassifier
from services.shared.events import AttributeValue, RatingScale, ReviewEvent, deterministic_id


def event(text: str | None, rating: float | None) -> ReviewEvent:
    return ReviewEvent(
        event_id=deterministic_id("t", text or "", str(rating)),
        event_type="review.created",
        merchant_id="m1",
        platform="x" if rating is None else "trustpilot",
        source_id="s",
        item_id=deterministic_id("item", text or "", str(rating)),
        kind="mention" if rating is None else "review",
        created_at="2026-11-20T10:00:00Z",
        observed_at="2026-11-20T10:00:01Z",
        rating=rating,
        rating_scale=None if rating is None else RatingScale(1, 5),
        text=text,
    )


async def test_prepared_and_inline_agree_and_text_decides_unrated_items() -> None:
    """An unrated German complaint is negative logistics; a 5-star review is positive; preparing a batch off the
    loop gives exactly what classifying inline gives; an empty unrated item is unknown."""
    events = [
        event("Das Paket ist nie angekommen und der Kundenservice antwortet nicht", None),
        event("Great shop, fast delivery", 5),
        event(None, None),
    ]
    classifier = TextAwareClassifier()
    try:
        inline = [classifier.classify(e) for e in events]
        fresh = TextAwareClassifier()
        await fresh.prepare(events)
        prepared = [fresh.classify(e) for e in events]
        fresh.close()
    finally:
        classifier.close()
    assert inline == prepared
    complaint, praise, empty = inline
    assert complaint.negative and complaint.category == "logistics" and complaint.language == "de"
    assert praise.polarity == "positive" and not praise.negative
    assert empty.polarity == "unknown" and empty.negativity is None


_LANGUAGES = st.sampled_from([None, "en", "en-GB", "DE", "zh_Hans", "pt-BR", "x-klingon", "", " nl ", "123", "fil"])
_TEXTS = st.sampled_from([None, "", "Great shop", "Paket nie angekommen, Kundenservice antwortet nicht", "  ", "好"])
_HINTS: st.SearchStrategy[dict[str, AttributeValue]] = st.sampled_from(
    [{}, {"tags": ["delivery:late"]}, {"reason": "item_not_received"}, {"topics": "shipping"}]
)


@st.composite
def _rated_events(draw: st.DrawFn) -> ReviewEvent:
    """Ratings that the rating alone decides (clearly good or clearly bad), on assorted scales, languages, hints."""
    low, high = draw(st.sampled_from([(1.0, 5.0), (0.0, 10.0), (1.0, 3.0), (0.0, 1.0)]))
    share = draw(st.sampled_from([0.0, 0.1, 0.25, 0.75, 0.8, 1.0]))
    base = event(draw(_TEXTS), 5)
    return replace(
        base,
        event_id=deterministic_id("g", str(draw(st.integers(0, 10**9)))),
        rating=low + share * (high - low),
        rating_scale=draw(st.sampled_from([RatingScale(low, high), None])) if high <= 10 else RatingScale(low, high),
        language=draw(_LANGUAGES),
        attributes=draw(_HINTS),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(_rated_events(), min_size=1, max_size=8, unique_by=lambda e: e.event_id))
def test_reviews_a_rating_clears_get_what_the_full_classifier_gives(events: list[ReviewEvent]) -> None:
    """Preparing a batch classifies most well-rated reviews by a shortcut (rating and declared language only):
    every event gets exactly what the classifier's full path (text, language detection, hints) gives it, and
    the classifier still counts every item."""
    shortcut, full = _SHORTCUT, _FULL
    counted = shortcut.stats.items
    shortcut.prepare_sync(events)
    assert [shortcut.classify(e) for e in events] == [full.classify(e) for e in events]
    assert shortcut.stats.items - counted == len(events)


# Shared by the examples (the language model loads once): `full` never prepares, so it always takes the full path.
_SHORTCUT = TextAwareClassifier()
_FULL = TextAwareClassifier()


_TITLES = st.sampled_from([None, "", "Never again", "Nie wieder!", "  Late  "])
_LOW_TEXTS = st.sampled_from(
    [
        None,
        "",
        "Paket nie angekommen, Kundenservice antwortet nicht",
        "The parcel never arrived and support ignores me",
        "Broken on arrival, poor quality",
        "Rude staff",
        "  ",
        "好",
    ]
)


@st.composite
def _any_rated_events(draw: st.DrawFn) -> ReviewEvent:
    """Low, middle and high ratings (floats, ints and booleans, with and without a scale), titles and texts that
    repeat across examples, declared languages, attributes with and without hints."""
    rating: float = draw(st.sampled_from([1, 1.0, 2, 2.0, 3, 4, 5, 0.0, -0.0, 7, 10, 1.5, True, False, 0.2]))
    scale = draw(st.sampled_from([None, RatingScale(1, 5), RatingScale(1.0, 5.0), RatingScale(0.0, 10.0)]))
    attributes: dict[str, AttributeValue] = draw(
        st.sampled_from([{}, {"colour": "red"}, {"tags": ["delivery:late"]}, {"reason": "item_not_received"}])
    )
    return replace(
        event(draw(_LOW_TEXTS), 1),
        event_id=deterministic_id("a", str(draw(st.integers(0, 10**9)))),
        title=draw(_TITLES),
        rating=rating,
        rating_scale=scale,
        language=draw(_LANGUAGES),
        attributes=attributes,
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(_any_rated_events(), min_size=1, max_size=8, unique_by=lambda e: e.event_id))
def test_remembered_answers_match_the_full_classifier(events: list[ReviewEvent]) -> None:
    """The adapter remembers what a rating, its scale and the declared language decide, and the answers for
    low-rated reviews without hints by their title and text: each event, prepared twice (the second time from
    what was remembered), gets exactly what the classifier's full path gives it, and every item is counted."""
    shortcut = _SHORTCUT
    expected = [_FULL.classify(e) for e in events]
    for _ in range(2):
        counted = shortcut.stats.items
        shortcut.prepare_sync(events)
        assert [shortcut.classify(e) for e in events] == expected
        assert shortcut.stats.items - counted == len(events)


def test_remembered_answers_stay_bounded() -> None:
    """However many distinct low-rated reviews and rating/language pairs come by, the adapter keeps at most its
    caches' sizes (the detector runs for months), and answers stay right after a cache is emptied."""
    classifier = TextAwareClassifier()
    try:
        size = text_classifier._NEGATIVE_CACHE_SIZE
        events = [
            replace(
                event(f"Paket {i} nie angekommen", 1 + (i % 5) / 1000),
                event_id=deterministic_id("b", str(i)),
                language="de",
            )
            for i in range(size + 500)
        ]
        for start in range(0, len(events), 4000):
            classifier.prepare_sync(events[start : start + 4000])
        assert len(classifier._negative_cache) <= size
        assert len(classifier._rated_cache) <= text_classifier._RATED_CACHE_SIZE
        again = events[:3] + events[-3:]
        classifier.prepare_sync(again)
        assert [classifier.classify(e) for e in again] == [_FULL.classify(e) for e in again]
    finally:
        classifier.close()


async def test_a_prepared_batch_keeps_its_answers_when_another_batch_is_prepared_meanwhile() -> None:
    """Partitions are prepared side by side: a batch prepared first still answers from its own results after
    another batch's `prepare` finished, without classifying its texts again (the counts do not move)."""
    first = [event(f"It was okay, parcel {i} came a day late", 3) for i in range(6)]
    second = [event(f"Decent shop, order {i} was fine", 3) for i in range(6)]
    classifier = TextAwareClassifier()
    try:
        batch = await classifier.prepare(first)
        expected = [batch.classify(e) for e in first]
        await classifier.prepare(second)
        items, needed_model = classifier.stats.items, classifier.stats.needed_model
        assert [batch.classify(e) for e in first] == expected
        assert (classifier.stats.items, classifier.stats.needed_model) == (items, needed_model)
        assert expected == [classifier.classify_inline(e) for e in first]
    finally:
        classifier.close()
