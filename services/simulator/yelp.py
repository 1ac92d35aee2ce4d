"""The simulated Yelp Fusion reviews endpoint: the three newest excerpts, local times, RateLimit-* headers."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline

PLATFORM = "yelp"
REVIEWS_PATH = "/v3/businesses/{business_id}/reviews"
DAILY_LIMIT = 5000
EXCERPTS = 3
EXCERPT_CHARS = 160


def api_key_for(scenario: Scenario, merchant_id: str) -> str:
    scenario.merchant(merchant_id)
    return hashlib.sha256(f"{scenario.seed}:{merchant_id}:yelp".encode()).hexdigest()[:40]


class YelpApi:
    """Business reviews for every merchant with a `yelp` business: at most three, newest first, as excerpts."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        requests: Counter,
        *,
        on_reviews_request: Callable[[], None] = lambda: None,
    ) -> None:
        self._scenario = scenario
        self._clock = clock
        self._requests = requests
        self._on_reviews_request = on_reviews_request
        businesses = {m.id: m.yelp for m in scenario.merchants if m.yelp is not None}
        self._by_business = {b.business_id: m for m, b in businesses.items()}
        self._zones = {m.id: m.timezone for m in scenario.merchants}
        self.timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: b.baseline_per_hour for m, b in businesses.items()}
        )
        self._by_key = {api_key_for(scenario, m): m for m in businesses}
        self._calls = 0
        self._used: dict[str, int] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get(REVIEWS_PATH, self.reviews)]

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)

    def _error(self, status: int, code: str, description: str) -> web.Response:
        return self._reply(status, {"error": {"code": code, "description": description}})

    async def reviews(self, request: web.Request) -> web.Response:
        """GET a business's reviews: the three newest excerpts with `time_created` in the business's local time."""
        self._on_reviews_request()
        self._calls += 1
        faults = self._scenario.faults
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout should fire first
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            return self._error(429, "TOO_MANY_REQUESTS_PER_SECOND", "You have exceeded the queries-per-second limit.")
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(503, "SERVICE_UNAVAILABLE", "Service unavailable")
        header = request.headers.get("Authorization", "")
        merchant = self._by_key.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if merchant is None:
            return self._error(401, "TOKEN_INVALID", "Invalid access token or authorization header.")
        business = request.match_info["business_id"]
        if self._by_business.get(business) != merchant:
            return self._error(404, "BUSINESS_NOT_FOUND", "The requested business could not be found.")
        used = self._used[merchant] = self._used.get(merchant, 0) + 1
        now = self._clock.now()
        reset = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        headers = {
            "RateLimit-DailyLimit": str(DAILY_LIMIT),
            "RateLimit-Remaining": str(max(0, DAILY_LIMIT - used)),
            "RateLimit-ResetTime": reset.isoformat(),
        }
        if used > DAILY_LIMIT:
            return self._error(429, "ACCESS_LIMIT_REACHED", "You've reached the access limit for this client.")
        visible = self.timeline.visible(merchant, now)
        newest = list(reversed(visible[-EXCERPTS:]))
        body = {
            "reviews": [render_review(r, self._zones[merchant]) for r in newest],
            "total": len(visible),
            "possible_languages": sorted({r.language for r in visible}),
        }
        return self._reply(200, body, headers)


def render_review(review: SimReview, timezone: str) -> dict[str, Any]:
    """A Yelp review excerpt; `time_created` is local wall time without an offset, as Yelp sends it."""
    local = review.created_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")
    item: dict[str, Any] = {
        "id": review.id,
        "url": f"https://www.yelp.com/biz/{review.merchant_id}?hrid={review.id}",
        "text": review.text[:EXCERPT_CHARS],
        "rating": review.stars,
        "time_created": local,
        "user": {
            "id": review.consumer_id[:22],
            "profile_url": f"https://www.yelp.com/user_details?userid={review.consumer_id[:22]}",
            "image_url": None,
            "name": review.consumer_name,
        },
    }
    if review.malformed == "missing_id":
        del item["id"]
    elif review.malformed == "stars_as_text":
        item["rating"] = f"{review.stars} stars"
    return item
