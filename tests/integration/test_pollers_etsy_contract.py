"""The Etsy adapter against the simulated Open API v3: transaction dedupe, offsets, quota headers, failures."""

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
from services.simulator.scenario import EtsyShop, Faults, MerchantProfile, Scenario, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1, etsy=EtsyShop("777", 40)
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
        id="shop/etsy",
        merchant_id="shop",
        platform="etsy",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=24,
        credentials={"api_key": Secret(key or sim.etsy_api_key_for("shop"))},
        options={"shop_id": "777", "limit": 25},
    )
    return rig_for(config, http, registry)


def truth(sim: SimulatorApp) -> list[str]:
    return sorted(r.id for r in sim.visible_reviews("shop", platform="etsy") if r.malformed is None)


async def test_backfill_then_increments_publish_each_transaction_once(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Every review once, keyed by its transaction id; malformed ones dead-lettered; later polls add only new ones."""
    async with SimulatorApp(scenario(malformed_every=11), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == truth(sim)
        malformed = [x for x in sim.visible_reviews("shop", platform="etsy") if x.malformed]
        assert len(r.deadletters.published) == len(malformed) > 0
        sim.clock.advance(3 * 3600)
        await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert sorted(ids) == truth(sim) and len(ids) == len(set(ids))
        assert all(e.created_at.endswith("Z") and e.rating is not None for e in r.events())


async def test_429_without_headers_and_503_are_retried(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Etsy's bare 429 (no quota headers) and 503 are retried with backoff; nothing is lost."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=4), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == truth(sim)
        assert (registry.get_sample_value("stormwatch_rate_limit_waits_total", {"platform": "etsy"}) or 0) > 0


async def test_wrong_api_key_is_a_clear_auth_error(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A key Etsy refuses fails the poll with AuthError naming the credentials to check."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, key="wrong")
        with pytest.raises(AuthError, match="credentials"):
            await r.poller.poll_once()
