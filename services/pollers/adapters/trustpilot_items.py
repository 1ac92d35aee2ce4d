"""Trustpilot review objects -> review events: strict on what identifies a review, tolerant of absent extras."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import (
    AttributeValue,
    Engagement,
    MerchantReply,
    RatingScale,
    ReviewEvent,
    deterministic_id,
)
from services.shared.timeutil import format_rfc3339, parse_rfc3339

PLATFORM = "trustpilot"
EVENT_TYPE: Final = "review.created"
STARS = RatingScale(1, 5)
REVIEW_URL = "https://www.trustpilot.com/reviews/{id}"
# The review-event schema's limits: longer free text is cut rather than losing the whole review.
_MAX_ID = 500
_MAX_TITLE = 2000
_MAX_TEXT = 20000
_MAX_AUTHOR = 500
_MAX_LANGUAGE = 35
_MAX_URL = 2000


def _bad(message: str) -> BadInput:
    return BadInput(f"trustpilot review: {message}", reason=Reason.NORMALISATION_FAILED)


def _optional_str(data: dict[str, Any], key: str, where: str = "") -> str | None:
    """An absent or null field is None; a present field of another type means the item is malformed."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad(f"{where}{key} is {type(value).__name__}, expected a string")


def _timestamp(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{key} is {type(value).__name__}, expected an RFC 3339 string")
    try:
        return parse_rfc3339(value)
    except (ValueError, OverflowError):
        raise _bad(f"{key} {value[:40]!r} is not an RFC 3339 timestamp") from None


def item_created_at(data: Any) -> datetime | None:
    """The item's createdAt for cursor keeping, or None when it has none we can read (even if malformed otherwise)."""
    if not isinstance(data, dict):
        return None
    try:
        return _timestamp(data.get("createdAt"), "createdAt")
    except BadInput:
        return None


def item_key(data: Any, raw: bytes) -> str:
    """What identifies an item in the cursor: its id, or a digest of its bytes when it has no usable id."""
    if isinstance(data, dict):
        item_id = data.get("id")
        if isinstance(item_id, str) and item_id:
            return item_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _stars(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"stars is {value!r}, expected a number 1..5")
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= 5:
        raise _bad(f"stars is {value!r}, expected a whole number 1..5")
    return float(value)


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("tags is not a list")
    tags = []
    for tag in value:
        if not isinstance(tag, dict) or not isinstance(tag.get("group"), str) or not isinstance(tag.get("value"), str):
            raise _bad("tags must be objects with string group and value")
        tags.append(f"{tag['group']}:{tag['value']}")
    return tags


def _reply(value: Any) -> MerchantReply | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("companyReply is neither an object nor null")
    text = _optional_str(value, "text", "companyReply.")
    if text is None:
        return None
    created = value.get("createdAt")
    created_at = None if created is None else format_rfc3339(_timestamp(created, "companyReply.createdAt"))
    return MerchantReply(text=text[:_MAX_TEXT], created_at=created_at)


def _likes(value: Any) -> Engagement | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise _bad(f"numberOfLikes is {value!r}, expected a non-negative integer")
    return Engagement(likes=value)


def normalise_review(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One private-API review object as a `review.created` event; BadInput (normalisation_failed) when malformed."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    item_id = data.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        raise _bad("id is missing or not a non-empty string")
    if len(item_id) > _MAX_ID:
        raise _bad(f"id is longer than {_MAX_ID} characters")
    stars = _stars(data.get("stars"))
    created_at = _timestamp(data.get("createdAt"), "createdAt")

    consumer = data.get("consumer")
    if consumer is not None and not isinstance(consumer, dict):
        raise _bad("consumer is neither an object nor null")
    author = None if consumer is None else _optional_str(consumer, "displayName", "consumer.")
    language = _optional_str(data, "language")
    title = _optional_str(data, "title")
    text = _optional_str(data, "text")
    reference_id = _optional_str(data, "referenceId")
    review_source = _optional_str(data, "source")
    verified = data.get("isVerified")
    if verified is not None and not isinstance(verified, bool):
        raise _bad("isVerified is not a boolean")

    url = REVIEW_URL.format(id=quote(item_id, safe=""))
    title, title_cut = truncate(title, _MAX_TITLE)
    text, text_cut = truncate(text, _MAX_TEXT)
    attributes: dict[str, AttributeValue] = {"order": reference_id, "tags": _tags(data.get("tags"))}
    if title_cut or text_cut:
        attributes["truncated"] = True
    if review_source is not None:
        attributes["source"] = review_source
    if verified is not None:
        attributes["verified"] = verified
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, item_id, EVENT_TYPE, "created"),
        event_type=EVENT_TYPE,
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=item_id,
        kind="review",
        created_at=format_rfc3339(created_at),
        observed_at=format_rfc3339(observed_at),
        rating=stars,
        rating_scale=STARS,
        title=title,
        text=text,
        # A language tag longer than any real one is noise, not a reason to drop the review.
        language=language if language is not None and len(language) <= _MAX_LANGUAGE else None,
        author=None if author is None else author[:_MAX_AUTHOR],
        url=url if len(url) <= _MAX_URL else None,
        engagement=_likes(data.get("numberOfLikes")),
        merchant_reply=_reply(data.get("companyReply")),
        attributes=attributes,
    )
