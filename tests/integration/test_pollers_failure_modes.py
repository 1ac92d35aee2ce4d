"""Every adapter against its simulator with 429s, 503s and slow answers all on: it publishes exactly what it publishes
on a healthy platform (nothing lost, nothing repeated), and the retries are counted by reason."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from types import ModuleType

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.pollers.adapters.http import PlatformClient
from services.pollers.ratelimit import TokenBucket
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import Faults, Scenario
from tests.integration import (
    test_pollers_app_store_contract,
    test_pollers_ebay_contract,
    test_pollers_ecwid_contract,
    test_pollers_etsy_contract,
    test_pollers_facebook_contract,
    test_pollers_feeds_contract,
    test_pollers_google_business_contract,
    test_pollers_google_play_contract,
    test_pollers_pipeline,
    test_pollers_taobao_contract,
    test_pollers_x_search_contract,
    test_pollers_yelp_contract,
)
from tests.integration.test_pollers_google_business_contract import ORIGIN, Rig, poll_until_caught_up, rig_for

MALFORMED_EVERY = 7
# Faults on the distinct primes 5, 7 and 11: at most three calls in a row fail, so even a page that takes two or
# three calls (a token, a floor, the reviews) gets through within MAX_ATTEMPTS. Retry-After 0 keeps the test quick.
FAULTS = {"server_error_every": 5, "slow_every": 7, "rate_limit_every": 11, "slow_seconds": 1, "retry_after_seconds": 0}
MAX_ATTEMPTS = 8
POLLS = 14
STEP_SECONDS = 600.0
TIMEOUT = 0.4  # under slow_seconds: a slow answer is a client timeout
RETRY_BASE_SECONDS = 0.02

Make = Callable[[SimulatorApp, aiohttp.ClientSession, CollectorRegistry], Rig]


def _trustpilot_scenario(**faults: int) -> Scenario:
    return dataclasses.replace(test_pollers_pipeline.world(), faults=Faults(**faults))


def _trustpilot_rig(sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry) -> Rig:
    return rig_for(test_pollers_pipeline.config_for(sim).sources[0], http, registry)


def _feeds_rig(sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry) -> Rig:
    return test_pollers_feeds_contract.rig(sim, http, registry, "/feeds/good-shop.rss")


def _facebook_scenario(**faults: int) -> Scenario:
    # The viral thread: enough Graph calls (feed and comment pages) to meet every fault.
    return test_pollers_facebook_contract.scenario(cascade=True, **faults)


def _module(module: ModuleType) -> tuple[Callable[..., Scenario], Make]:
    return module.scenario, module.rig


PLATFORMS: dict[str, tuple[Callable[..., Scenario], Make]] = {
    "trustpilot": (_trustpilot_scenario, _trustpilot_rig),
    "google_business": _module(test_pollers_google_business_contract),
    "facebook": (_facebook_scenario, test_pollers_facebook_contract.rig),
    "yelp": _module(test_pollers_yelp_contract),
    "ebay": _module(test_pollers_ebay_contract),
    "etsy": _module(test_pollers_etsy_contract),
    "ecwid": _module(test_pollers_ecwid_contract),
    "x": _module(test_pollers_x_search_contract),
    "taobao": _module(test_pollers_taobao_contract),
    "google_play": _module(test_pollers_google_play_contract),
    "app_store": _module(test_pollers_app_store_contract),
    "rss": (test_pollers_feeds_contract.scenario, _feeds_rig),
}


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _run(
    platform: str, faults: dict[str, int], registry: CollectorRegistry, http: aiohttp.ClientSession
) -> tuple[list[tuple[str, str, str]], int]:
    """Poll one source a while; (event type, item id, event id) of everything published, and how many were
    dead-lettered."""
    make_scenario, make_rig = PLATFORMS[platform]
    async with SimulatorApp(
        make_scenario(malformed_every=MALFORMED_EVERY, **faults), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        r = make_rig(sim, http, registry)
        # The same client as production, with a timeout shorter than the simulator's slow answers.
        r.poller._client = PlatformClient(http, platform, TokenBucket(1000, 1000), timeout_seconds=TIMEOUT)
        r.poller._options = dataclasses.replace(r.poller._options, max_attempts=MAX_ATTEMPTS)
        # The same exponential backoff with jitter, from 20 ms instead of 0.5 s: the retries are what is tested here
        # (their delays in tests/unit/test_pollers_ratelimit_backoff.py), and a run meets dozens of faults.
        r.poller._retry_backoff = dataclasses.replace(r.poller._retry_backoff, base=RETRY_BASE_SECONDS)
        # A backfill, then polls through a few simulated hours: sources that read one page a poll (Yelp's three
        # excerpts, a feed) meet every fault too.
        for _ in range(POLLS):
            await poll_until_caught_up(r)
            sim.clock.advance(STEP_SECONDS)
    published = sorted((e.event_type, e.item_id, e.event_id) for e in r.events())
    return published, len(r.deadletters.published)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_faults_lose_and_repeat_nothing(
    platform: str, registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """With every 5th call a 503, every 7th slower than the timeout and every 11th a 429 (Retry-After), the poller
    retries with backoff and ends with the same events and dead letters as against a healthy platform; the retries
    show in stormwatch_poll_errors_total by reason."""
    healthy, healthy_dead = await _run(platform, {}, CollectorRegistry(), http)
    faulty, faulty_dead = await _run(platform, FAULTS, registry, http)
    assert healthy, "the scenario publishes something"
    assert faulty == healthy
    assert len({event_id for _type, _item, event_id in faulty}) == len(faulty)  # no event published twice
    assert faulty_dead == healthy_dead
    errors = {
        reason: registry.get_sample_value("stormwatch_poll_errors_total", {"platform": platform, "reason": reason})
        for reason in ("server_error", "timeout")
    }
    assert all(count is not None and count >= 1 for count in errors.values()), errors
