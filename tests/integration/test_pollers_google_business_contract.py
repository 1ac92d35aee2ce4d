"""The Google Business Profile adapter against the simulated API: backfill, sweeps, edits, auth and failures."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import PollOptions, RateLimit
from services.pollers.adapters.http import AuthError, PlatformClient
from services.pollers.adapters.registry import build_adapter
from services.pollers.fingerprints import MemoryFingerprints
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import SourcePoller
from services.pollers.ratelimit import TokenBucket
from services.shared import codec
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from services.shared.timeutil import ManualClock
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import Faults, GoogleLocation, MerchantProfile, Scenario, TrustpilotAccount
from tests.unit.test_pollers_poll_loop import FakeCursors, FakeDeadLetters, FakeProducer

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop",
        "Shop",
        "UTC",
        TrustpilotAccount("bu-shop"),
        baseline_per_hour=1,
        google=GoogleLocation("11", "22", baseline_per_hour=30, reply_share=0.5, edit_share=0.8),
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=6 * 3600,
        duration_seconds=8 * 3600,
        faults=Faults(**faults),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def source(sim: SimulatorApp, *, refresh_token: str | None = None, page_size: int = 20) -> SourceConfig:
    client_id, client_secret, token = sim.google_credentials_for("shop")
    return SourceConfig(
        id="shop/google",
        merchant_id="shop",
        platform="google_business",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=24,
        credentials={
            "client_id": Secret(client_id),
            "client_secret": Secret(client_secret),
            "refresh_token": Secret(refresh_token or token),
        },
        options={"account_id": "11", "location_id": "22", "page_size": page_size},
    )


@dataclasses.dataclass
class Rig:
    poller: SourcePoller
    producer: FakeProducer
    cursors: FakeCursors
    deadletters: FakeDeadLetters

    def events(self) -> list[Any]:
        return [codec.decode_review(v) for _t, batch in self.producer.sent for _k, v in batch]


def rig(
    sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry, max_pages: int = 50, **kw: Any
) -> Rig:
    return rig_for(source(sim, **kw), http, registry, max_pages)


def rig_for(
    config: SourceConfig,
    http: aiohttp.ClientSession,
    registry: CollectorRegistry,
    max_pages: int = 50,
    timeout: float = 5.0,
) -> Rig:
    """A real adapter and HTTP client in a SourcePoller over in-memory Kafka, cursors and fingerprints."""
    adapter = build_adapter(config, 0)
    metrics = PollerMetrics.create(registry)
    client = PlatformClient(http, adapter.platform, TokenBucket(1000, 1000), timeout_seconds=timeout)
    producer, cursors, deadletters = FakeProducer(), FakeCursors(), FakeDeadLetters()
    poller = SourcePoller(
        config,
        adapter,
        client,
        producer=cast(Any, producer),
        deadletters=cast(Any, deadletters),
        cursors=cast(Any, cursors),
        topic="reviews",
        metrics=metrics,
        semaphore=asyncio.Semaphore(1),
        options=PollOptions(rate_limit=RateLimit(1000, 1000), max_pages_per_poll=max_pages, max_attempts=4),
        clock=ManualClock(ORIGIN),
        fingerprints=MemoryFingerprints(),
    )
    # Retries in tests must not wait the production backoff.
    poller._retry_backoff = dataclasses.replace(poller._retry_backoff, base=0.001, cap=0.01)
    return Rig(poller, producer, cursors, deadletters)


async def poll_until_caught_up(r: Rig) -> None:
    for _ in range(50):
        if not (await r.poller.poll_once()).more:
            return
    raise AssertionError("never caught up")


def truth(sim: SimulatorApp) -> dict[str, Any]:
    """Well-formed reviews at simulated now, by id."""
    states = sim.google_business.visible("shop", sim.clock.now())
    return {s.review.id: s for s in states if s.review.malformed is None}


async def test_backfill_publishes_every_review_once_and_dead_letters_malformed(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """pageToken paging through the location: each well-formed review once, each malformed one dead-lettered."""
    async with SimulatorApp(scenario(malformed_every=13), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        events = r.events()
        expected = truth(sim)
        assert sorted(e.item_id for e in events) == sorted(expected)
        assert {e.event_type for e in events} == {"review.created"}
        for event in events:
            assert event.rating == expected[event.item_id].stars
            assert (event.text is None) == (expected[event.item_id].comment is None)
        malformed = [s for s in sim.google_business.visible("shop", sim.clock.now()) if s.review.malformed]
        assert len(r.deadletters.published) == len(malformed) > 0
        assert "sweep" not in (r.cursors.stored or {})  # the sweep completed: the mark moved
        # Polling again at the same simulated moment publishes nothing.
        assert (await r.poller.poll_once()).published == 0


async def test_new_reviews_replies_and_rating_edits_come_as_created_and_updated(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Later polls publish new reviews as created, replies and raised ratings as review.updated (new content)."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        before = len(r.events())
        sim.clock.advance(4 * 3600)
        await poll_until_caught_up(r)
        later = r.events()[before:]
        updated = [e for e in later if e.event_type == "review.updated"]
        created = [e for e in later if e.event_type == "review.created"]
        assert created and updated
        assert len({e.event_id for e in r.events()}) == len(r.events())
        # The newest content of every review published equals what Google shows now.
        latest: dict[str, Any] = {}
        for event in r.events():
            latest[event.item_id] = event
        for review_id, state in truth(sim).items():
            assert latest[review_id].rating == state.stars
            assert (latest[review_id].merchant_reply is not None) == (state.reply_at is not None)
        assert any(e.rating == 5.0 and "Update:" in (e.text or "") for e in updated)


async def test_page_budget_resumes_the_sweep_instead_of_starting_over(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """With one page per poll, the sweep in the cursor resumes at its pageToken; nothing is lost or repeated."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, max_pages=1, page_size=25)
        stats = await r.poller.poll_once()
        assert stats.more and "sweep" in (r.cursors.stored or {})
        await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert sorted(ids) == sorted(truth(sim))
        assert r.poller.consecutive_failures == 0


