"""The shared HTTP server: metrics, health, readiness, and handlers a restarted service can take over."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.shared import metrics
from services.shared.http import HttpServer


async def test_metrics_health_and_readiness(registry: CollectorRegistry) -> None:
    """/metrics shows the registry, /healthz follows liveness checks, /readyz is 503 while any check fails."""
    counter = metrics.counter(registry, "stormwatch_test_things_total", "Things.", ["kind"])
    counter.labels(kind="a").inc(3)
    state = {"ready": False, "alive": True}

    async def ready() -> tuple[bool, str]:
        return state["ready"], "waiting for partitions" if not state["ready"] else "ok"

    server = HttpServer(registry, port=0)
    server.add_readiness_check("partitions", ready)
    server.add_liveness_check("loop", lambda: state["alive"])
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/metrics") as response:
                assert 'stormwatch_test_things_total{kind="a"} 3.0' in await response.text()
            async with session.get(f"{server.url}/readyz") as response:
                assert response.status == 503
                body = await response.json()
                assert body["checks"]["partitions"] == {"ok": False, "detail": "waiting for partitions"}
            state["ready"] = True
            async with session.get(f"{server.url}/readyz") as response:
                assert response.status == 200
            async with session.get(f"{server.url}/healthz") as response:
                assert response.status == 200
            state["alive"] = False
            async with session.get(f"{server.url}/healthz") as response:
                assert response.status == 503
    finally:
        await server.stop()


async def test_restarted_service_takes_over_its_routes(registry: CollectorRegistry) -> None:
    """Registering the same path again after start swaps the handler; a brand-new path after start is refused."""

    def handler(text: str) -> web.RouteDef:
        async def answer(_request: web.Request) -> web.Response:
            return web.Response(text=text)

        return web.get("/api/thing", answer)

    server = HttpServer(registry, port=0)
    server.add_routes([handler("first instance")])
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/api/thing") as response:
                assert await response.text() == "first instance"
            server.add_routes([handler("second instance")])
            async with session.get(f"{server.url}/api/thing") as response:
                assert await response.text() == "second instance"

        async def other(_request: web.Request) -> web.Response:
            return web.Response(text="never")

        try:
            server.add_routes([web.get("/api/other", other)])
        except RuntimeError as exc:
            assert "after the server started" in str(exc)
        else:
            raise AssertionError("adding a new path after start must fail loudly")
    finally:
        await server.stop()
