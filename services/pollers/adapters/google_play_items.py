"""Google Play (Android Publisher v3) Review objects -> review events: userComment, developerComment, lastModified."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.pollers.adapters.localtime import from_epoch
from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, MerchantReply, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "google_play"
STARS = RatingScale(1, 5)
_MAX_ID = 500
_MAX_EPOCH = 253402300799


def _bad(message: str) -> BadInput:
    return BadInput(f"google play review: {message}", reason=Reason.NORMALISATION_FAILED)


def _timestamp(value: Any) -> datetime | None:
    """A protobuf Timestamp as JSON: {seconds: "int64 as text" (or a number), nanos}; None when unreadable."""
    if not isinstance(value, dict):
        return None
    seconds = value.get("seconds")
    if isinstance(seconds, str) and seconds.isdigit() and len(seconds) <= 12:
        seconds = int(seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= _MAX_EPOCH:
        return None
    return from_epoch(seconds)


def _comments(data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(userComment, developerComment) wherever they sit in `comments` (the order is not guaranteed)."""
    user = developer = None
    comments = data.get("comments")
    if not isinstance(comments, list):
        return None, None
    for entry in comments:
        if isinstance(entry, dict):
            if isinstance(entry.get("userComment"), dict):
                user = entry["userComment"]
            if isinstance(entry.get("developerComment"), dict):
                developer = entry["developerComment"]
    return user, developer


def last_modified(data: Any) -> datetime | None:
    """The newest lastModified of the review (its user comment or the developer's reply): the list's order."""
    if not isinstance(data, dict):
        return None
    user, developer = _comments(data)
    times = [t for t in (_timestamp((c or {}).get("lastModified")) for c in (user, developer)) if t is not None]
    return max(times) if times else None


def item_key(data: Any, raw: bytes) -> str:
    if isinstance(data, dict) and isinstance(data.get("reviewId"), str) and data["reviewId"]:
        return str(data["reviewId"])[:_MAX_ID]
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _text(comment: dict[str, Any], key: str, where: str) -> str | None:
    value = comment.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad(f"{where}.{key} is {type(value).__name__}, expected a string")


def normalise_review(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One Review as `review.created`; Play keeps no creation time, so the user comment's lastModified stands in."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    review_id = data.get("reviewId")
    if not isinstance(review_id, str) or not review_id.strip() or len(review_id) > _MAX_ID:
        raise _bad("reviewId is missing, empty or too long")
    user, developer = _comments(data)
    if user is None:
        raise _bad("comments holds no userComment")
    rating = user.get("starRating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _bad(f"userComment.starRating is {rating!r:.40}, expected an integer 1..5")
    written = _timestamp(user.get("lastModified"))
    if written is None:
        raise _bad("userComment.lastModified is missing or not a Timestamp")
    # Play prefixes the title (if any) with a tab: "title\tbody"; keep the whole text, trimmed.
    text, cut = truncate((_text(user, "text", "userComment") or "").strip() or None)
    language = _text(user, "reviewerLanguage", "userComment")
    author = data.get("authorName")
    reply = None
    if developer is not None:
        reply_text = _text(developer, "text", "developerComment")
        replied = _timestamp(developer.get("lastModified"))
        if reply_text:
            reply = MerchantReply(truncate(reply_text)[0] or "", None if replied is None else format_rfc3339(replied))
    attributes: dict[str, AttributeValue] = {"created_at_is_last_modified": True}
    for key, name in (("appVersionName", "app_version"), ("device", "device"), ("androidOsVersion", "os_version")):
        value = user.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            attributes[name] = str(value)[:200]
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
        created_at=format_rfc3339(written),
        observed_at=format_rfc3339(observed_at),
        rating=float(rating),
        rating_scale=STARS,
        text=text,
        language=language if language is not None and 0 < len(language) <= 35 else None,
        author=author[:500] if isinstance(author, str) and author else None,
        merchant_reply=reply,
        attributes=attributes,
    )
