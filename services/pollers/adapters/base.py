"""The contract every platform adapter implements, and the poll options every source shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.pollers.adapters.http import Requester
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError
from services.shared.events import ReviewEvent

# A cursor is adapter-defined JSON (a high-water mark, a page token, ...), stored as-is in source_cursors.
Cursor = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item as the platform served it: `raw` goes to the dead-letter topic, `data` to the normaliser."""

    raw: bytes
    data: Any


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Where to read next: the stored cursor (None on a source's first poll) and a position within this poll."""

    cursor: Cursor | None
    position: Cursor | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Items not published before, the cursor to store once they are acknowledged, and what to read next."""

    items: tuple[RawItem, ...]
    cursor: Cursor
    next: PageRequest | None  # None: caught up, the poll is done


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float
    burst: float


class PlatformAdapter(Protocol):
    """One source on one platform: speaks the platform's API, owns its cursor semantics, normalises its items.

    The poll loop calls `fetch_page` until `Page.next` is None, publishes `Page.items` (normalised) and stores
    `Page.cursor` only after Kafka acknowledged them. An adapter must never return an item a stored cursor already
    covers, so a restart neither loses nor repeats items.
    """

    platform: str
    # Sources whose adapters report the same credential_id share one token bucket (not a secret itself).
    credential_id: str
    default_rate_limit: RateLimit

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page: ...

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        """The review event of one item; raises errors.BadInput (reason normalisation_failed) when malformed."""
        ...


COMMON_OPTIONS = frozenset(
    {"rate_limit_per_second", "rate_limit_burst", "request_timeout_seconds", "max_pages_per_poll", "max_attempts"}
)


@dataclass(frozen=True)
class PollOptions:
    """Options every source accepts under `options:`, whatever its platform."""

    rate_limit: RateLimit
    request_timeout_seconds: float = 30.0
    max_pages_per_poll: int = 20  # then the poll yields the concurrency slot and continues right away
    max_attempts: int = 4  # per page, for retriable failures

    @classmethod
    def from_source(cls, source: SourceConfig, where: str, default_rate_limit: RateLimit) -> PollOptions:
        options = source.options
        return cls(
            rate_limit=RateLimit(
                per_second=positive_number(options, "rate_limit_per_second", where, default_rate_limit.per_second),
                burst=max(1.0, positive_number(options, "rate_limit_burst", where, default_rate_limit.burst)),
            ),
            request_timeout_seconds=positive_number(options, "request_timeout_seconds", where, 30.0),
            max_pages_per_poll=int(positive_number(options, "max_pages_per_poll", where, 20, integer=True)),
            max_attempts=int(positive_number(options, "max_attempts", where, 4, integer=True)),
        )


def positive_number(
    options: Mapping[str, Any], key: str, where: str, default: float, *, integer: bool = False
) -> float:
    """Read `options[key]` as a positive number (an integer when asked); the error names the key."""
    value = options.get(key, default)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        expected = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{where}.options.{key}: expected {expected}, got {value!r}")
    return float(value)


def reject_unknown_options(source: SourceConfig, where: str, known: frozenset[str]) -> None:
    for key in source.options:
        if key not in known | COMMON_OPTIONS:
            allowed = ", ".join(sorted(known | COMMON_OPTIONS))
            raise ConfigError(f"{where}.options.{key}: unknown option for platform {source.platform} ({allowed})")
