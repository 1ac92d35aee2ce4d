"""The Yelp adapter against the simulated Fusion API: three newest excerpts, no repeats, local time, failures."""

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
from services.shared.timeutil import format_rfc3339
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import Faults, MerchantProfile, Scenario, TrustpilotAccount, YelpBusiness
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ZONE = "America/New_York"


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", ZONE, TrustpilotAccount("bu-shop"), baseline_per_hour=1, yelp=YelpBusiness("shop-nyc", 6)
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=4 * 3600,
        duration_seconds=4 * 3600,
        faults=Faults(**faults),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def rig(sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry, *, key: str | None = None) -> Rig:
    config = SourceConfig(
        id="shop/yelp",
        merchant_id="shop",
        platform="yelp",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        timezone=ZONE,
        credentials={"api_key": Secret(key or sim.yelp_api_key_for("shop"))},
        options={"business_id": "shop-nyc"},
    )
    return rig_for(config, http, registry)


async def test_samples_the_three_newest_once_each_in_utc(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Each poll sees the three newest excerpts; repeated polls publish nothing twice; local times become UTC."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        await poll_until_caught_up(r)
        visible = sim.visible_reviews("shop", platform="yelp")
        assert [e.item_id for e in r.events()] == [v.id for v in visible[-3:]]
        for event, review in zip(r.events(), visible[-3:], strict=True):
            assert event.created_at == format_rfc3339(review.created_at)
        for _ in range(6):  # a poll every 10 simulated minutes catches every review of a 6-per-hour business
            sim.clock.advance(600)
            await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert len(ids) == len(set(ids))
        newer = {v.id for v in sim.visible_reviews("shop", platform="yelp") if v.created_at > ORIGIN}
        assert newer <= set(ids)


async def test_429_is_retried_and_a_bad_key_is_an_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """TOO_MANY_REQUESTS_PER_SECOND is retried; a refused API key is an AuthError naming the credentials."""
    async with SimulatorApp(scenario(rate_limit_every=2), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert len(r.events()) == 3
        with pytest.raises(AuthError, match="credentials"):
            await rig(sim, http, registry, key="nope").poller.poll_once()
