"""Timestamps platforms send without an offset (Yelp, Taobao) or as epoch seconds (Etsy), read as UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def parse_local(text: str, timezone: str) -> datetime:
    """`YYYY-MM-DD HH:MM:SS` (or ISO with `T`) in the source's time zone; an explicit offset wins over the zone.

    A wall time that does not exist (skipped by a DST change) is mapped forward, an ambiguous one (repeated) to its
    first occurrence, as zoneinfo does with fold=0. Raises ValueError when the text is no timestamp.
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def from_epoch(value: float) -> datetime:
    """Epoch seconds as a UTC instant; ValueError/OverflowError for values no calendar holds."""
    return datetime.fromtimestamp(value, tz=UTC)
