"""Taobao / Tmall TradeRate objects -> review events: good / neutral / bad, local Asia/Shanghai times, replies."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.pollers.adapters.localtime import parse_local
from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, MerchantReply, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "taobao"
STARS = RatingScale(1, 5)
# TOP rates are three-valued; the canonical mapping puts them on the 1..5 scale every other platform uses.
RESULTS = {"good": 5.0, "neutral": 3.0, "bad": 1.0}
_MAX_TEXT_FIELD = 500


def _bad(message: str) -> BadInput:
    return BadInput(f"taobao trade rate: {message}", reason=Reason.NORMALISATION_FAILED)


def _ident(data: dict[str, Any], key: str, *, required: bool) -> str | None:
    """tid / oid: numbers in the JSON (strings in some SDKs); both forms accepted, nothing else."""
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 30:
        return value
    raise _bad(f"{key} is {value!r:.40}, expected a non-negative number")


def created_at(data: Any, timezone: str) -> datetime | None:
    """`created` (local wall time without offset, read in the source's zone) as UTC, None when unreadable."""
    if not isinstance(data, dict) or not isinstance(data.get("created"), str):
        return None
    try:
        return parse_local(data["created"], timezone)
    except (ValueError, OverflowError):
        return None


def item_key(data: Any, raw: bytes) -> str:
    """tid + oid + role identifies a rate (a buyer rates each order line once per role)."""
    if isinstance(data, dict):
        try:
            tid = _ident(data, "tid", required=True)
            oid = _ident(data, "oid", required=False)
        except BadInput:
            tid = None
        if tid is not None:
            return f"{tid}:{oid or '-'}:{data.get('role') if isinstance(data.get('role'), str) else '-'}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise _bad(f"{key} is {type(value).__name__}, expected a string")


def normalise_rate(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime, timezone: str) -> ReviewEvent:
    """One TradeRate as a `review.created` event; `created` is read in the source's configured time zone."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    tid = _ident(data, "tid", required=True)
    oid = _ident(data, "oid", required=False)
    role = data.get("role")
    if role is not None and role not in ("buyer", "seller"):
        raise _bad(f"role is {role!r:.40}, expected buyer or seller")
    result = data.get("result")
    if not isinstance(result, str) or result not in RESULTS:  # str first: a list would not hash
        raise _bad(f"result is {result!r:.40}, expected good, neutral or bad")
    created = created_at(data, timezone)
    if created is None:
        raise _bad("created is missing or not a 'YYYY-MM-DD HH:MM:SS' time")
    content, cut = truncate(_optional_text(data, "content"))
    reply = _optional_text(data, "reply")
    nick = _optional_text(data, "nick")
    title = _optional_text(data, "item_title")
    attributes: dict[str, AttributeValue] = {"order": str(tid), "result": result}
    if oid is not None:
        attributes["order_line"] = oid
    if title is not None:
        attributes["product"] = title[:_MAX_TEXT_FIELD]
    if cut:
        attributes["truncated"] = True
    item_id = f"{tid}:{oid or '-'}:{role or '-'}"
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
        rating=RESULTS[result],
        rating_scale=STARS,
        text=content,
        # Taobao masks buyer nicks (t**1); what it shows is all there is.
        author=None if nick is None else nick[:_MAX_TEXT_FIELD],
        merchant_reply=None if reply is None else MerchantReply(text=truncate(reply)[0] or "", created_at=None),
        attributes=attributes,
    )