async def test_a_stale_page_token_restarts_the_sweep(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A pageToken the platform refuses (400) is dropped and the sweep restarts from the newest review."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        stored = dict(r.cursors.stored or {})
        r.cursors.stored = {**stored, "sweep": {"page_token": "not-a-token", "mark": stored}}
        sim.clock.advance(600)
        await poll_until_caught_up(r)
        assert "sweep" not in (r.cursors.stored or {})


async def test_wrong_refresh_token_is_a_clear_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """A revoked refresh token (400 invalid_grant) fails the poll with AuthError naming the source, not a retry."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, refresh_token="1//revoked")
        with pytest.raises(AuthError, match="shop/google"):
            await r.poller.poll_once()
        assert r.producer.sent == []


async def test_expired_access_token_is_refreshed(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A token the platform expired early (401) is replaced once and the poll succeeds."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        sim.google_business.expire_tokens()
        sim.clock.advance(3600)
        await poll_until_caught_up(r)
        assert r.poller.consecutive_failures == 0


async def test_429_and_503_are_retried_and_nothing_is_lost(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """RESOURCE_EXHAUSTED and UNAVAILABLE answers are retried with backoff; the backfill still completes."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=5), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "google_business", "reason": "rate_limited"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0
        assert (
            registry.get_sample_value("stormwatch_rate_limit_waits_total", {"platform": "google_business"}) or 0
        ) > 0


async def test_slow_answers_time_out_and_are_retried(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A response slower than the request timeout counts as a timeout and the page is fetched again."""
    async with SimulatorApp(
        scenario(slow_every=2, slow_seconds=1), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig_for(source(sim, page_size=50), http, registry, timeout=0.3)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "google_business", "reason": "timeout"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0
