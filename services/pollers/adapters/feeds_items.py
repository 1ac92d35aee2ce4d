"""Feed entries (RSS / Atom) that mention the merchant -> `mention` events without a rating."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

PLATFORM = "rss"
_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACE = re.compile(r"\s+")
_MAX_ID = 500


def _bad(message: str) -> BadInput:
    return BadInput(f"feed entry: {message}", reason=Reason.NORMALISATION_FAILED)


def plain_text(value: str | None) -> str | None:
    """Feed HTML (description, content) as plain text: tags dropped, entities decoded, whitespace collapsed."""
    if value is None:
        return None
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()
    return text or None


def entry_key(data: Any) -> str | None:
    """What dedupes an entry: its guid / Atom id, else its link; None when it has neither."""
    if not isinstance(data, dict):
        return None
    for field in ("id", "link"):
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            return value if len(value) <= _MAX_ID else "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return None


def mentions(data: Any, terms: tuple[str, ...]) -> bool:
    """Whether the entry's title or text names one of the merchant's terms (case-insensitive)."""
    if not isinstance(data, dict):
        return True  # unreadable entries go on to the normaliser, which dead-letters them
    haystack = " ".join(v for k in ("title", "text") if isinstance(v := data.get(k), str)).casefold()
    return any(term.casefold() in haystack for term in terms)


def _moment(value: Any, field: str) -> datetime | None:
    """RFC 822 (RSS) or RFC 3339 (Atom) text as a UTC instant; None when absent; BadInput when unreadable."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{field} is not text")
    try:
        return parse_rfc3339(value)
    except (ValueError, OverflowError):
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise _bad(f"{field} {value[:40]!r} is neither an RFC 822 nor an RFC 3339 date") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def normalise_entry(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One feed entry as a `review.created` mention; a whole document the adapter refused raises BadInput."""
    if isinstance(data, dict) and isinstance(data.get("rejected"), str):
        raise _bad(f"feed document refused: {data['rejected'][:200]}")
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an entry")
    key = entry_key(data)
    if key is None:
        raise _bad("entry has neither a guid/id nor a link")
    published = _moment(data.get("published"), "published")
    updated = _moment(data.get("updated"), "updated")
    title, _ = truncate(plain_text(data.get("title") if isinstance(data.get("title"), str) else None), 2000)
    text, cut = truncate(plain_text(data.get("text") if isinstance(data.get("text"), str) else None))
    link = data.get("link")
    author = data.get("author")
    attributes: dict[str, AttributeValue] = {"feed_format": str(data.get("format", "rss"))[:10]}
    created = published or updated
    if created is None:
        created = observed_at  # undated entries are dated when first seen
        attributes["undated"] = True
    if updated is not None:
        attributes["updated_at"] = format_rfc3339(updated)
    if cut:
        attributes["truncated"] = True
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, key, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=key,
        kind="mention",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        title=title,
        text=text,
        author=author[:500] if isinstance(author, str) and author else None,
        url=link if isinstance(link, str) and link.startswith(("http://", "https://")) and len(link) <= 2000 else None,
        attributes=attributes,
    )
