"""/readyz of the pollers: not ready once a source has not polled successfully for too long (on an injected clock)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from services.pollers.app import STARTUP_GRACE_SECONDS, PollerApp
from services.shared.http import HttpServer
from services.shared.settings import Settings
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from tests.integration.test_pollers_pipeline import ORIGIN, SOURCE_ID, config_for, eventually, polls_ok, sample, world


@dataclass
class FakeMonotonic:
    now: float = 10_000.0

    def __call__(self) -> float:
        return self.now


async def readiness(client: aiohttp.ClientSession, http: HttpServer) -> tuple[int, dict[str, Any]]:
    async with client.get(http.url + "/readyz") as response:
        body = await response.json()
        return response.status, body["checks"]["pollers"]


async def test_a_source_that_never_succeeds_makes_the_service_unready_after_the_grace(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """Wrong credentials: ready during the start-up grace, then 503 naming the source whose polls keep failing."""
    clock = FakeMonotonic()
    async with SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        http = HttpServer(registry, port=0)
        config = config_for(sim, secret="not-the-secret")
        app = PollerApp(test_settings, config, registry=registry, http=http, monotonic=clock)
        async with app, aiohttp.ClientSession() as client:
            labels = {"platform": "trustpilot", "reason": "auth_error"}
            await eventually(lambda: sample(registry, "stormwatch_poll_errors_total", **labels) >= 1)
            status, check = await readiness(client, http)
            assert (status, check["ok"]) == (200, True)
            clock.now += STARTUP_GRACE_SECONDS + 1
            status, check = await readiness(client, http)
            assert status == 503 and check["ok"] is False
            assert check["detail"] == f"no recent successful poll: {SOURCE_ID}"


async def test_a_source_that_stops_succeeding_makes_the_service_unready(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """Ready while polls succeed; once the platform is gone and max(60 s, 5 intervals) pass without a successful
    poll, /readyz says which source is stale; /healthz stays fine (the loop lives)."""
    clock = FakeMonotonic()
    http = HttpServer(registry, port=0)
    errors = {"platform": "trustpilot", "outcome": "error"}
    sim = SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN))
    await sim.start()
    app = PollerApp(test_settings, config_for(sim), registry=registry, http=http, monotonic=clock)
    async with aiohttp.ClientSession() as client:
        try:
            await app.start()
            await eventually(lambda: polls_ok(registry) >= 1)
            await sim.stop()
            status, check = await readiness(client, http)
            assert (status, check["ok"]) == (200, True)
            failed = sample(registry, "stormwatch_polls_total", **errors)
            await eventually(lambda: sample(registry, "stormwatch_polls_total", **errors) > failed)
            clock.now += 61.0  # past the window: max(60 s, 5 x 0.05 s)
            status, check = await readiness(client, http)
            assert status == 503 and check["detail"] == f"no recent successful poll: {SOURCE_ID}"
            async with client.get(http.url + "/healthz") as response:
                assert response.status == 200
        finally:
            await app.stop()
            await sim.stop()
