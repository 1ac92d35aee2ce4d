"""The simulated Trustpilot over real HTTP: OAuth, paging, filters, visibility by simulated time, injected faults."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import Faults, MerchantProfile, Scenario, TrustpilotAccount

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
REVIEWS = "/v1/private/business-units/{}/reviews"
TOKEN = "/v1/oauth/oauth-business-users-for-applications/accesstoken"


def scenario(**faults: int) -> Scenario:
    merchants = tuple(
        MerchantProfile(m, m, "UTC", TrustpilotAccount(f"bu-{m}"), baseline_per_hour=60) for m in ("shop", "other")
    )
    return Scenario(
        merchants=merchants,
        origin=ORIGIN,
        history_seconds=2 * 3600,
        duration_seconds=3600,
        faults=Faults(**faults),
        token_ttl_seconds=3600,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def simulator(registry: CollectorRegistry) -> AsyncIterator[SimulatorApp]:
    app = SimulatorApp(scenario(malformed_every=10), registry=registry, clock=SimClock.manual(ORIGIN))
    async with app:
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def token_for(http: aiohttp.ClientSession, sim: SimulatorApp, merchant: str = "shop") -> str:
    key, secret = sim.credentials_for(merchant)
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    async with http.post(
        sim.url + TOKEN, headers={"Authorization": f"Basic {basic}"}, data={"grant_type": "client_credentials"}
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert body["expires_in"] == "3600" and body["token_type"] == "BearerToken"
    token: str = body["access_token"]
    return token


async def get_reviews(
    http: aiohttp.ClientSession, sim: SimulatorApp, token: str, unit: str = "bu-shop", **params: str
) -> tuple[int, Any, dict[str, str]]:
    async with http.get(
        sim.url + REVIEWS.format(unit), headers={"Authorization": f"Bearer {token}"}, params=params
    ) as response:
        return response.status, await response.json(), dict(response.headers)


async def test_token_endpoint_checks_basic_credentials(simulator: SimulatorApp, http: aiohttp.ClientSession) -> None:
    """Right key and secret get a token; a wrong secret or a missing grant type does not."""
    await token_for(http, simulator)
    key, _secret = simulator.credentials_for("shop")
    wrong = base64.b64encode(f"{key}:nope".encode()).decode()
    async with http.post(
        simulator.url + TOKEN, headers={"Authorization": f"Basic {wrong}"}, data={"grant_type": "client_credentials"}
    ) as response:
        assert response.status == 401
        assert "message" in await response.json()
    key, secret = simulator.credentials_for("shop")
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    async with http.post(
        simulator.url + TOKEN, headers={"Authorization": f"Basic {basic}"}, data={"grant_type": "magic"}
    ) as response:
        assert response.status == 400


async def test_reviews_need_a_live_token_for_the_right_unit(
    simulator: SimulatorApp, http: aiohttp.ClientSession
) -> None:
    """No token or a bad one: 401; an unknown unit: 404; another merchant's unit: 403; expired tokens: 401."""
    token = await token_for(http, simulator)
    assert (await get_reviews(http, simulator, "bogus"))[0] == 401
    assert (await get_reviews(http, simulator, token, unit="bu-nobody"))[0] == 404
    assert (await get_reviews(http, simulator, token, unit="bu-other"))[0] == 403
    assert (await get_reviews(http, simulator, token))[0] == 200
    simulator.trustpilot.expire_tokens()
    assert (await get_reviews(http, simulator, token))[0] == 401


async def test_review_objects_have_trustpilot_fields(simulator: SimulatorApp, http: aiohttp.ClientSession) -> None:
    """Each review carries the private API's field names; malformed ones are served broken as the timeline says."""
    token = await token_for(http, simulator)
    status, body, _ = await get_reviews(http, simulator, token, perPage="100", orderBy="createdat.asc")
    assert status == 200 and set(body) == {"reviews", "links"}
    first = body["reviews"][0]
    for name in ("id", "stars", "title", "text", "language", "createdAt", "updatedAt", "companyReply", "referenceId",
                 "source", "tags", "isVerified", "numberOfLikes", "status", "links"):  # fmt: skip
        assert name in first
    assert set(first["consumer"]) >= {"id", "displayName", "displayLocation", "numberOfReviews"}
    assert set(first["businessUnit"]) >= {"id", "identifyingName", "displayName"}
    assert first["businessUnit"]["id"] == "bu-shop" and first["companyReply"] is None
    truth = simulator.visible_reviews("shop")[:100]
    for served, review in zip(body["reviews"], truth, strict=True):
        if review.malformed == "missing_id":
            assert "id" not in served
        elif review.malformed == "stars_as_text":
            assert isinstance(served["stars"], str)
        else:
            assert served["id"] == review.id and served["stars"] == review.stars


