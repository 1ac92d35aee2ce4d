"""Edits as events: content fingerprints, review.updated / review.deleted versions and thread.snapshot events."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime

import orjson

from services.shared.events import ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

# The fingerprint a deleted or withdrawn item is stored under: a later deletion event of it is a duplicate.
DELETED = "deleted"
# Over this, free text is cut and the event says so in `attributes.truncated`.
MAX_TEXT = 20000


def content_fingerprint(event: ReviewEvent) -> str:
    """What a reader would see change: rating, title, text and the merchant's reply (not engagement counters)."""
    if event.event_type == "review.deleted":
        return DELETED
    reply = None if event.merchant_reply is None else event.merchant_reply.text
    parts = [event.rating, event.title, event.text, reply]
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:24]


def as_update(event: ReviewEvent, fingerprint: str) -> ReviewEvent:
    """The same observation as a `review.updated` event whose id names the new content version."""
    return dataclasses.replace(
        event,
        event_type="review.updated",
        event_id=deterministic_id(event.platform, event.source_id, event.item_id, "review.updated", fingerprint),
    )


def deletion(event: ReviewEvent) -> ReviewEvent:
    """A `review.deleted` event for an item (removed, withdrawn): one id per item, however often it is seen."""
    return dataclasses.replace(
        event,
        event_type="review.deleted",
        event_id=deterministic_id(event.platform, event.source_id, event.item_id, "review.deleted"),
    )


def thread_snapshot(event: ReviewEvent, observed_at: datetime, bucket_seconds: int = 300) -> ReviewEvent | None:
    """A `thread.snapshot` of a post's engagement counters, one id per counter values and time bucket.

    The bucket keeps a thread that stands still from producing an event on every poll, while a thread that takes
    off produces one per bucket with its new counters (the detector reads velocity from consecutive snapshots).
    """
    engagement = event.engagement
    if engagement is None:
        return None
    bucket = int(observed_at.timestamp()) // bucket_seconds
    counters = orjson.dumps(dataclasses.astuple(engagement)).decode()
    return dataclasses.replace(
        event,
        event_type="thread.snapshot",
        event_id=deterministic_id(
            event.platform, event.source_id, event.item_id, "thread.snapshot", str(bucket), counters
        ),
        observed_at=format_rfc3339(observed_at),
    )


def truncate(text: str | None, limit: int = MAX_TEXT) -> tuple[str | None, bool]:
    """`text` cut to `limit` characters, and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True
