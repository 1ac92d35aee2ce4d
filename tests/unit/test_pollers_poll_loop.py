"""The poll loop on fakes: dead-letters bad items, publishes the rest, and only then moves the cursor."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import Cursor, Page, PageRequest, PollOptions, RateLimit, RawItem
from services.pollers.adapters.http import PlatformError, Requester
from services.pollers.adapters.trustpilot_items import normalise_review
from services.pollers.app import PollerApp
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import SourcePoller
from services.shared import codec
from services.shared.config import SourceConfig, parse_config
from services.shared.errors import BadInput, ConfigError, Reason, TransientError
from services.shared.events import ReviewEvent
from services.shared.http import HttpServer
from services.shared.settings import Settings
from services.shared.timeutil import ManualClock

SOURCE = SourceConfig(id="shop/tp", merchant_id="shop", platform="trustpilot", poll_interval_seconds=0.01)


def item(item_id: str | None, stars: Any = 5) -> RawItem:
    data: dict[str, Any] = {"stars": stars, "createdAt": "2026-11-02T12:00:00Z"}
    if item_id is not None:
        data["id"] = item_id
    return RawItem(repr(data).encode(), data)


@dataclass
class FakeAdapter:
    """Serves scripted pages (or raises scripted errors) in order."""

    script: list[Page | Exception]
    platform: str = "trustpilot"
    credential_id: str = "cred"
    default_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(10, 10))
    requests: list[PageRequest] = field(default_factory=list)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def normalise(self, raw: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(raw.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)


# What happened, in order, across the fakes: proves the cursor is saved only after the batch was acknowledged.
Journal = list[str]


@dataclass
class FakeProducer:
    journal: Journal = field(default_factory=list)
    sent: list[tuple[str, list[tuple[bytes | None, bytes]]]] = field(default_factory=list)
    fail: Exception | None = None

    async def send_batch(self, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((topic, list(records)))
        self.journal.append("acked")


@dataclass
class FakeDeadLetters:
    published: list[dict[str, Any]] = field(default_factory=list)

    async def publish(self, **record: Any) -> None:
        self.published.append(record)


@dataclass
class FakeCursors:
    journal: Journal = field(default_factory=list)
    saved: list[tuple[Cursor, datetime | None]] = field(default_factory=list)
    stored: Cursor | None = None

    async def load(self, source_id: str) -> Cursor | None:
        return self.stored

    async def save(
        self, source_id: str, platform: str, cursor: Cursor, *, succeeded_at: datetime | None = None
    ) -> None:
        self.saved.append((cursor, succeeded_at))
        self.stored = cursor
        self.journal.append("cursor saved")


def poller(adapter: FakeAdapter, producer: FakeProducer, cursors: FakeCursors, registry: CollectorRegistry) -> Any:
    return SourcePoller(
        SOURCE,
        adapter,
        cast(Requester, None),
        producer=cast(Any, producer),
        deadletters=cast(Any, FakeDeadLetters()),
        cursors=cast(Any, cursors),
        topic="reviews",
        metrics=PollerMetrics.create(registry),
        semaphore=asyncio.Semaphore(1),
        options=PollOptions(rate_limit=RateLimit(10, 10), max_attempts=3),
        clock=ManualClock(datetime(2026, 11, 2, 12, 1, tzinfo=UTC)),
    )


async def test_bad_items_are_dead_lettered_and_the_rest_published_before_the_cursor_moves(
    registry: CollectorRegistry,
) -> None:
    """A malformed item is dead-lettered with context, the page's good items go out, and only then the cursor."""
    second = Page((item("c"),), {"n": 2}, None)
    first = Page((item("a"), item(None), item("b", stars="five")), {"n": 1}, PageRequest({"n": 1}, {"page": 2}))
    journal: Journal = []
    adapter = FakeAdapter([first, second])
    producer, cursors = FakeProducer(journal), FakeCursors(journal)
    loop = poller(adapter, producer, cursors, registry)
    stats = await loop.poll_once()
    assert (stats.pages, stats.published, stats.dead_lettered) == (2, 2, 2)
    events = [codec.decode_review(value) for _topic, batch in producer.sent for _key, value in batch]
    assert [e.item_id for e in events] == ["a", "c"]
    assert all(key == b"shop" for _topic, batch in producer.sent for key, _value in batch)
    assert journal == ["acked", "cursor saved", "acked", "cursor saved", "cursor saved"]
    assert adapter.requests[1] == PageRequest({"n": 1}, {"page": 2})
    dead = loop._deadletters.published
    assert [d["reason"] for d in dead] == ["normalisation_failed", "normalisation_failed"]
    assert dead[0]["original"] == first.items[1].raw
    assert dead[0]["context"] == {"merchant_id": "shop", "platform": "trustpilot", "source_id": "shop/tp"}
    assert [c for c, _ in cursors.saved] == [{"n": 1}, {"n": 2}, {"n": 2}]
    assert cursors.saved[-1][1] is not None  # the last save records the successful poll
    assert registry.get_sample_value("stormwatch_reviews_published_total", {"platform": "trustpilot"}) == 2
    assert registry.get_sample_value("stormwatch_polls_total", {"platform": "trustpilot", "outcome": "ok"}) == 1
    items = {
        outcome: registry.get_sample_value(
            "stormwatch_poll_items_total", {"platform": "trustpilot", "outcome": outcome}
        )
        for outcome in ("published", "dead_lettered")
    }
    assert items == {"published": 2, "dead_lettered": 2}  # items by outcome, per platform


