"""Time helpers: RFC 3339 UTC formatting and parsing, and an injectable clock for time-window logic."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time; services use WallClock, tests and backtests a ManualClock."""

    def now(self) -> datetime: ...


class WallClock:
    """The real time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class ManualClock:
    """A clock a test moves by hand, so time-window behaviour is exact and instant."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_rfc3339(moment: datetime) -> str:
    """Format as RFC 3339 in UTC with a `Z` suffix and at most microsecond precision."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every Stormwatch timestamp must carry a time zone")
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (with `Z` or an offset) into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # Year 1 or 9999 with an offset is outside datetime's range in UTC; callers expect ValueError for
        # unusable timestamps (an OverflowError stopped the alerter's intake: found by fuzzing).
        raise ValueError(f"timestamp {text!r} is outside the years 1..9999 in UTC") from None


def monotonic() -> float:
    return time.monotonic()
