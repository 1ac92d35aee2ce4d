"""App Store Connect customerReviews resources -> review events (with the included customerReviewResponse)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, MerchantReply, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

PLATFORM = "app_store"
STARS = RatingScale(1, 5)
_MAX_ID = 500


def _bad(message: str) -> BadInput:
    return BadInput(f"app store review: {message}", reason=Reason.NORMALISATION_FAILED)


def _review(item: Any) -> dict[str, Any] | None:
    """The customerReviews resource of an item the adapter assembled ({review, response})."""
    review = item.get("review") if isinstance(item, dict) else None
    return review if isinstance(review, dict) else None


def _attributes(review: dict[str, Any]) -> dict[str, Any]:
    attributes = review.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def created_date(item: Any) -> datetime | None:
    review = _review(item)
    value = _attributes(review).get("createdDate") if review is not None else None
    if not isinstance(value, str):
        return None
    try:
        return parse_rfc3339(value)
    except (ValueError, OverflowError):
        return None


def item_key(item: Any, raw: bytes) -> str:
    review = _review(item)
    if review is not None and isinstance(review.get("id"), str) and review["id"]:
        return str(review["id"])[:_MAX_ID]
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad(f"{key} is {type(value).__name__}, expected a string")


def _reply(response: Any) -> MerchantReply | None:
    if not isinstance(response, dict):
        return None
    attributes = response.get("attributes")
    if not isinstance(attributes, dict):
        return None
    body = attributes.get("responseBody")
    if not isinstance(body, str) or not body or attributes.get("state") == "PENDING_PUBLISH":
        return None  # only published responses are what readers see
    modified = attributes.get("lastModifiedDate")
    try:
        when = format_rfc3339(parse_rfc3339(modified)) if isinstance(modified, str) else None
    except (ValueError, OverflowError):
        when = None
    return MerchantReply(truncate(body)[0] or "", when)


def normalise_review(item: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One customer review (and its published response, when included) as a `review.created` event."""
    review = _review(item)
    if review is None:
        raise _bad("item has no customerReviews resource")
    review_id = review.get("id")
    if not isinstance(review_id, str) or not review_id.strip() or len(review_id) > _MAX_ID:
        raise _bad("id is missing, empty or too long")
    attributes = review.get("attributes")
    if not isinstance(attributes, dict):
        raise _bad("attributes is not an object")
    rating = attributes.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _bad(f"rating is {rating!r:.40}, expected an integer 1..5")
    created = created_date(item)
    if created is None:
        raise _bad("createdDate is missing or not an RFC 3339 timestamp")
    title, _ = truncate(_string(attributes, "title"), 2000)
    body, cut = truncate(_string(attributes, "body"))
    nickname = _string(attributes, "reviewerNickname")
    territory = _string(attributes, "territory")
    extra: dict[str, AttributeValue] = {}
    if territory is not None:
        extra["territory"] = territory[:10]
    if cut:
        extra["truncated"] = True
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, review_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=review_id,
        kind="review",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        rating=float(rating),
        rating_scale=STARS,
        title=title,
        text=body,
        author=None if not nickname else nickname[:500],
        merchant_reply=_reply(item.get("response")),
        attributes=extra,
    )
