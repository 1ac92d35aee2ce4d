"""Google Business Profile v4 review objects -> review events (starRating enum, rating-only reviews, replies)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, MerchantReply, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

PLATFORM = "google_business"
STARS = RatingScale(1, 5)
STAR_RATINGS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0, "STAR_RATING_UNSPECIFIED": None}
_MAX_ID = 500
_MAX_AUTHOR = 500


def _bad(message: str) -> BadInput:
    return BadInput(f"google business review: {message}", reason=Reason.NORMALISATION_FAILED)


def _timestamp(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{key} is {type(value).__name__}, expected an RFC 3339 string")
    try:
        return parse_rfc3339(value)
    except (ValueError, OverflowError):
        raise _bad(f"{key} {value[:40]!r} is not an RFC 3339 timestamp") from None


def _optional_str(data: dict[str, Any], key: str, where: str = "") -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad(f"{where}{key} is {type(value).__name__}, expected a string")


def item_update_time(data: Any) -> datetime | None:
    """The review's updateTime (the list's order and our high-water mark), None when unreadable."""
    if not isinstance(data, dict):
        return None
    try:
        return _timestamp(data.get("updateTime"), "updateTime")
    except BadInput:
        return None


def item_key(data: Any, raw: bytes) -> str:
    if isinstance(data, dict) and isinstance(data.get("reviewId"), str) and data["reviewId"]:
        return str(data["reviewId"])
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _reply(value: Any) -> MerchantReply | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("reviewReply is neither an object nor null")
    comment = _optional_str(value, "comment", "reviewReply.")
    if comment is None:
        return None
    updated = value.get("updateTime")
    created_at = None if updated is None else format_rfc3339(_timestamp(updated, "reviewReply.updateTime"))
    text, _ = truncate(comment)
    return MerchantReply(text=text or "", created_at=created_at)


def normalise_review(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One Review resource as a `review.created` event (the poll loop turns re-served edits into updates)."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    review_id = data.get("reviewId")
    if not isinstance(review_id, str) or not review_id.strip() or len(review_id) > _MAX_ID:
        raise _bad("reviewId is missing, empty or too long")
    star_rating = data.get("starRating")
    if not isinstance(star_rating, str) or star_rating not in STAR_RATINGS:
        raise _bad(f"starRating {star_rating!r:.40} is not one of {', '.join(STAR_RATINGS)}")
    rating = STAR_RATINGS[star_rating]
    created_at = _timestamp(data.get("createTime"), "createTime")
    updated_at = _timestamp(data.get("updateTime"), "updateTime")
    reviewer = data.get("reviewer")
    if reviewer is not None and not isinstance(reviewer, dict):
        raise _bad("reviewer is neither an object nor null")
    author = None
    if reviewer is not None:
        anonymous = reviewer.get("isAnonymous")
        if anonymous is not None and not isinstance(anonymous, bool):
            raise _bad("reviewer.isAnonymous is not a boolean")
        author = None if anonymous else _optional_str(reviewer, "displayName", "reviewer.")
    # Rating-only reviews have no comment at all: a review without text, not a malformed one.
    comment, cut = truncate(_optional_str(data, "comment"))
    name = _optional_str(data, "name")
    attributes: dict[str, AttributeValue] = {
        "updated_at": format_rfc3339(updated_at),
        "rating_only": comment is None,
    }
    if name is not None:
        attributes["location"] = name.rsplit("/reviews/", 1)[0][:500]
    if cut:
        attributes["truncated"] = True
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, review_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=review_id,
        kind="review",
        created_at=format_rfc3339(created_at),
        observed_at=format_rfc3339(observed_at),
        rating=rating,
        rating_scale=None if rating is None else STARS,
        text=comment,
        author=None if author is None else author[:_MAX_AUTHOR],
        merchant_reply=_reply(data.get("reviewReply")),
        attributes=attributes,
    )
