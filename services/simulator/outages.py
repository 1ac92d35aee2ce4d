"""Scenario outages: while one covers a platform, every route of that platform answers 503 (down) or 429 (a burst
of rate limiting, with Retry-After), token endpoints too.

Applied by wrapping each platform's routes, so the per-platform API modules stay unaware of outages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

from aiohttp import web
from prometheus_client import Counter

from services.simulator.clock import SimClock
from services.simulator.scenario import Outage

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PlatformApi(Protocol):
    """One simulated platform: the routes it serves."""

    def routes(self) -> list[web.RouteDef]: ...


def with_outages(
    platform: str,
    routes: Iterable[web.RouteDef],
    *,
    outages: tuple[Outage, ...],
    origin: datetime,
    clock: SimClock,
    requests: Counter,
) -> list[web.RouteDef]:
    """`routes` unchanged when no outage names this platform, else each handler behind the outage check."""
    relevant = tuple(outage for outage in outages if outage.platform in (None, platform))
    if not relevant:
        return list(routes)

    def guard(handler: Handler) -> Handler:
        async def during_outage_or_handler(request: web.Request) -> web.StreamResponse:
            offset = (clock.now() - origin).total_seconds()
            current = next((outage for outage in relevant if outage.covers(platform, offset)), None)
            if current is None:
                return await handler(request)
            requests.labels(platform=platform, status=str(current.status)).inc()
            if current.status == 429:
                # A burst of throttling: every call refused, each with the platform-neutral hint to come back soon.
                headers = {"Retry-After": "1"}
                return web.Response(
                    status=429, text="429 Too Many Requests", content_type="text/plain", headers=headers
                )
            # A real outage says nothing useful: no Retry-After, an HTML-ish body, not the API's error shape.
            return web.Response(status=503, text="503 Service Unavailable", content_type="text/plain")

        return during_outage_or_handler

    return [web.route(route.method, route.path, guard(route.handler), **route.kwargs) for route in routes]
