"""An unparseable page: retried within the poll, then dead-lettered with its raw bytes (once), never past the cursor."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import Page, PageRequest, PollOptions, RateLimit, RawItem
from services.pollers.adapters.http import HttpResponse, Requester, UnparseablePage
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import SourcePoller
from services.shared.config import SourceConfig
from services.shared.events import ReviewEvent
from services.shared.timeutil import ManualClock
from tests.unit.test_pollers_poll_loop import SOURCE, FakeCursors, FakeDeadLetters, FakeProducer

BROKEN = b"<html><body>502 Bad Gateway from a proxy</body></html>"


@dataclass
class BodyAdapter:
    """Reads each scripted body as a JSON page, the way every JSON adapter does (HttpResponse.json)."""

    bodies: list[bytes]
    platform: str = "trustpilot"
    credential_id: str = "cred"
    default_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(10, 10))
    calls: int = 0

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        body = self.bodies[min(self.calls, len(self.bodies) - 1)]
        self.calls += 1
        response = HttpResponse(200, CIMultiDictProxy(CIMultiDict()), body)
        data = response.json("trustpilot GET /reviews")
        return Page((), {"mark": data["mark"]}, None)

    def normalise(self, raw: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        raise AssertionError("no items in these pages")


def make_poller(adapter: BodyAdapter, cursors: FakeCursors, registry: CollectorRegistry) -> SourcePoller:
    return SourcePoller(
        SOURCE,
        adapter,
        cast(Requester, None),
        producer=cast(Any, FakeProducer()),
        deadletters=cast(Any, FakeDeadLetters()),
        cursors=cast(Any, cursors),
        topic="reviews",
        metrics=PollerMetrics.create(registry),
        semaphore=asyncio.Semaphore(1),
        options=PollOptions(rate_limit=RateLimit(10, 10), max_attempts=2),
        clock=ManualClock(datetime(2026, 11, 2, 12, 1, tzinfo=UTC)),
    )


def test_a_body_that_is_not_json_is_a_retriable_unparseable_page_carrying_its_bytes() -> None:
    """HttpResponse.json raises UnparseablePage (retriable, reason malformed_json) holding the body, capped."""
    response = HttpResponse(200, CIMultiDictProxy(CIMultiDict()), b"x" * (UnparseablePage.MAX_PAGE_BYTES + 10))
    with pytest.raises(UnparseablePage) as caught:
        response.json("p GET /r")
    assert caught.value.retriable and caught.value.reason.value == "malformed_json"
    assert len(caught.value.body) == UnparseablePage.MAX_PAGE_BYTES


async def test_an_unparseable_page_is_retried_then_dead_lettered_with_its_bytes(registry: CollectorRegistry) -> None:
    """Every attempt fails: the poll fails without moving the cursor and the raw page is dead-lettered once; the
    same bytes on the next poll are not dead-lettered again; once the platform recovers the cursor moves."""
    adapter = BodyAdapter([BROKEN, BROKEN, BROKEN, BROKEN, b'{"mark": 7}'])
    cursors = FakeCursors()
    loop = make_poller(adapter, cursors, registry)
    with pytest.raises(UnparseablePage):
        await loop.poll_once()
    assert adapter.calls == 2  # retried within the poll
    dead = cast(FakeDeadLetters, loop._deadletters).published
    assert len(dead) == 1
    assert dead[0]["reason"] == "malformed_json" and dead[0]["original"] == BROKEN
    assert dead[0]["context"]["source_id"] == SOURCE.id
    assert cursors.saved == []
    with pytest.raises(UnparseablePage):
        await loop.poll_once()
    assert len(dead) == 1  # the same unreadable bytes are not dead-lettered on every poll
    stats = await loop.poll_once()
    assert stats.pages == 1 and cursors.stored == {"mark": 7}
    errors = registry.get_sample_value(
        "stormwatch_poll_errors_total", {"platform": "trustpilot", "reason": "malformed_json"}
    )
    assert errors is not None and errors >= 2
