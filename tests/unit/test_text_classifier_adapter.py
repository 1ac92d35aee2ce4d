"""The detector's text-aware classifier: prepared batches and inline calls agree, and the rating still decides."""

from __future__ import annotations

from services.detector.text_classifier import TextAwareClassifier
from services.shared.events import RatingScale, ReviewEvent, deterministic_id


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
