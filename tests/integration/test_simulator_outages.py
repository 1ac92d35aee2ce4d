"""Scenario outages: a platform answers 503 to everything for a while; pollers keep their cursors and catch up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.shared.errors import ConfigError
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import (
    EtsyShop,
    MerchantProfile,
    Outage,
    Scenario,
    TrustpilotAccount,
    parse_scenario,
)
from tests.integration.test_pollers_etsy_contract import rig, truth
from tests.integration.test_pollers_google_business_contract import poll_until_caught_up

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ETSY_DOWN = Outage(start_offset_seconds=3600, duration_seconds=1800, platform="etsy")


def scenario(*outages: Outage) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1, etsy=EtsyShop("777", 40)
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=4 * 3600,
        duration_seconds=4 * 3600,
        outages=outages,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_poller_keeps_its_cursor_through_an_outage_and_catches_up_without_gaps(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Polls during the outage fail (503 on every attempt) and leave the stored cursor where it was; the first
    poll after it publishes everything created meanwhile, each review once."""
    async with SimulatorApp(scenario(ETSY_DOWN), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        before = dict(r.cursors.stored or {})
        published = len(r.events())
        assert published > 0

        sim.clock.advance(3600 + 600)  # 10 minutes into the outage
        with pytest.raises(Exception, match="503"):
            await r.poller.poll_once()
        assert r.cursors.stored == before and len(r.events()) == published
        assert (
            registry.get_sample_value("stormwatch_simulator_requests_total", {"platform": "etsy", "status": "503"}) or 0
        ) >= 1

        sim.clock.advance(1800)  # the outage is over
        await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert sorted(ids) == truth(sim) and len(ids) == len(set(ids))
        assert len(ids) > published


async def test_outage_of_one_platform_leaves_the_others_up(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """During Etsy's outage Trustpilot's routes answer as usual; a platform-less outage takes every platform down."""
    everything_down = Outage(start_offset_seconds=7200, duration_seconds=600)
    async with SimulatorApp(
        scenario(ETSY_DOWN, everything_down), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        etsy = f"{sim.url}/v3/application/shops/777/reviews"
        trustpilot = f"{sim.url}/v1/private/business-units/bu-shop/reviews"  # unauthenticated: 401 while up
        sim.clock.advance(3600 + 60)
        async with http.get(etsy) as during:
            assert during.status == 503
        async with http.get(trustpilot) as other:
            assert other.status == 401
        sim.clock.advance(3600)
        async with http.get(trustpilot) as all_down:
            assert all_down.status == 503
        sim.clock.advance(600)
        async with http.get(trustpilot) as back:
            assert back.status == 401


def test_scenario_yaml_describes_outages_in_minutes() -> None:
    """`faults.outages` in a scenario file: start and length in minutes, platform optional; bad keys are named."""
    document = {
        "merchants": [{"id": "m", "trustpilot": {"business_unit_id": "bu-m"}}],
        "faults": {"rate_limit_every": 5, "outages": [{"platform": "etsy", "start_minutes": 30, "minutes": 15}]},
    }
    parsed = parse_scenario(document)
    assert parsed.outages == (Outage(start_offset_seconds=1800, duration_seconds=900, platform="etsy"),)
    assert parsed.faults.rate_limit_every == 5
    document["faults"] = {"outages": [{"start_minutes": 30}]}
    with pytest.raises(ConfigError, match="outages"):
        parse_scenario(document)


async def test_a_429_burst_is_retried_after_and_caught_up_without_gaps(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """An outage with status 429 is a burst of rate limiting: every Etsy call is refused with 429 and Retry-After,
    the poller counts rate-limit waits and errors, keeps its cursor, and publishes everything once after the burst."""
    burst = Outage(start_offset_seconds=3600, duration_seconds=600, platform="etsy", status=429)
    async with SimulatorApp(scenario(burst), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        before, published = dict(r.cursors.stored or {}), len(r.events())
        sim.clock.advance(3600 + 60)
        async with http.get(f"{sim.url}/v3/application/shops/777/reviews") as refused:
            assert refused.status == 429 and refused.headers["Retry-After"] == "1"
        with pytest.raises(Exception, match="429"):
            await r.poller.poll_once()
        assert r.cursors.stored == before and len(r.events()) == published
        waits = registry.get_sample_value("stormwatch_rate_limit_waits_total", {"platform": "etsy"})
        assert waits is not None and waits >= 1
        sim.clock.advance(600)
        await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert sorted(ids) == truth(sim) and len(ids) == len(set(ids)) and len(ids) > published


def test_scenario_yaml_describes_429_bursts() -> None:
    """`faults.outages[].status: 429` makes an outage a rate-limit burst; only 503 and 429 are accepted."""
    merchants = [{"id": "m", "trustpilot": {"business_unit_id": "bu-m"}}]
    burst = {"platform": "x", "start_minutes": 5, "minutes": 2, "status": 429}
    parsed = parse_scenario({"merchants": merchants, "faults": {"outages": [burst]}})
    assert parsed.outages == (Outage(start_offset_seconds=300, duration_seconds=120, platform="x", status=429),)
    with pytest.raises(ConfigError, match="status"):
        parse_scenario({"merchants": merchants, "faults": {"outages": [{**burst, "status": 500}]}})
