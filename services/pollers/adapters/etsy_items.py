"""Etsy TransactionReview objects -> review events: no review id, so the transaction identifies the review."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.pollers.adapters.localtime import from_epoch
from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "etsy"
STARS = RatingScale(1, 5)
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


def _bad(message: str) -> BadInput:
    return BadInput(f"etsy review: {message}", reason=Reason.NORMALISATION_FAILED)


def _integer(data: dict[str, Any], key: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"{key} is {value!r:.40}, expected a non-negative integer")
    return value


def created_epoch(data: Any) -> int | None:
    """create_timestamp (or the older created_timestamp) in epoch seconds, None when unreadable."""
    if not isinstance(data, dict):
        return None
    for key in ("create_timestamp", "created_timestamp"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_EPOCH:
            return value
    return None


def item_key(data: Any, raw: bytes) -> str:
    """The transaction id as text (what dedupes an Etsy review), or a digest of the bytes when it has none."""
    if isinstance(data, dict):
        value = data.get("transaction_id")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def normalise_review(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One TransactionReview as a `review.created` event keyed by its transaction id."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    transaction = _integer(data, "transaction_id")
    rating = data.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _bad(f"rating is {rating!r:.40}, expected an integer 1..5")
    created = created_epoch(data)
    if created is None:
        raise _bad("create_timestamp is missing or not epoch seconds")
    text = data.get("review")
    if text is not None and not isinstance(text, str):
        raise _bad("review is not a string")
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        raise _bad("language is not a string")
    buyer = _integer(data, "buyer_user_id", required=False)
    listing = _integer(data, "listing_id", required=False)
    shop = _integer(data, "shop_id", required=False)
    body, cut = truncate(text)
    item_id = str(transaction)
    attributes: dict[str, AttributeValue] = {"order": item_id}
    if listing is not None:
        attributes["product"] = str(listing)
    if shop is not None:
        attributes["shop"] = str(shop)
    if cut:
        attributes["truncated"] = True
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, item_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=item_id,
        kind="review",
        created_at=format_rfc3339(from_epoch(created)),
        observed_at=format_rfc3339(observed_at),
        rating=float(rating),
        rating_scale=STARS,
        text=body,
        language=language if language is not None and 0 < len(language) <= 35 else None,
        # Etsy hides some buyers; the user id is all it shows of the others.
        author=None if buyer is None else f"etsy-user-{buyer}",
        url=None if listing is None else f"https://www.etsy.com/listing/{listing}",
        attributes=attributes,
    )
