"""Ecwid product reviews (REST API v3) -> review events: epoch timestamps, moderation status, reviewer info."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.pollers.adapters.localtime import from_epoch
from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "ecwid"
STARS = RatingScale(1, 5)
_MAX_EPOCH = 253402300799
_STATUSES = ("published", "moderated")


def _bad(message: str) -> BadInput:
    return BadInput(f"ecwid review: {message}", reason=Reason.NORMALISATION_FAILED)


def _epoch(data: Any, key: str) -> datetime | None:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_EPOCH:
        return None
    return from_epoch(value)


def updated_at(data: Any) -> datetime | None:
    """updateTimestamp (what the `updatedFrom` filter and our mark use), else createTimestamp; None if unreadable."""
    return _epoch(data, "updateTimestamp") or _epoch(data, "createTimestamp")


def item_key(data: Any, raw: bytes) -> str:
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _number(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"{key} is {value!r:.40}, expected a non-negative integer")
    return value


def normalise_review(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One product review as `review.created` (the poll loop turns re-served edits into `review.updated`)."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    review_id = _number(data, "id")
    if review_id is None:
        raise _bad("id is missing")
    rating = data.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _bad(f"rating is {rating!r:.40}, expected an integer 1..5")
    created = _epoch(data, "createTimestamp")
    if created is None:
        raise _bad("createTimestamp is missing or not epoch seconds")
    text = data.get("review")
    if text is not None and not isinstance(text, str):
        raise _bad("review is not a string")
    status = data.get("status")
    if status is not None and (not isinstance(status, str) or status.lower() not in _STATUSES):
        raise _bad(f"status is {status!r:.40}, expected published or moderated")
    product, order = _number(data, "productId"), _number(data, "orderId")
    reviewer = data.get("reviewerInfo")
    name = reviewer.get("name") if isinstance(reviewer, dict) else None
    product_name = data.get("productName")
    body, cut = truncate(text or None)
    attributes: dict[str, AttributeValue] = {"status": (status or "published").lower()}
    if product is not None:
        attributes["product"] = str(product)
    if isinstance(product_name, str) and product_name:
        attributes["product_name"] = product_name[:500]
    if order is not None:
        attributes["order"] = str(order)
    updated = updated_at(data)
    if updated is not None:
        attributes["updated_at"] = format_rfc3339(updated)
    if cut:
        attributes["truncated"] = True
    item_id = str(review_id)
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, item_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=item_id,
        kind="review",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        rating=float(rating),
        rating_scale=STARS,
        text=body,
        author=name[:500] if isinstance(name, str) and name else None,
        attributes=attributes,
    )
