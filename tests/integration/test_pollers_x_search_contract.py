"""The X recent-search adapter against the simulated API v2: since_id sweeps, edits, conversations, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.pollers.adapters.http import AuthError
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import CascadeSpec, Faults, MerchantProfile, Scenario, TrustpilotAccount, XAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(cascade: bool = False, **faults: int) -> Scenario:
    cascades = (CascadeSpec("x", 600, shares=2000, replies=300, views=20000, hours=6),) if cascade else ()
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1,
        x=XAccount("shopnl", mentions_per_hour=40), cascades=cascades,
    )  # fmt: skip
    return Scenario(
        merchants=(merchant,), origin=ORIGIN, history_seconds=6 * 3600, duration_seconds=6 * 3600,
        faults=Faults(**faults),
    )  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def rig(
    sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry, *, token: str | None = None,
    max_pages: int = 50,
) -> Rig:  # fmt: skip
    config = SourceConfig(
        id="shop/x",
        merchant_id="shop",
        platform="x",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        credentials={"bearer_token": Secret(token or sim.x_bearer_for("shop"))},
        options={"query": "@shopnl -is:retweet"},
    )
    return rig_for(config, http, registry, max_pages)


def created(r: Rig) -> list[str]:
    return [e.item_id for e in r.events() if e.event_type == "review.created"]


def truth(sim: SimulatorApp) -> list[str]:
    return [v.id for v in sim.visible_reviews("shop", platform="x") if v.malformed is None]


async def test_since_id_sweeps_publish_each_mention_once_and_edits_as_updates(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """next_token paging and since_id polls publish every mention once (no rating, conversation as thread);
    an edit published later is a review.updated of the original id; malformed tweets are dead-lettered."""
    async with SimulatorApp(scenario(malformed_every=13), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, max_pages=1)
        await poll_until_caught_up(r)
        for _ in range(6):
            sim.clock.advance(1200)
            await poll_until_caught_up(r)
        assert sorted(created(r)) == sorted(truth(sim))
        broken = [v for v in sim.visible_reviews("shop", platform="x") if v.malformed is not None]
        assert len(r.deadletters.published) == len(broken) > 0
        events = r.events()
        assert all(e.rating is None and e.kind == "mention" for e in events)
        updated = [e for e in events if e.event_type == "review.updated"]
        assert updated and {e.item_id for e in updated} <= set(created(r))
        assert all("(edit" in (e.text or "") for e in updated)
        assert any(e.thread_id is not None and e.parent_id is not None for e in events)
        assert len({e.event_id for e in events}) == len(events)


async def test_a_viral_conversation_is_snapshotted_from_lookups(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """The cascade's root is looked up after each sweep: thread.snapshot events with growing retweets+quotes."""
    async with SimulatorApp(scenario(cascade=True), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        for _ in range(8):
            sim.clock.advance(900)
            r.poller._clock.advance(900)  # type: ignore[attr-defined]
            await poll_until_caught_up(r)
        snapshots = [e for e in r.events() if e.event_type == "thread.snapshot"]
        root = next(t for t in sim.x.tweets["shop"] if t.cascade is not None)
        mine = [s for s in snapshots if s.item_id == root.id]
        assert len(mine) >= 6 and all(s.thread_id == root.id for s in mine)
        shares = [s.engagement.shares or 0 for s in mine if s.engagement is not None]
        assert shares == sorted(shares) and shares[-1] > 500


async def test_429_with_rate_headers_and_503_are_retried_and_a_bad_token_is_an_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """429 (x-rate-limit-remaining 0, reset in a second) and 503 are retried to the same result; a refused
    bearer token is an AuthError naming the credential."""
    world = scenario(rate_limit_every=3, server_error_every=5, retry_after_seconds=1)
    async with SimulatorApp(world, registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(created(r)) == sorted(truth(sim))
        with pytest.raises(AuthError, match="bearer_token"):
            await rig(sim, http, registry, token="nope").poller.poll_once()
