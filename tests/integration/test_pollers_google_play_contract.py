"""The Google Play adapter against the simulated Developer API: service-account JWT, token paging, edits, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import CollectorRegistry

from services.pollers.adapters.http import AuthError
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.google_business import ReviewState
from services.simulator.scenario import Faults, MerchantProfile, PlayApp, Scenario, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop",
        "Shop",
        "UTC",
        TrustpilotAccount("bu-shop"),
        baseline_per_hour=1,
        google_play=PlayApp("com.shop.app", 15),
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=24 * 3600,
        duration_seconds=12 * 3600,
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
    key_json: str | None = None,
    max_results: int = 40,
    max_pages: int = 50,
    timeout: float = 5.0,
) -> Rig:
    config = SourceConfig(
        id="shop/google_play",
        merchant_id="shop",
        platform="google_play",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=48,
        credentials={"service_account_json": Secret(key_json or sim.google_play_service_account_for("shop"))},
        options={"package_name": "com.shop.app", "max_results": max_results},
    )
    return rig_for(config, http, registry, max_pages, timeout)


def truth(sim: SimulatorApp) -> dict[str, ReviewState]:
    states = sim.google_play.visible("shop", sim.clock.now())
    return {f"gp:{s.review.id}": s for s in states if s.review.malformed is None}


async def test_backfill_pages_by_token_and_publishes_each_review_once(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """`tokenPagination.nextPageToken` paging: each review with text once, malformed ones dead-lettered."""
    async with SimulatorApp(scenario(malformed_every=13), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        expected = truth(sim)
        assert sorted(e.item_id for e in r.events()) == sorted(expected)
        for event in r.events():
            assert event.rating == expected[event.item_id].stars and event.text
        malformed = [s for s in sim.google_play.visible("shop", sim.clock.now()) if s.review.malformed]
        assert len(r.deadletters.published) == len(malformed) > 0
        assert "sweep" not in (r.cursors.stored or {})
        assert (await r.poller.poll_once()).published == 0


async def test_new_reviews_developer_replies_and_edits_arrive_as_created_and_updated(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Later polls publish new reviews as created; replies and raised ratings (lastModified moves) as updated."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        before = len(r.events())
        sim.clock.advance(6 * 3600)
        await poll_until_caught_up(r)
        later = r.events()[before:]
        assert any(e.event_type == "review.created" for e in later)
        assert any(e.event_type == "review.updated" for e in later)
        latest: dict[str, Any] = {e.item_id: e for e in r.events()}
        for review_id, state in truth(sim).items():
            assert latest[review_id].rating == state.stars
            assert (latest[review_id].merchant_reply is not None) == (state.reply_at is not None)


async def test_a_restart_mid_sweep_resumes_without_gaps_or_repeats(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """With one page per poll the sweep (next token, mark so far) is stored; a new poller on it finishes the job."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        first = rig(sim, http, registry, max_results=10, max_pages=1)
        assert (await first.poller.poll_once()).more
        assert "sweep" in (first.cursors.stored or {})
        second = rig(sim, http, CollectorRegistry(), max_results=10, max_pages=1)
        second.cursors.stored = first.cursors.stored
        await poll_until_caught_up(second)
        ids = [e.item_id for e in first.events() + second.events()]
        assert sorted(ids) == sorted(truth(sim)) and len(ids) == len(set(ids))


async def test_a_key_google_does_not_know_is_an_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """An assertion signed with another key (400 invalid_grant) fails the poll with AuthError naming the source."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        genuine = orjson.loads(sim.google_play_service_account_for("shop"))
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        genuine["private_key"] = other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        r = rig(sim, http, registry, key_json=orjson.dumps(genuine).decode())
        with pytest.raises(AuthError, match="shop/google_play"):
            await r.poller.poll_once()


async def test_an_expired_access_token_is_renewed(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A token the API stops accepting (401) is exchanged for a new one once, and the poll succeeds."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        sim.google_play.expire_tokens()
        sim.clock.advance(3600)
        await poll_until_caught_up(r)
        assert r.poller.consecutive_failures == 0
        assert sorted({e.item_id for e in r.events()}) == sorted(truth(sim))


async def test_quota_errors_unavailable_and_slow_answers_are_retried(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE and answers slower than the timeout are retried; nothing is lost."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=5, slow_every=4, slow_seconds=1),
        registry=registry,
        clock=SimClock.manual(ORIGIN),
    ) as sim:
        r = rig(sim, http, registry, max_results=20, timeout=0.3)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        for reason in ("rate_limited", "timeout"):
            labels = {"platform": "google_play", "reason": reason}
            assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0
