"""The simulated Etsy Open API v3: shop reviews (no review ids), x-api-key, per-second and per-day quota headers."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, Timeline, generate_platform_timeline

PLATFORM = "etsy"
REVIEWS_PATH = "/v3/application/shops/{shop_id}/reviews"
PER_SECOND = 10
PER_DAY = 10_000
MAX_LIMIT = 100


def api_key_for(scenario: Scenario, merchant_id: str) -> str:
    """The keystring the simulated Etsy accepts for a merchant's app."""
    scenario.merchant(merchant_id)
    return hashlib.sha256(f"{scenario.seed}:{merchant_id}:etsy".encode()).hexdigest()[:24]


def transaction_id(review: SimReview) -> int:
    """Etsy reviews have no id; the transaction reviewed identifies them (a stable number per simulated review)."""
    return int(review.id[:12], 16) % 10**10


class EtsyApi:
    """getReviewsByShop for every merchant with an `etsy` shop; simulated reviews are ids = transaction ids."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        requests: Counter,
        *,
        on_reviews_request: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scenario = scenario
        self._clock = clock
        self._requests = requests
        self._on_reviews_request = on_reviews_request
        shops = {m.id: m.etsy for m in scenario.merchants if m.etsy is not None}
        self._by_shop = {shop.shop_id: merchant for merchant, shop in shops.items()}
        base = generate_platform_timeline(scenario, PLATFORM, {m: s.baseline_per_hour for m, s in shops.items()})
        self.timeline = Timeline(
            {
                m: tuple(dataclasses.replace(r, id=str(transaction_id(r))) for r in base.all(m))
                for m in base.merchant_ids
            }
        )
        self._by_key = {api_key_for(scenario, m): m for m in shops}
        self._calls = 0
        # Quotas are per API key and in real time (like Etsy's), whatever the simulation speed.
        self._used_today: dict[str, int] = {}
        self._second: dict[str, tuple[int, int]] = {}
        self._monotonic = monotonic

    def routes(self) -> list[web.RouteDef]:
        return [web.get(REVIEWS_PATH, self.reviews)]

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)

    def _quota_headers(self, merchant: str) -> dict[str, str]:
        second = math.floor(self._monotonic())
        window, used = self._second.get(merchant, (second, 0))
        used = used + 1 if window == second else 1
        self._second[merchant] = (second, used)
        today = self._used_today[merchant] = self._used_today.get(merchant, 0) + 1
        return {
            "x-limit-per-second": str(PER_SECOND),
            "x-remaining-this-second": str(max(0, PER_SECOND - used)),
            "x-limit-per-day": str(PER_DAY),
            "x-remaining-today": str(max(0, PER_DAY - today)),
        }

    def _injected_fault(self) -> web.Response | None:
        self._calls += 1
        faults = self._scenario.faults
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            # Etsy's documented older behaviour: a 429 carries none of the quota headers.
            return self._reply(429, {"error": "You have exceeded your API rate limit."})
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._reply(503, {"error": "Service Unavailable"})
        return None

    async def reviews(self, request: web.Request) -> web.Response:
        """GET shop reviews, newest first: limit (<= 100), offset, min_created / max_created (epoch seconds)."""
        self._on_reviews_request()
        fault = self._injected_fault()
        faults = self._scenario.faults
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout should fire first
        if fault is not None:
            return fault
        merchant = self._by_key.get(request.headers.get("x-api-key", ""))
        if merchant is None:
            return self._reply(401, {"error": "Invalid API key"})
        shop = request.match_info["shop_id"]
        if self._by_shop.get(shop) != merchant:
            return self._reply(404, {"error": f"Shop with shop_id {shop} not found"})
        try:
            limit = int(request.query.get("limit", "25"))
            offset = int(request.query.get("offset", "0"))
            low = int(request.query.get("min_created", "0"))
            high = int(request.query.get("max_created", str(2**62)))
        except ValueError:
            return self._reply(400, {"error": "limit, offset, min_created and max_created must be integers"})
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return self._reply(400, {"error": f"limit must be 1..{MAX_LIMIT} and offset >= 0"})
        now = self._clock.now()
        found = [r for r in self.timeline.visible(merchant, now) if low <= int(r.created_at.timestamp()) <= high]
        found.reverse()  # newest first
        page = found[offset : offset + limit]
        body = {"count": len(found), "results": [render_review(r, int(shop)) for r in page]}
        return self._reply(200, body, self._quota_headers(merchant))


def render_review(review: SimReview, shop_id: int) -> dict[str, Any]:
    """A TransactionReview: epoch seconds, no review id; malformed ones lose the transaction or spell the rating."""
    created = int(review.created_at.timestamp())
    h = int(review.id) % 997
    item: dict[str, Any] = {
        "shop_id": shop_id,
        "listing_id": 100_000 + h,
        "transaction_id": int(review.id),
        "buyer_user_id": None if h % 4 == 0 else 5_000_000 + h,  # some buyers are hidden for privacy
        "rating": review.stars,
        "review": review.text,
        "language": review.language,
        "image_url_fullxfull": None,
        "create_timestamp": created,
        "created_timestamp": created,
        "update_timestamp": created,
        "updated_timestamp": created,
    }
    if review.malformed == "missing_id":
        del item["transaction_id"]
    elif review.malformed == "stars_as_text":
        item["rating"] = ("one", "two", "three", "four", "five")[review.stars - 1]
    return item
