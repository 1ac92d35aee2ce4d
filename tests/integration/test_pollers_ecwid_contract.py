"""The Ecwid adapter against the simulated REST API v3: updatedFrom sweeps, edits as updates, resume, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.pollers.adapters.http import AuthError
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.ecwid import EcwidState, review_id
from services.simulator.scenario import EcwidStore, Faults, MerchantProfile, Scenario, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1, ecwid=EcwidStore("4242", 20)
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=12 * 3600,
        duration_seconds=8 * 3600,
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
    token: str | None = None,
    limit: int = 30,
    max_pages: int = 50,
    timeout: float = 5.0,
) -> Rig:
    config = SourceConfig(
        id="shop/ecwid",
        merchant_id="shop",
        platform="ecwid",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=24,
        credentials={"token": Secret(token or sim.ecwid_token_for("shop"))},
        options={"store_id": "4242", "limit": limit},
    )
    return rig_for(config, http, registry, max_pages, timeout)


def truth(sim: SimulatorApp) -> dict[str, EcwidState]:
    states = sim.ecwid.visible("shop", sim.clock.now())
    return {str(review_id(s.review)): s for s in states if s.review.malformed is None}


async def test_backfill_publishes_each_review_once_and_dead_letters_malformed(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Offset paging through the store: each review once with its status; malformed ones dead-lettered."""
    async with SimulatorApp(scenario(malformed_every=9), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        expected = truth(sim)
        assert sorted(e.item_id for e in r.events()) == sorted(expected)
        assert {e.attributes["status"] for e in r.events()} <= {"published", "moderated"}
        malformed = [s for s in sim.ecwid.visible("shop", sim.clock.now()) if s.review.malformed]
        assert len(r.deadletters.published) == len(malformed) > 0
        assert "sweep" not in (r.cursors.stored or {})
        assert (await r.poller.poll_once()).published == 0


async def test_edited_reviews_come_back_as_updates_with_their_new_rating(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """An author's edit moves updateDate: the review is re-served (updatedFrom) and published as review.updated."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        before = len(r.events())
        sim.clock.advance(4 * 3600)
        await poll_until_caught_up(r)
        later = r.events()[before:]
        assert any(e.event_type == "review.updated" for e in later)
        assert any(e.event_type == "review.created" for e in later)
        latest: dict[str, Any] = {e.item_id: e for e in r.events()}
        for item_id, state in truth(sim).items():
            assert latest[item_id].rating == state.rating and latest[item_id].text == state.text


async def test_a_restart_mid_sweep_resumes_without_gaps_or_repeats(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """With one page per poll the sweep (offset, mark so far) is stored; a new poller on that cursor finishes it."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        first = rig(sim, http, registry, limit=10, max_pages=1)
        assert (await first.poller.poll_once()).more
        assert "sweep" in (first.cursors.stored or {})
        second = rig(sim, http, CollectorRegistry(), limit=10, max_pages=1)
        second.cursors.stored = first.cursors.stored
        await poll_until_caught_up(second)
        ids = [e.item_id for e in first.events() + second.events()]
        assert sorted(ids) == sorted(truth(sim)) and len(ids) == len(set(ids))


async def test_a_wrong_token_is_a_clear_auth_error(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A token Ecwid refuses (403) fails the poll with AuthError naming the credentials and the scope."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, token="secret_wrong")
        with pytest.raises(AuthError, match="read_reviews"):
            await r.poller.poll_once()


async def test_429_with_retry_after_and_503_are_retried(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Per-minute limit answers (429 + Retry-After) and 503s are retried; the backfill still completes."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=4), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "ecwid", "reason": "rate_limited"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0


async def test_slow_answers_time_out_and_are_retried(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """An answer slower than the request timeout counts as a timeout and the page is fetched again; nothing lost."""
    async with SimulatorApp(
        scenario(slow_every=3, slow_seconds=1), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry, timeout=0.3)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "ecwid", "reason": "timeout"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0
