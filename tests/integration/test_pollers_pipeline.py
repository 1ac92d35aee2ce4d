"""Pollers against the real simulator, Kafka and PostgreSQL: every review exactly once, bad ones dead-lettered."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.pollers.app import PollerApp
from services.shared import codec
from services.shared.config import Config, parse_config
from services.shared.http import HttpServer
from services.shared.kafka import BatchConsumer, ConsumerSettings
from services.shared.settings import Settings
from services.shared.timeutil import parse_rfc3339
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import (
    Faults,
    MerchantProfile,
    Scenario,
    StormWindow,
    TrustpilotAccount,
    demo_scenario,
)
from tests.conftest import TEST_SESSION_TIMEOUT_MS

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
MERCHANT = "shop"
SOURCE_ID = "shop/trustpilot"
# Deadline for the pipeline to catch up: a guard against hanging, not a speed assertion.
CATCH_UP_SECONDS = 25.0


def world() -> Scenario:
    """6 h of history, a storm, every 13th review malformed and every 11th reviews call rate limited."""
    merchant = MerchantProfile(
        MERCHANT,
        "Shop",
        "Europe/Amsterdam",
        TrustpilotAccount("bu-shop"),
        baseline_per_hour=40,
        storms=(StormWindow(30 * 60, 30 * 60, 150.0),),
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=6 * 3600,
        duration_seconds=2 * 3600,
        faults=Faults(malformed_every=13, rate_limit_every=11, retry_after_seconds=1),
    )


def config_for(sim: SimulatorApp, secret: str | None = None) -> Config:
    api_key, api_secret = sim.credentials_for(MERCHANT)
    return parse_config(
        {
            "merchants": [{"id": MERCHANT, "timezone": "Europe/Amsterdam"}],
            "sources": [
                {
                    "id": SOURCE_ID,
                    "merchant": MERCHANT,
                    "platform": "trustpilot",
                    "base_url": sim.url,
                    "poll_interval_seconds": 0.05,
                    # More than the simulated history: the backfill covers every review.
                    "backfill_hours": 1000,
                    "credentials": {"api_key": api_key, "api_secret": secret or api_secret},
                    # Small pages exercise paging; a generous bucket keeps the test quick.
                    "options": {
                        "business_unit_id": "bu-shop",
                        "per_page": 20,
                        "rate_limit_per_second": 500,
                        "rate_limit_burst": 50,
                    },
                }
            ],
        }
    )


def poller_app(
    settings: Settings, config: Config, registry: CollectorRegistry, http: HttpServer | None = None
) -> PollerApp:
    server = http or HttpServer(registry, port=0)
    return PollerApp(settings, config, registry=registry, http=server, serve_http=http is not None)


class Topics:
    """Collects everything published to the reviews and dead-letter topics."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.reviews: list[bytes] = []
        self.deadletters: list[bytes] = []
        self._names = settings.topics
        self._consumer = BatchConsumer(
            ConsumerSettings(
                settings.require_kafka(),
                group_id=group,
                topics=(settings.topics.reviews, settings.topics.deadletter),
                session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=1000,
                fetch_max_wait_ms=20,
            )
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def drain(self) -> None:
        for tp, records in (await self._consumer.getmany(timeout_ms=200)).items():
            target = self.reviews if tp.topic == self._names.reviews else self.deadletters
            target.extend(record.value for record in records)

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(CATCH_UP_SECONDS):
            while not condition():
                await self.drain()

    def item_ids(self) -> Counter[str]:
        return Counter(codec.decode_review(value).item_id for value in self.reviews)


async def advance(sim: SimulatorApp, minutes: int, steps: int) -> None:
    """Move simulated time in steps, letting polls run in between so reviews arrive over many polls."""
    for _ in range(steps):
        sim.clock.advance(minutes * 60 / steps)
        await asyncio.sleep(0.1)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def polls_ok(registry: CollectorRegistry) -> float:
    return sample(registry, "stormwatch_polls_total", platform="trustpilot", outcome="ok")


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until `check()` holds; the deadline only guards against a hang."""
    async with asyncio.timeout(CATCH_UP_SECONDS):
        while True:
            if check():
                return
            await asyncio.sleep(0.05)


async def settle(registry: CollectorRegistry, topics: Topics, polls: int = 3) -> None:
    """Let a few more polls pass after catching up, then read everything: a duplicate would show up now."""
    target = polls_ok(registry) + polls
    await eventually(lambda: polls_ok(registry) >= target)
    await topics.drain()
    await topics.drain()


async def test_every_review_is_published_exactly_once(
    test_settings: Settings, registry: CollectorRegistry, unique: str, db_pool: asyncpg.Pool
) -> None:
    """Backfill plus live polling publish each well-formed review once; malformed ones are dead-lettered once."""
    topics = Topics(test_settings, f"g{unique}-check")
    await topics.start()
    try:
        sim = SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN))
        async with sim, poller_app(test_settings, config_for(sim), registry):
            await advance(sim, minutes=90, steps=9)
            visible = sim.visible_reviews(MERCHANT)
            good = {r.id for r in visible if r.malformed is None}
            malformed = [r for r in visible if r.malformed is not None]
            await topics.until(lambda: len(topics.reviews) >= len(good) and len(topics.deadletters) >= len(malformed))
            await settle(registry, topics)
    finally:
        await topics.stop()

    assert len(visible) > 250 and any(r.storm for r in visible)
    published = topics.item_ids()
    assert set(published) == good
    assert max(published.values()) == 1
    records = [codec.decode_deadletter(value) for value in topics.deadletters]
    assert len(records) == len(malformed)
    assert {r.reason for r in records} == {"normalisation_failed"}
    assert all(
        r.context == {"merchant_id": MERCHANT, "platform": "trustpilot", "source_id": SOURCE_ID} for r in records
    )
    # 429s were met and waited out, never fatal.
    assert sample(registry, "stormwatch_poll_errors_total", platform="trustpilot", reason="rate_limited") > 0
    assert sample(registry, "stormwatch_rate_limit_waits_total", platform="trustpilot") > 0
    assert sample(registry, "stormwatch_reviews_published_total", platform="trustpilot") == len(good)
    assert sample(registry, "stormwatch_source_last_success_timestamp_seconds", platform="trustpilot",
                  source=SOURCE_ID) > 0  # fmt: skip
    stored = await db_pool.fetchrow(
        "SELECT cursor, last_success_at FROM source_cursors WHERE source_id = $1", SOURCE_ID
    )
    assert stored is not None and stored["last_success_at"] is not None


async def test_restart_mid_run_neither_loses_nor_repeats(
    test_settings: Settings, registry: CollectorRegistry, unique: str
) -> None:
    """Stopping the pollers while time moves and starting a fresh app resumes from the stored cursor exactly."""
    topics = Topics(test_settings, f"g{unique}-check")
    await topics.start()
    try:
        async with SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
            config = config_for(sim)
            first = poller_app(test_settings, config, registry)
            await first.start()
            try:
                await advance(sim, minutes=40, steps=4)
                history = sum(1 for r in sim.visible_reviews(MERCHANT) if r.malformed is None)
                await topics.until(lambda: len(topics.reviews) >= history // 2)
                sim.clock.advance(20 * 60)  # new reviews appear while the first app goes down
            finally:
                await first.stop()
            http = HttpServer(registry, port=0)
            async with poller_app(test_settings, config, registry, http), aiohttp.ClientSession() as client:
                await advance(sim, minutes=60, steps=6)
                good = {r.id for r in sim.visible_reviews(MERCHANT) if r.malformed is None}
                await topics.until(lambda: len(topics.reviews) >= len(good))
                await settle(registry, topics)
                # Served alone, the app answers its own health, readiness and metrics.
                async with client.get(http.url + "/readyz") as response:
                    assert response.status == 200
                    assert (await response.json())["checks"]["pollers"]["ok"] is True
                async with client.get(http.url + "/healthz") as response:
                    assert response.status == 200
                async with client.get(http.url + "/metrics") as response:
                    assert "stormwatch_reviews_published_total" in await response.text()
    finally:
        await topics.stop()

    published = topics.item_ids()
    assert set(published) == good
    assert max(published.values()) == 1


async def test_wrong_credentials_are_auth_errors_not_crashes(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """A rejected API secret shows up as poll errors with reason auth_error; the service keeps running."""
    async with SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        app = poller_app(test_settings, config_for(sim, secret="not-the-secret"), registry)
        async with app:
            labels = {"platform": "trustpilot", "reason": "auth_error"}
            await eventually(lambda: sample(registry, "stormwatch_poll_errors_total", **labels) >= 2)
            assert app.is_alive()
            assert app.pollers[0].consecutive_failures >= 1
    assert sample(registry, "stormwatch_polls_total", platform="trustpilot", outcome="error") >= 2
    assert sample(registry, "stormwatch_reviews_published_total", platform="trustpilot") == 0
    unauthorised: dict[str, Any] = {"platform": "trustpilot", "status": "401"}
    assert (registry.get_sample_value("stormwatch_simulator_requests_total", unauthorised) or 0) >= 2


async def test_demo_world_at_speed_is_backfilled_without_gaps(
    test_settings: Settings, registry: CollectorRegistry, unique: str, db_pool: asyncpg.Pool
) -> None:
    """The demo scenario on its own running clock, polled with backfill_hours = its 48 h of history, as the local
    run does: everything up to the stored high-water mark is published once, from the very first review on."""
    topics = Topics(test_settings, f"g{unique}-check")
    await topics.start()
    try:
        async with SimulatorApp(demo_scenario(speed=900.0, seed=11), registry=registry) as sim:
            api_key, api_secret = sim.credentials_for("demo-shop")
            config = parse_config(
                {
                    "merchants": [{"id": "demo-shop", "timezone": "Europe/Amsterdam"}],
                    "sources": [
                        {
                            "id": "demo-shop/trustpilot",
                            "merchant": "demo-shop",
                            "platform": "trustpilot",
                            "base_url": sim.url,
                            "poll_interval_seconds": 0.2,
                            "backfill_hours": 48,
                            "credentials": {"api_key": api_key, "api_secret": api_secret},
                            "options": {"business_unit_id": "bu-demo-shop"},
                        }
                    ],
                }
            )
            async with poller_app(test_settings, config, registry):
                await eventually(lambda: sim.clock.elapsed_seconds() >= 70 * 60)  # past the storm (20..65 min)
            stored = await db_pool.fetchval(
                "SELECT cursor::text FROM source_cursors WHERE source_id = $1", "demo-shop/trustpilot"
            )
            mark = orjson.loads(stored)
            since = parse_rfc3339(mark["since"])
            everything = sim.all_reviews("demo-shop")
        covered = {
            r.id
            for r in everything
            if r.malformed is None
            and (r.created_at < since or (r.created_at == since and r.id in mark["ids_at_since"]))
        }
        await topics.until(lambda: len(topics.reviews) >= len(covered))
        await topics.drain()
    finally:
        await topics.stop()
    published = topics.item_ids()
    assert set(published) == covered
    assert max(published.values()) == 1
    assert any(r.storm and r.id in covered for r in everything)
    # The oldest review of the 48 h history made it, although the simulated clock ran while the pollers booted.
    assert next(r for r in everything if r.malformed is None).id in published
