"""The Taobao TOP adapter against the simulated gateway: signing, China time, window splitting, resume, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

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
from services.simulator.scenario import Faults, MerchantProfile, Scenario, TaobaoShop, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(per_hour: float = 20, **faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop",
        "Shop",
        "UTC",
        TrustpilotAccount("bu-shop"),
        baseline_per_hour=1,
        taobao=TaobaoShop("shop_nick", per_hour),
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=48 * 3600,
        duration_seconds=6 * 3600,
        faults=Faults(**faults),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def rig(
    sim: SimulatorApp,
    http: aiohttp.ClientSession,
    registry: CollectorRegistry,
    *,
    secret: str | None = None,
    sign_method: str = "md5",
    max_pages: int = 50,
    timeout: float = 5.0,
) -> Rig:
    app_key, app_secret, session = sim.taobao_credentials_for("shop")
    config = SourceConfig(
        id="shop/taobao",
        merchant_id="shop",
        platform="taobao",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        timezone="Asia/Shanghai",  # TOP sends Beijing wall time without an offset
        backfill_hours=48,
        credentials={
            "app_key": Secret(app_key),
            "app_secret": Secret(secret or app_secret),
            "session": Secret(session),
        },
        options={"page_size": 100, "sign_method": sign_method},
    )
    return rig_for(config, http, registry, max_pages, timeout)


def truth(sim: SimulatorApp) -> dict[str, datetime]:
    """Well-formed rates visible now: item id (tid:oid:role) -> creation instant."""
    return {r.id: r.created_at for r in sim.visible_reviews("shop", platform="taobao") if r.malformed is None}


async def test_backfill_then_increments_publish_each_rate_once_in_utc(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Every rate once with its Beijing time read as UTC; malformed ones dead-lettered; later polls add only new."""
    async with SimulatorApp(scenario(malformed_every=17), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        expected = truth(sim)
        assert sorted(e.item_id for e in r.events()) == sorted(expected)
        for event in r.events():
            assert event.created_at == format_rfc3339(expected[event.item_id])
            assert event.rating in {1.0, 3.0, 5.0}
        malformed = [x for x in sim.visible_reviews("shop", platform="taobao") if x.malformed]
        assert len(r.deadletters.published) == len(malformed) > 0
        assert "sweep" not in (r.cursors.stored or {})
        sim.clock.advance(3 * 3600)
        await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert sorted(ids) == sorted(truth(sim)) and len(ids) == len(set(ids))


async def test_windows_over_the_cap_are_split_until_every_rate_is_seen(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """A window holding more than 1,500 rates (TOP pages no further) is halved until each half is under the cap."""
    async with SimulatorApp(scenario(per_hour=60), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        assert len(truth(sim)) > 2 * 1500
        r = rig(sim, http, registry, sign_method="hmac", max_pages=200)
        await poll_until_caught_up(r)
        ids = [e.item_id for e in r.events()]
        assert sorted(ids) == sorted(truth(sim)) and len(ids) == len(set(ids))
        assert sim.taobao.capped_queries > 0


async def test_a_restart_mid_sweep_resumes_without_gaps_or_repeats(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """With one page per poll the sweep lives in the stored cursor; a new poller on that cursor finishes it."""
    async with SimulatorApp(scenario(per_hour=40), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        first = rig(sim, http, registry, max_pages=1)
        for _ in range(4):
            assert (await first.poller.poll_once()).more
        assert "sweep" in (first.cursors.stored or {})
        second = rig(sim, http, CollectorRegistry(), max_pages=1)
        second.cursors.stored = first.cursors.stored
        await poll_until_caught_up_slowly(second)
        ids = [e.item_id for e in first.events() + second.events()]
        assert sorted(ids) == sorted(truth(sim)) and len(ids) == len(set(ids))


async def poll_until_caught_up_slowly(r: Rig) -> None:
    for _ in range(400):
        if not (await r.poller.poll_once()).more:
            return
    raise AssertionError("never caught up")


async def test_call_limits_and_503_are_retried_and_nothing_is_lost(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """`App Call Limited` (error_response code 7, HTTP 200) waits out the ban; 503s are retried; nothing is lost."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=5), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "taobao", "reason": "rate_limited"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0


async def test_a_wrong_secret_fails_the_signature_as_an_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """A request signed with the wrong app secret (TOP code 25) fails the poll with AuthError, not a retry loop."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, secret="not-the-secret")
        with pytest.raises(AuthError, match="Invalid signature"):
            await r.poller.poll_once()
        assert r.producer.sent == []


async def test_an_expired_session_is_an_auth_error_naming_the_credentials(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """When the seller's session key lapses (code 27 invalid-sessionkey) the poll fails naming the credentials."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        sim.taobao.expire_sessions()
        sim.clock.advance(600)
        with pytest.raises(AuthError, match="credentials"):
            await r.poller.poll_once()


async def test_slow_answers_time_out_and_are_retried(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """An answer slower than the request timeout counts as a timeout and the page is fetched again; nothing lost."""
    async with SimulatorApp(
        scenario(slow_every=3, slow_seconds=1), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry, timeout=0.3)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "taobao", "reason": "timeout"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0


async def test_a_mark_older_than_180_days_is_clamped_to_the_horizon(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """TOP refuses start dates past 180 days: a stale stored mark starts the window at the horizon instead."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        r.cursors.stored = {"since": "2024-01-01T00:00:00Z", "ids_at_since": []}
        await poll_until_caught_up(r)
        assert r.poller.consecutive_failures == 0
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))


async def test_a_platform_clock_ahead_of_ours_does_not_push_the_first_window_past_the_horizon(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """The first backfill's window starts a margin inside the 180 days, so a TOP clock hours ahead of the poller's
    (the sped-up demo's simulator is) still accepts it: every rate arrives, no poll fails."""
    ahead = dataclasses.replace(scenario(), origin=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6))
    async with SimulatorApp(ahead, registry=registry, clock=SimClock.manual(ahead.origin)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert r.poller.consecutive_failures == 0
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim)) != []
