"""Stormwatch's own item format (signed webhooks, CSV / JSONL imports) -> review events.

Fields: `id` (required), `created_at` (RFC 3339, or local `YYYY-MM-DD HH:MM:SS` read in the source's time zone),
`rating` with `rating_min` / `rating_max` (default 1..5), `title`, `text`, `language`, `author`, `url`, `kind`
(review, comment, post, mention), `thread_id`, `parent_id`, `reply` and `reply_at` (the merchant's answer),
`event` (created, updated or deleted; default created), `deleted` (true: same as event=deleted), `order`,
`product`, `sku`. Empty strings count as absent (CSV cells).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast, get_args

from services.pollers.adapters.localtime import parse_local
from services.pollers.revisions import content_fingerprint, truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import (
    AttributeValue,
    EventType,
    ItemKind,
    MerchantReply,
    RatingScale,
    ReviewEvent,
    deterministic_id,
)
from services.shared.timeutil import format_rfc3339

FIELDS = (
    "id", "created_at", "rating", "rating_min", "rating_max", "title", "text", "language", "author", "url", "kind",
    "thread_id", "parent_id", "reply", "reply_at", "event", "deleted", "order", "product", "sku",
)  # fmt: skip
_KINDS = frozenset(get_args(ItemKind))
_LIMITS = {"title": 2000, "author": 500, "url": 2000, "thread_id": 500, "parent_id": 500, "language": 35}


def _bad(message: str) -> BadInput:
    return BadInput(f"item: {message}", reason=Reason.NORMALISATION_FAILED)


def _value(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    return None if value == "" else value


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = _value(data, key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _bad(f"{key} is {type(value).__name__}, expected a string")
    return value


def _number(data: Mapping[str, Any], key: str, default: float | None) -> float | None:
    value = _value(data, key)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _bad(f"{key} {value[:20]!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or abs(value) > 1e9:  # noqa: PLR0124
        raise _bad(f"{key} is not a finite number")
    return float(value)


def _moment(data: Mapping[str, Any], key: str, timezone: str) -> datetime | None:
    value = _text(data, key)
    if value is None:
        return None
    try:
        return parse_local(value, timezone)
    except (ValueError, OverflowError):
        raise _bad(f"{key} {value[:40]!r} is not a timestamp") from None


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = _value(data, key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "false", "0", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise _bad(f"{key} is {value!r:.20}, expected a boolean")


def normalise_item(
    data: Any, *, merchant_id: str, platform: str, source_id: str, observed_at: datetime, timezone: str = "UTC"
) -> ReviewEvent:
    """One item in Stormwatch's format; ids are deterministic and name the content, so a re-import is a duplicate
    and an edited row is a new version."""
    if not isinstance(data, Mapping):
        raise _bad(f"is {type(data).__name__}, expected an object")
    item_id = _text(data, "id")
    if item_id is None or not item_id.strip() or len(item_id) > 500:
        raise _bad("id is missing or longer than 500 characters")
    created = _moment(data, "created_at", timezone)
    if created is None:
        raise _bad("created_at is missing")
    kind = _text(data, "kind") or "review"
    if kind not in _KINDS:
        raise _bad(f"kind {kind[:20]!r} is not one of {', '.join(sorted(_KINDS))}")
    rating = _number(data, "rating", None)
    low, high = _number(data, "rating_min", 1.0), _number(data, "rating_max", 5.0)
    assert low is not None and high is not None
    if (rating is not None and not low <= rating <= high) or low >= high:
        raise _bad(f"rating {rating} is outside {low}..{high}")
    fields = {key: _text(data, key) for key in _LIMITS}
    for key, limit in _LIMITS.items():
        value = fields[key]
        if value is not None and len(value) > limit:
            fields[key] = None if key in {"url", "language", "thread_id", "parent_id"} else value[:limit]
    text, cut = truncate(_text(data, "text"))
    reply_text, reply_cut = truncate(_text(data, "reply"))
    reply_at = _moment(data, "reply_at", timezone)
    attributes: dict[str, AttributeValue] = {k: _text(data, k) for k in ("order", "product", "sku") if _value(data, k)}
    if cut or reply_cut:
        attributes["truncated"] = True
    action = "deleted" if _flag(data, "deleted") else (_text(data, "event") or "created")
    if action not in {"created", "updated", "deleted"}:
        raise _bad(f"event {action[:20]!r} is not created, updated or deleted")
    event = ReviewEvent(
        event_id="",
        event_type=cast(EventType, f"review.{action}"),
        merchant_id=merchant_id,
        platform=platform,
        source_id=source_id,
        item_id=item_id,
        kind=cast(ItemKind, kind),  # checked against ItemKind above
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        thread_id=fields["thread_id"],
        parent_id=fields["parent_id"],
        rating=rating,
        rating_scale=None if rating is None else RatingScale(low, high),
        title=fields["title"],
        text=text,
        language=fields["language"],
        author=fields["author"],
        url=fields["url"],
        merchant_reply=None
        if reply_text is None
        else MerchantReply(reply_text, None if reply_at is None else format_rfc3339(reply_at)),
        attributes=attributes,
    )
    version = content_fingerprint(event)
    return dataclasses.replace(
        event, event_id=deterministic_id(platform, source_id, item_id, event.event_type, version)
    )