async def test_paging_ordering_and_date_filters(simulator: SimulatorApp, http: aiohttp.ClientSession) -> None:
    """page/perPage slice the list (empty past the end), orderBy works both ways, startDateTime is inclusive."""
    token = await token_for(http, simulator)
    truth = simulator.visible_reviews("shop")
    assert len(truth) > 60
    pages: list[dict[str, Any]] = []
    page = 1
    while True:
        _, body, _ = await get_reviews(http, simulator, token, page=str(page), perPage="25", orderBy="createdat.asc")
        pages.extend(body["reviews"])
        if len(body["reviews"]) < 25:
            break
        assert body["links"][0]["rel"] == "next-page"
        page += 1
    assert [r["createdAt"] for r in pages] == [r.created_at.isoformat().replace("+00:00", "Z") for r in truth]
    _, past_end, _ = await get_reviews(http, simulator, token, page="999", perPage="25")
    assert past_end["reviews"] == []
    _, newest, _ = await get_reviews(http, simulator, token, perPage="1", orderBy="createdat.desc")
    assert newest["reviews"][0]["createdAt"] == pages[-1]["createdAt"]
    start = truth[-50].created_at
    _, since, _ = await get_reviews(
        http, simulator, token, perPage="100", orderBy="createdat.asc", startDateTime=start.isoformat()
    )
    assert len(since["reviews"]) == sum(1 for r in truth if r.created_at >= start)
    _, dated, _ = await get_reviews(http, simulator, token, perPage="100", startDateTime="2030-01-01")
    assert dated["reviews"] == []


async def test_bad_parameters_are_400(simulator: SimulatorApp, http: aiohttp.ClientSession) -> None:
    """perPage outside 1..100, page 0, an unknown orderBy or an unreadable date: 400."""
    token = await token_for(http, simulator)
    for params in ({"perPage": "101"}, {"perPage": "0"}, {"page": "0"}, {"orderBy": "random"},
                   {"startDateTime": "last tuesday"}):  # fmt: skip
        assert (await get_reviews(http, simulator, token, **params))[0] == 400


async def test_only_reviews_up_to_simulated_now_are_visible(
    simulator: SimulatorApp, http: aiohttp.ClientSession
) -> None:
    """Advancing the simulated clock reveals the reviews created in between, and nothing later."""
    token = await token_for(http, simulator)
    _, before, _ = await get_reviews(http, simulator, token, perPage="1", orderBy="createdat.desc")
    assert before["reviews"][0]["createdAt"] <= "2026-11-02T12:00:00Z"
    count = len(simulator.visible_reviews("shop"))
    simulator.clock.advance(30 * 60)
    grown = simulator.visible_reviews("shop")
    assert len(grown) > count
    assert all(r.created_at <= ORIGIN + timedelta(minutes=30) for r in grown)
    _, after, _ = await get_reviews(http, simulator, token, perPage="1", orderBy="createdat.desc")
    assert after["reviews"][0]["createdAt"] == grown[-1].created_at.isoformat().replace("+00:00", "Z")


async def test_injected_429s_carry_retry_after(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """With rate_limit_every=3, every third reviews call is a 429 with Retry-After, and the metric counts it."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, retry_after_seconds=2), registry=registry, clock=SimClock.manual(ORIGIN)
    ) as sim:
        token = await token_for(http, sim)
        statuses = []
        for _ in range(6):
            status, _body, headers = await get_reviews(http, sim, token)
            statuses.append(status)
            if status == 429:
                assert headers["Retry-After"] == "2"
    assert statuses == [200, 200, 429, 200, 200, 429]
    labels = {"platform": "trustpilot", "status": "429"}
    assert registry.get_sample_value("stormwatch_simulator_requests_total", labels) == 2


async def test_own_clock_starts_at_the_first_reviews_call(registry: CollectorRegistry) -> None:
    """Without an injected clock, simulated time stands at the origin until the first reviews request."""
    async with SimulatorApp(scenario(), registry=registry) as sim, aiohttp.ClientSession() as session:
        assert not sim.clock.running and sim.clock.now() == ORIGIN
        token = await token_for(session, sim)
        assert not sim.clock.running
        await get_reviews(session, sim, token)
        assert sim.clock.running
