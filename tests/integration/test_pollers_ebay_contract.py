"""The eBay adapter against the simulated Feedback API: offsets, replies and follow-ups as updates, withdrawals."""

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
from services.simulator.scenario import EbaySeller, Faults, MerchantProfile, Scenario, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop",
        "Shop",
        "UTC",
        TrustpilotAccount("bu-shop"),
        baseline_per_hour=1,
        negative_share=0.4,
        ebay=EbaySeller("shop_seller", 30),
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


def rig(
    sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry, *, refresh: str | None = None
) -> Rig:
    client_id, secret, token = sim.ebay_credentials_for("shop")
    config = SourceConfig(
        id="shop/ebay",
        merchant_id="shop",
        platform="ebay",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=24,
        credentials={
            "client_id": Secret(client_id),
            "client_secret": Secret(secret),
            "refresh_token": Secret(refresh or token),
        },
        options={"user_id": "shop_seller", "limit": 25, "revisit_hours": 24},
    )
    return rig_for(config, http, registry)


async def test_feedback_replies_follow_ups_and_withdrawals(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Backfill publishes each feedback once; later, replies and follow-ups come as review.updated and a withdrawn
    feedback as one review.deleted; malformed entries are dead-lettered."""
    async with SimulatorApp(scenario(malformed_every=17), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        good = {s.review.id for s in sim.ebay.visible("shop", ORIGIN) if s.review.malformed is None}
        created = [e.item_id for e in r.events() if e.event_type == "review.created"]
        assert set(created) <= good and len(created) == len(set(created))
        assert r.deadletters.published
        for _ in range(8):
            sim.clock.advance(1800)
            await poll_until_caught_up(r)
        events = r.events()
        assert len({e.event_id for e in events}) == len(events)
        now = sim.clock.now()
        states = {s.review.id: s for s in sim.ebay.visible("shop", now) if s.review.malformed is None}
        withdrawn = {i for i, s in states.items() if s.withdrawn}
        deleted = [e.item_id for e in events if e.event_type == "review.deleted"]
        assert withdrawn and set(deleted) == withdrawn and len(deleted) == len(set(deleted))
        updated = [e for e in events if e.event_type == "review.updated"]
        assert any(e.merchant_reply is not None for e in updated)
        assert any("Follow-up:" in (e.text or "") for e in updated)
        # Everything visible now was published as created at some point.
        assert {e.item_id for e in events if e.event_type == "review.created"} >= set(states) - withdrawn


async def test_failures_are_retried_and_a_revoked_token_is_an_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """429 and 503 answers are retried; a refresh token eBay refuses is a clear AuthError."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=4), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        visible = {s.review.id for s in sim.ebay.visible("shop", ORIGIN)}
        assert {e.item_id for e in r.events()} and {e.item_id for e in r.events()} <= visible
        with pytest.raises(AuthError, match="shop/ebay"):
            await rig(sim, http, registry, refresh="v^1.1#revoked").poller.poll_once()
