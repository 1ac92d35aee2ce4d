"""The simulated Graph and X v2 APIs answer in the platforms' shapes: paging, windows, lookups, errors, headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import FacebookPage, MerchantProfile, Scenario, TrustpilotAccount, XAccount

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PAGE = "104400000000042"


def world() -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1,
        facebook=FacebookPage(PAGE, posts_per_day=24, comments_per_hour=30), x=XAccount("shopnl", 30),
    )  # fmt: skip
    return Scenario(merchants=(merchant,), origin=ORIGIN, history_seconds=9 * 86400, duration_seconds=3600)


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, token: str, **params: str) -> tuple[int, Any, Any]:
    async with http.get(url, params=params, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json(), response.headers


async def test_graph_feed_and_comments_page_with_cursors_until_next_is_absent(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Feed newest first with paging.cursors.after and paging.next until the end; comments chronological with
    parents; usage headers on every answer; a bad token is error 190 (HTTP 400, or 200 when suppressed)."""
    async with SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        token = sim.facebook_token_for("shop")
        url = f"{sim.url}/v21.0/{PAGE}/feed"
        posts: list[dict[str, Any]] = []
        params = {"limit": "100"}
        while True:
            status, body, headers = await get(http, url, token, **params)
            assert status == 200 and "X-Business-Use-Case-Usage" in headers and "X-App-Usage" in headers
            posts.extend(body["data"])
            if "next" not in body.get("paging", {}):
                break
            params = {"limit": "100", "after": body["paging"]["cursors"]["after"]}
        times = [p["created_time"] for p in posts]
        assert times == sorted(times, reverse=True) and len(posts) == len(sim.facebook.visible_posts("shop", ORIGIN))
        busiest = max(posts, key=lambda p: p["comments"]["summary"]["total_count"])
        status, body, _ = await get(http, f"{sim.url}/v21.0/{busiest['id']}/comments", token,
                                    filter="stream", order="chronological", limit="100")  # fmt: skip
        assert len(body["data"]) == busiest["comments"]["summary"]["total_count"] > 0
        assert [c["created_time"] for c in body["data"]] == sorted(c["created_time"] for c in body["data"])
        status, body, _ = await get(http, url, "EAAGnope")
        assert status == 400 and body["error"]["code"] == 190
        status, body, _ = await get(http, url, "EAAGnope", suppress_http_code="1")
        assert status == 200 and body["error"]["type"] == "OAuthException"


async def test_x_recent_search_sees_seven_days_pages_by_next_token_and_looks_up_ids(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Recent search returns only the last 7 days, newest first, max_results 10..100, next_token paging and
    x-rate-limit headers; lookup answers found ids and a Not Found error for the others; 401 without the token."""
    async with SimulatorApp(world(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        token = sim.x_bearer_for("shop")
        url = f"{sim.url}/2/tweets/search/recent"
        seen: list[dict[str, Any]] = []
        params = {"query": "@shopnl", "max_results": "100", "tweet.fields": "created_at"}
        while True:
            status, body, headers = await get(http, url, token, **params)
            assert status == 200 and int(headers["x-rate-limit-remaining"]) < int(headers["x-rate-limit-limit"])
            seen.extend(body.get("data", []))
            if "next_token" not in body["meta"]:
                break
            params = {**params, "next_token": body["meta"]["next_token"]}
        ids = [int(t["id"]) for t in seen if "id" in t]
        assert ids == sorted(ids, reverse=True)
        oldest = min(t["created_at"] for t in seen)
        assert oldest >= (ORIGIN - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
        assert (await get(http, url, token, query="@shopnl", max_results="5"))[0] == 400
        status, body, _ = await get(http, f"{sim.url}/2/tweets", token, ids=f"{ids[0]},1")
        assert [t["id"] for t in body["data"]] == [str(ids[0])] and body["errors"][0]["value"] == "1"
        assert "public_metrics" in body["data"][0]
        assert (await get(http, url, "nope", query="@shopnl"))[0] == 401
