"""Many sources: per-source jitter keeps them out of lockstep, and a shared semaphore bounds concurrent polls."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import Page, PageRequest, PollOptions, RateLimit, RawItem
from services.pollers.adapters.http import Requester
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import SourcePoller
from services.shared.config import SourceConfig
from services.shared.events import ReviewEvent
from tests.unit.test_pollers_poll_loop import SOURCE, FakeCursors, FakeDeadLetters, FakeProducer

INTERVAL = 300.0


@dataclass
class GatedAdapter:
    """Every fetch waits for the gate; counts how many fetches are in flight at once."""

    gate: asyncio.Event
    in_flight: int = 0
    peak: int = 0
    platform: str = "trustpilot"
    credential_id: str = "cred"
    default_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(10, 10))

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        return Page((), {"n": 1}, None)

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        raise AssertionError("no items")


def make(source: SourceConfig, adapter: Any, semaphore: asyncio.Semaphore, registry: CollectorRegistry) -> SourcePoller:
    return SourcePoller(
        source,
        adapter,
        cast(Requester, None),
        producer=cast(Any, FakeProducer()),
        deadletters=cast(Any, FakeDeadLetters()),
        cursors=cast(Any, FakeCursors()),
        topic="reviews",
        metrics=PollerMetrics.create(registry),
        semaphore=semaphore,
        options=PollOptions(rate_limit=RateLimit(10, 10)),
    )


def sources(count: int) -> list[SourceConfig]:
    return [
        dataclasses.replace(SOURCE, id=f"merchant-{i}/trustpilot", poll_interval_seconds=INTERVAL) for i in range(count)
    ]


def test_a_thousand_sources_with_one_interval_do_not_poll_in_lockstep(registry: CollectorRegistry) -> None:
    """1,000 sources configured with the same interval: each waits its own interval +-10 % (seeded by its id, so
    the same on every run), spread over that whole range, and each starts at its own small offset."""
    semaphore = asyncio.Semaphore(16)
    pollers = [make(s, GatedAdapter(asyncio.Event()), semaphore, registry) for s in sources(1000)]
    delays = [p.interval_delay() for p in pollers]
    assert all(0.9 * INTERVAL <= d <= 1.1 * INTERVAL for d in delays)
    # Spread across the whole +-10 % band, not bunched: 10 equal slots each hold roughly a tenth.
    slots = [0] * 10
    for d in delays:
        slots[min(9, int((d - 0.9 * INTERVAL) / (0.02 * INTERVAL)))] += 1
    assert min(slots) >= 60 and max(slots) <= 140
    assert statistics.pstdev(delays) > 0.04 * INTERVAL
    firsts = [p.first_delay() for p in pollers]
    assert all(0 <= f <= 1.0 for f in firsts) and len(set(firsts)) == len(firsts)
    # Reproducible: two pollers of the same source draw the same jitter, in the same order.
    one, two = (make(sources(1)[0], GatedAdapter(asyncio.Event()), semaphore, registry) for _ in range(2))
    assert (one.first_delay(), one.interval_delay()) == (two.first_delay(), two.interval_delay())


async def test_the_shared_semaphore_bounds_concurrent_polls(registry: CollectorRegistry) -> None:
    """Twelve sources polling at once through a semaphore of 3: never more than 3 fetches in flight, and all finish."""
    gate = asyncio.Event()
    adapter = GatedAdapter(gate)
    semaphore = asyncio.Semaphore(3)
    pollers = [make(s, adapter, semaphore, registry) for s in sources(12)]
    polls = [asyncio.create_task(p.poll_once()) for p in pollers]
    for _ in range(20):
        await asyncio.sleep(0)
    assert adapter.in_flight == 3
    gate.set()
    results = await asyncio.gather(*polls)
    assert adapter.peak == 3
    assert all(r.pages == 1 for r in results)