async def test_cursor_does_not_move_when_kafka_fails(registry: CollectorRegistry) -> None:
    """If the batch is not acknowledged the poll fails and the stored cursor stays where it was."""
    adapter = FakeAdapter([Page((item("a"),), {"n": 1}, None)])
    producer, cursors = FakeProducer(fail=TransientError("broker down", reason=Reason.CONNECTION_ERROR)), FakeCursors()
    loop = poller(adapter, producer, cursors, registry)
    with pytest.raises(TransientError):
        await loop.poll_once()
    assert cursors.saved == []
    assert registry.get_sample_value("stormwatch_polls_total", {"platform": "trustpilot", "outcome": "error"}) == 1
    labels = {"platform": "trustpilot", "reason": "connection_error"}
    assert registry.get_sample_value("stormwatch_poll_errors_total", labels) == 1


async def test_retriable_errors_are_retried_within_the_poll(registry: CollectorRegistry) -> None:
    """A 429 with Retry-After is waited out and retried; it counts as a rate-limit wait and a poll error."""
    limited = PlatformError("429", reason=Reason.RATE_LIMITED, retry_after=0.0)
    adapter = FakeAdapter([limited, Page((item("a"),), {"n": 1}, None)])
    producer, cursors = FakeProducer(), FakeCursors()
    stats = await poller(adapter, producer, cursors, registry).poll_once()
    assert (stats.retries, stats.published) == (1, 1)
    assert registry.get_sample_value("stormwatch_rate_limit_waits_total", {"platform": "trustpilot"}) == 1
    labels = {"platform": "trustpilot", "reason": "rate_limited"}
    assert registry.get_sample_value("stormwatch_poll_errors_total", labels) == 1


async def test_the_loop_survives_failures_and_stops_on_request(registry: CollectorRegistry) -> None:
    """Non-retriable errors and bugs fail a poll, never the loop; a stop request ends it cleanly."""
    bug = RuntimeError("adapter bug")
    bad = BadInput("whole page unreadable", reason=Reason.SCHEMA_INVALID)
    adapter = FakeAdapter([bug, bad, Page((item("a"),), {"n": 1}, None)])
    producer, cursors = FakeProducer(), FakeCursors()
    loop = poller(adapter, producer, cursors, registry)
    task = asyncio.create_task(loop.run())
    for _ in range(500):
        if cursors.saved:
            break
        await asyncio.sleep(0.01)
    loop.request_stop()
    await asyncio.wait_for(task, timeout=5)
    assert [c for c, _ in cursors.saved][:1] == [{"n": 1}]
    assert registry.get_sample_value("stormwatch_poll_errors_total", {"platform": "trustpilot", "reason": "other"}) == 1
    labels = {"platform": "trustpilot", "reason": "schema_invalid"}
    assert registry.get_sample_value("stormwatch_poll_errors_total", labels) == 1


async def test_unknown_platform_fails_the_start_naming_the_key(registry: CollectorRegistry) -> None:
    """A source whose platform has no adapter stops PollerApp.start with a ConfigError on sources[i].platform."""
    config = parse_config(
        {
            "merchants": [{"id": "shop"}],
            "sources": [
                {"id": "a", "merchant": "shop", "platform": "trustpilot", "options": {"business_unit_id": "b"},
                 "credentials": {"api_key": "k", "api_secret": "s"}},
                {"id": "b", "merchant": "shop", "platform": "myspace"},
            ],
        }
    )  # fmt: skip
    app = PollerApp(Settings(), config, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    with pytest.raises(ConfigError, match=r"sources\[1\]\.platform"):
        await app.start()
    assert not app.started


def test_webhook_sources_get_a_route_not_a_poller(registry: CollectorRegistry) -> None:
    """A source with mode: webhook is served at POST /webhooks/{id}; one without a signing secret is refused."""
    source = {"id": "shop/jd", "merchant": "shop", "platform": "jd", "options": {"mode": "webhook"}}
    config = parse_config(
        {"merchants": [{"id": "shop"}], "sources": [{**source, "credentials": {"signing_secret": "x"}}]}
    )
    http = HttpServer(registry, port=0)
    PollerApp(Settings(), config, registry=registry, http=http, serve_http=False)
    assert ("POST", "/webhooks/{source_id:.+}") in http._handlers
    with pytest.raises(ConfigError, match="signing_secret"):
        PollerApp(
            Settings(),
            parse_config({"merchants": [{"id": "shop"}], "sources": [source]}),
            registry=CollectorRegistry(),
            http=HttpServer(CollectorRegistry(), port=0),
        )
