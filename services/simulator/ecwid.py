"""The simulated Ecwid REST API v3: a store's product reviews with Bearer tokens, filters, offsets and edits."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline, published_timeline

PLATFORM = "ecwid"
REVIEWS_PATH = "/api/v3/{store_id}/reviews"
MAX_LIMIT = 100
EDIT_AFTER = timedelta(hours=3)
_SORTS = ("DATE_CREATED_DESC", "DATE_CREATED_ASC", "RATING_DESC", "RATING_ASC")
_PRODUCTS = ("Ceramic mug", "Linen apron", "Teapot", "Bread knife", "Oven mitts")


def token_for(scenario: Scenario, merchant_id: str) -> str:
    """The secret_ token the simulated Ecwid accepts for the merchant's store."""
    scenario.merchant(merchant_id)
    return "secret_" + hashlib.sha256(f"{scenario.seed}:{merchant_id}:ecwid".encode()).hexdigest()[:32]


def review_id(review: SimReview) -> int:
    return int(review.id[:10], 16) % 10**9


@dataclass(frozen=True)
class EcwidState:
    """A review as Ecwid shows it at one moment: some authors edit theirs three hours later (updateDate moves)."""

    review: SimReview
    rating: int
    text: str
    updated_at: datetime


def state_at(review: SimReview, now: datetime, edit_share: float = 0.3) -> EcwidState:
    # Broken items stay as they are (one dead letter each); `edit_share` of the intact ones are edited by their authors.
    picked = int(review.id[-3:], 16) % 1000 < round(edit_share * 1000)
    edited = not review.malformed and picked and review.created_at + EDIT_AFTER <= now
    if not edited:
        return EcwidState(review, review.stars, review.text, review.created_at)
    rating = 5 if review.stars <= 2 else max(1, review.stars - 2)
    return EcwidState(review, rating, review.text + " (edited by the author)", review.created_at + EDIT_AFTER)


class EcwidApi:
    """Product reviews for every merchant with an `ecwid` store."""

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
        stores = {m.id: m.ecwid for m in scenario.merchants if m.ecwid is not None}
        self._by_store = {s.store_id: m for m, s in stores.items()}
        self._edit_share = {m: s.edit_share for m, s in stores.items()}
        self._timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: s.baseline_per_hour for m, s in stores.items()}
        )
        # Ground truth for visible_reviews(): what the poller will publish, under the item ids it will use.
        self.timeline = published_timeline(self._timeline, lambda r: str(review_id(r)))
        self._by_token = {token_for(scenario, m): m for m in stores}
        self._calls = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get(REVIEWS_PATH, self.reviews)]

    def visible(self, merchant_id: str, now: datetime) -> list[EcwidState]:
        """Ground truth: every review of the store as shown at `now`."""
        if merchant_id not in self._timeline.merchant_ids:
            return []
        share = self._edit_share[merchant_id]
        return [state_at(r, now, share) for r in self._timeline.visible(merchant_id, now)]

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return self._reply(status, {"errorMessage": message}, headers)

    async def reviews(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one return per refusal
        """GET reviews: offset, limit (<= 100), createdFrom/To, updatedFrom/To (epoch seconds), status, sortBy."""
        self._on_reviews_request()
        self._calls += 1
        faults = self._scenario.faults
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout fires first
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            headers = {"Retry-After": str(faults.retry_after_seconds)}
            return self._error(429, "Too many requests: limit of requests per minute exceeded", headers)
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(503, "Service temporarily unavailable")
        header = request.headers.get("Authorization", "")
        merchant = self._by_token.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if merchant is None:
            return self._error(403, "Token is not valid or has no access to the store (read_reviews scope)")
        if self._by_store.get(request.match_info["store_id"]) != merchant:
            return self._error(403, "Token doesn't have access to this store")
        query = request.query
        try:
            offset, limit = int(query.get("offset", "0")), int(query.get("limit", "100"))
            bounds = {k: int(query[k]) for k in ("createdFrom", "createdTo", "updatedFrom", "updatedTo") if k in query}
        except ValueError:
            return self._error(400, "offset, limit and date filters must be numbers (UNIX time)")
        sort = query.get("sortBy", "DATE_CREATED_DESC")
        if offset < 0 or not 1 <= limit <= MAX_LIMIT or sort not in _SORTS:
            return self._error(400, f"limit must be 1..{MAX_LIMIT}, offset >= 0, sortBy one of {', '.join(_SORTS)}")
        now = self._clock.now()
        found = [s for s in self.visible(merchant, now) if _within(s, bounds)]
        if sort.startswith("DATE_CREATED"):
            found.sort(key=lambda s: (s.review.created_at, s.review.id), reverse=sort.endswith("DESC"))
        else:
            found.sort(key=lambda s: (s.rating, s.review.id), reverse=sort.endswith("DESC"))
        page = found[offset : offset + limit]
        body = {
            "total": len(found),
            "count": len(page),
            "offset": offset,
            "limit": limit,
            "items": [render_review(s, int(request.match_info["store_id"])) for s in page],
        }
        return self._reply(200, body)


def _within(state: EcwidState, bounds: dict[str, int]) -> bool:
    created, updated = state.review.created_at.timestamp(), state.updated_at.timestamp()
    return (
        created >= bounds.get("createdFrom", 0)
        and created <= bounds.get("createdTo", 2**62)
        and updated >= bounds.get("updatedFrom", 0)
        and updated <= bounds.get("updatedTo", 2**62)
    )


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def render_review(state: EcwidState, store_id: int) -> dict[str, Any]:
    """A product review; malformed ones lose their id or spell the rating."""
    review = state.review
    rid = review_id(review)
    product = rid % len(_PRODUCTS)
    item: dict[str, Any] = {
        "id": rid,
        "productId": 500_000 + product,
        "productName": _PRODUCTS[product],
        "customerId": 70_000 + rid % 5000,
        "orderId": 900_000 + rid % 100_000,
        "orderNumber": f"{store_id % 100}-{rid % 100_000}",
        "status": "moderated" if rid % 10 == 0 else "published",
        "rating": state.rating,
        "review": state.text,
        "reviewerInfo": {"name": review.consumer_name, "city": review.consumer_location, "ordersCount": 1},
        "createDate": _date(review.created_at),
        "updateDate": _date(state.updated_at),
        "createTimestamp": int(review.created_at.timestamp()),
        "updateTimestamp": int(state.updated_at.timestamp()),
    }
    if review.malformed == "missing_id":
        del item["id"]
    elif review.malformed == "stars_as_text":
        item["rating"] = f"{state.rating} stars"
    return item
