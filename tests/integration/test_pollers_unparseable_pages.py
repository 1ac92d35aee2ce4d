"""Every JSON adapter reports a page it cannot read (not JSON, or JSON without the documented shape) as an
UnparseablePage carrying the raw bytes, so the poll loop retries it and then dead-letters exactly what was served."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import PageRequest
from services.pollers.adapters.http import HttpResponse, PlatformClient, UnparseablePage
from services.pollers.adapters.registry import build_adapter
from services.pollers.ratelimit import TokenBucket
from services.shared.config import parse_config
from services.shared.errors import Reason
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import demo_scenario
from services.simulator.sources import simulated_sources

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# The JSON platforms (feeds dead-letter a document they cannot parse as an item of its own).
PLATFORMS = (
    "trustpilot", "google_business", "etsy", "yelp", "ebay", "taobao", "ecwid", "google_play", "app_store",
    "facebook", "x",
)  # fmt: skip


@dataclass
class Tampering:
    """The real HTTP client, except that every non-token answer's body is replaced by `body`."""

    client: PlatformClient
    body: bytes

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        response = await self.client.request(method, url, headers=headers, params=params, data=data)
        if "token" in url:  # OAuth token endpoints answer as usual
            return response
        return HttpResponse(200, response.headers, self.body)


@pytest_asyncio.fixture(loop_scope="session")
async def sim(registry: CollectorRegistry) -> AsyncIterator[SimulatorApp]:
    async with SimulatorApp(demo_scenario(origin=ORIGIN), registry=registry, clock=SimClock.manual(ORIGIN)) as app:
        yield app


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"[1, 2, 3]"], ids=["not_json", "wrong_shape"])
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_an_unreadable_page_is_an_unparseable_page_with_its_bytes(
    sim: SimulatorApp, platform: str, body: bytes
) -> None:
    """The demo merchant's source on each platform, served `body` instead of its page: UnparseablePage (retriable)
    with the exact bytes, reason malformed_json for non-JSON and schema_invalid for JSON of the wrong shape."""
    config = parse_config(
        {
            "merchants": [{"id": "demo-shop", "timezone": "Europe/Amsterdam"}],
            "sources": simulated_sources(sim, "demo-shop", poll_interval_seconds=60),
        }
    )
    index, source = next((i, s) for i, s in enumerate(config.sources) if s.platform == platform)
    adapter = build_adapter(source, index)
    async with aiohttp.ClientSession() as session:
        client = PlatformClient(session, platform, TokenBucket(1000, 1000), timeout_seconds=5)
        with pytest.raises(UnparseablePage) as caught:
            await adapter.fetch_page(Tampering(client, body), PageRequest(None))
    assert caught.value.retriable and caught.value.body == body
    expected = Reason.MALFORMED_JSON if body.startswith(b"<") else Reason.SCHEMA_INVALID
    assert caught.value.reason is expected
