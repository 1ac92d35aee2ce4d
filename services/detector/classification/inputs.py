"""Building a ClassificationInput from a review event or from a plain JSON record (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping

from services.detector.classification.rating import normalise_rating, parse_scale
from services.detector.classification.types import ClassificationInput
from services.shared.events import AttributeValue, ReviewEvent

# Event attributes that carry platform hints, and the prefix each gets. Pollers put eBay feedback topics under
# "topics", Trustpilot tags ("group:value") under "tags", and marketplace complaint / return / dispute reasons
# under the reason keys; a reason marks the item as a complaint even without a rating.
HINT_ATTRIBUTES = {
    "topics": "topic:",
    "tags": "tag:",
    "complaint_reason": "reason:",
    "reason": "reason:",
    "return_reason": "reason:",
    "dispute_reason": "reason:",
}


def hints_from_attributes(attributes: Mapping[str, AttributeValue | object]) -> tuple[str, ...]:
    """Platform hints from event attributes, in HINT_ATTRIBUTES order."""
    if not attributes:  # most events: no attributes at all (this runs for every event on the detector's loop)
        return ()
    hints: list[str] = []
    for key, prefix in HINT_ATTRIBUTES.items():
        value = attributes.get(key)
        values = value if isinstance(value, list) else [value]
        hints.extend(f"{prefix}{v.strip()}" for v in values if isinstance(v, str) and v.strip())
    return tuple(hints)


def review_text(title: str | None, text: str | None) -> str:
    """Title and body as one text: a title alone ("Never again") often carries the verdict."""
    parts = [part.strip() for part in (title, text) if part and part.strip()]
    if len(parts) == 2 and parts[0][-1] not in ".!?\u3002\uff01\uff1f":
        return f"{parts[0]}. {parts[1]}"
    return " ".join(parts)


def input_from_event(event: ReviewEvent) -> ClassificationInput:
    """What the classifier reads about a review event: rating on its scale, title and text, language, hints."""
    return ClassificationInput(
        text=review_text(event.title, event.text),
        rating=normalise_rating(event.rating, event.rating_scale),
        language=event.language,
        hints=hints_from_attributes(event.attributes),
    )


def input_from_record(record: Mapping[str, object]) -> ClassificationInput:
    """A JSON line: a review event's fields, or just `text` with optional rating, rating_scale, language, title.

    Raises ValueError naming the field when a present field is unusable.
    """
    text = record.get("text")
    title = record.get("title")
    if text is not None and not isinstance(text, str):
        raise ValueError("field 'text' is not a string")
    if title is not None and not isinstance(title, str):
        raise ValueError("field 'title' is not a string")
    language = record.get("language")
    if language is not None and not isinstance(language, str):
        raise ValueError("field 'language' is not a string")
    scale = parse_scale(record.get("rating_scale"))
    raw_rating = record.get("rating")
    rating = normalise_rating(raw_rating, scale)
    if raw_rating is not None and rating is None:
        raise ValueError(f"field 'rating' {raw_rating!r} is not a rating")
    attributes = record.get("attributes")
    hints = hints_from_attributes(attributes) if isinstance(attributes, Mapping) else ()
    hints += hints_from_attributes({k: record.get(k) for k in HINT_ATTRIBUTES if k in record})
    return ClassificationInput(text=review_text(title, text), rating=rating, language=language, hints=hints)
