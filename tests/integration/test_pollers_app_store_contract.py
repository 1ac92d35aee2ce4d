"""The App Store Connect adapter against the simulated API: ES256 JWTs, links.next paging, responses, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import CollectorRegistry

from services.pollers.adapters.http import AuthError
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from services.shared.timeutil import format_rfc3339
from services.simulator.app import SimulatorApp
from services.simulator.app_store import response_at
from services.simulator.clock import SimClock
from services.simulator.scenario import AppStoreApp, Faults, MerchantProfile, Scenario, TrustpilotAccount
from services.simulator.timeline import SimReview
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1, app_store=AppStoreApp("1234567", 12)
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=24 * 3600,
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
    private_key: str | None = None,
    limit: int = 50,
    max_pages: int = 50,
    timeout: float = 5.0,
) -> Rig:
    issuer, key_id, pem = sim.app_store_credentials_for("shop")
    config = SourceConfig(
        id="shop/app_store",
        merchant_id="shop",
        platform="app_store",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=48,
        credentials={"issuer_id": Secret(issuer), "key_id": Secret(key_id), "private_key": Secret(private_key or pem)},
        options={"app_id": "1234567", "limit": limit},
    )
    return rig_for(config, http, registry, max_pages, timeout)


def truth(sim: SimulatorApp) -> dict[str, SimReview]:
    return {r.id: r for r in sim.visible_reviews("shop", platform="app_store") if r.malformed is None}


async def test_backfill_follows_links_next_and_keeps_responses(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Every review once (title, body, territory, UTC time), published responses attached, malformed dead-lettered."""
    async with SimulatorApp(scenario(malformed_every=11), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        expected = truth(sim)
        assert sorted(e.item_id for e in r.events()) == sorted(expected)
        for event in r.events():
            review = expected[event.item_id]
            assert event.created_at == format_rfc3339(review.created_at)
            assert event.title == review.title and event.rating == review.stars and event.attributes["territory"]
            answered = response_at(review)
            assert (event.merchant_reply is not None) == (answered is not None and answered < ORIGIN)
        malformed = [x for x in sim.visible_reviews("shop", platform="app_store") if x.malformed]
        assert len(r.deadletters.published) == len(malformed) > 0
        assert (await r.poller.poll_once()).published == 0


async def test_later_polls_publish_only_new_reviews_and_resume_a_stored_sweep(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """A sweep cut by the page budget resumes from the stored links.next in a new poller: no gaps, no repeats."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        first = rig(sim, http, registry, limit=10, max_pages=1)
        await poll_until_caught_up(first)
        sim.clock.advance(4 * 3600)
        assert (await first.poller.poll_once()).more
        assert "sweep" in (first.cursors.stored or {})
        second = rig(sim, http, CollectorRegistry(), limit=10, max_pages=1)
        second.cursors.stored = first.cursors.stored
        await poll_until_caught_up(second)
        ids = [e.item_id for e in first.events() + second.events()]
        assert sorted(ids) == sorted(truth(sim)) and len(ids) == len(set(ids))


async def test_a_key_apple_does_not_know_is_an_auth_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """A JWT signed with another .p8 key (401 NOT_AUTHORIZED, twice) fails the poll naming the credentials."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        r = rig(sim, http, registry, private_key=other.decode())
        with pytest.raises(AuthError, match="credentials"):
            await r.poller.poll_once()
        assert r.producer.sent == []


async def test_429_and_503_are_retried_and_nothing_is_lost(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """RATE_LIMIT_EXCEEDED and SERVICE_UNAVAILABLE answers are retried with backoff; the backfill completes."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=4), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry, limit=20)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "app_store", "reason": "rate_limited"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0


async def test_slow_answers_time_out_and_are_retried(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """An answer slower than the request timeout counts as a timeout and the page is fetched again; nothing lost."""
    async with SimulatorApp(
        scenario(slow_every=3, slow_seconds=1), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = rig(sim, http, registry, timeout=0.3)
        await poll_until_caught_up(r)
        assert sorted(e.item_id for e in r.events()) == sorted(truth(sim))
        labels = {"platform": "app_store", "reason": "timeout"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0
