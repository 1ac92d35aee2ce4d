"""The simulated Trustpilot API: the OAuth token endpoint and the private business-unit reviews list, real shapes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.shared.timeutil import format_rfc3339
from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, Timeline

PLATFORM = "trustpilot"
TOKEN_PATH = "/v1/oauth/oauth-business-users-for-applications/accesstoken"  # noqa: S105 - a URL path
REVIEWS_PATH = "/v1/private/business-units/{businessUnitId}/reviews"
_ORDERS = ("createdat.asc", "createdat.desc", "stars.asc", "stars.desc")
_STAR_WORDS = ("one", "two", "three", "four", "five")


def credentials_for(scenario: Scenario, merchant_id: str) -> tuple[str, str]:
    """The (api_key, api_secret) pair the simulated Trustpilot accepts for a merchant (derived from the seed)."""
    scenario.merchant(merchant_id)  # KeyError for an unknown merchant
    digest = hashlib.sha256(f"{scenario.seed}:{merchant_id}:trustpilot".encode()).hexdigest()
    return f"key-{merchant_id}", digest[:32]


@dataclass
class _Token:
    merchant_id: str
    expires_at: float  # monotonic seconds: tokens expire in real time, whatever the simulation speed


class TrustpilotApi:
    """Request handlers for one scenario. Only reviews created up to the clock's simulated now are visible."""

    def __init__(
        self,
        scenario: Scenario,
        timeline: Timeline,
        clock: SimClock,
        requests: Counter,
        *,
        on_reviews_request: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scenario = scenario
        self._timeline = timeline
        self._clock = clock
        self._requests = requests
        self._on_reviews_request = on_reviews_request
        self._monotonic = monotonic
        self._tokens: dict[str, _Token] = {}
        self._reviews_calls = 0
        self._by_unit = {m.trustpilot.business_unit_id: m for m in scenario.merchants}
        self._by_key = {credentials_for(scenario, m.id): m.id for m in scenario.merchants}

    def routes(self) -> list[web.RouteDef]:
        return [web.post(TOKEN_PATH, self.token), web.get(REVIEWS_PATH, self.reviews)]

    def expire_tokens(self) -> None:
        """Ground-truth hook for tests: every issued token is now expired (the next call gets a 401)."""
        for token in self._tokens.values():
            token.expires_at = float("-inf")

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(
            body=orjson.dumps(body), status=status, content_type="application/json", headers=headers or {}
        )

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return self._reply(status, {"errorCode": status, "message": message}, headers)

    async def token(self, request: web.Request) -> web.Response:
        """POST accesstoken: Basic base64(api_key:api_secret) + grant_type=client_credentials|password."""
        key_secret = _basic_credentials(request.headers.get("Authorization", ""))
        if key_secret is None or key_secret not in self._by_key:
            return self._error(401, "Invalid API key or secret")
        form = await request.post()
        grant = form.get("grant_type")
        if grant not in {"client_credentials", "password"}:
            return self._error(400, f"unsupported grant_type {grant!r}")
        if grant == "password" and not (form.get("username") and form.get("password")):
            return self._error(400, "grant_type=password needs username and password")
        token = secrets.token_urlsafe(24)
        ttl = self._scenario.token_ttl_seconds
        self._tokens[token] = _Token(self._by_key[key_secret], self._monotonic() + ttl)
        # The real endpoint (an API gateway) answers expires_in as a string.
        return self._reply(200, {"access_token": token, "expires_in": str(ttl), "token_type": "BearerToken"})

    async def reviews(self, request: web.Request) -> web.Response:
        """GET the private reviews of a business unit, paged, filtered by date, visible up to simulated now."""
        self._on_reviews_request()
        refusal = self._injected_fault() or self._access_refusal(request)
        faults = self._scenario.faults
        if faults.slow_every and self._reviews_calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout should fire first
        if refusal is not None:
            return refusal
        merchant = self._by_unit[request.match_info["businessUnitId"]]
        try:
            query = _ReviewsQuery.parse(request.query)
        except ValueError as exc:
            return self._error(400, str(exc))
        items = [
            r
            for r in self._timeline.visible(merchant.id, self._clock.now())
            if (query.start is None or r.created_at >= query.start) and (query.end is None or r.created_at <= query.end)
        ]
        if query.order.startswith("stars"):
            items.sort(key=lambda r: (r.stars, r.created_at, r.id))
        if query.order.endswith(".desc"):
            items.reverse()
        first = (query.page - 1) * query.per_page
        page = items[first : first + query.per_page]
        base = f"{request.scheme}://{request.host}"
        links = []
        if first + query.per_page < len(items):
            links.append(_link(request, query.page + 1, "next-page"))
        if query.page > 1:
            links.append(_link(request, query.page - 1, "prev-page"))
        return self._reply(200, {"reviews": [render_review(r, base, merchant.name) for r in page], "links": links})

    def _injected_fault(self) -> web.Response | None:
        """The scenario's 429s and 503s, counted over all reviews requests, before anything else is looked at."""
        self._reviews_calls += 1
        faults = self._scenario.faults
        retry_after = {"Retry-After": str(faults.retry_after_seconds)}
        if faults.rate_limit_every and self._reviews_calls % faults.rate_limit_every == 0:
            return self._error(429, "Too many requests", retry_after)
        if faults.server_error_every and self._reviews_calls % faults.server_error_every == 0:
            return self._error(503, "Service unavailable", retry_after)
        return None

    def _access_refusal(self, request: web.Request) -> web.Response | None:
        """401 without a live token, 404 for an unknown business unit, 403 for another merchant's unit."""
        token = self._tokens.get(_bearer(request.headers.get("Authorization", "")))
        if token is None or token.expires_at <= self._monotonic():
            return self._error(401, "Unauthorized: missing, invalid or expired access token")
        merchant = self._by_unit.get(request.match_info["businessUnitId"])
        if merchant is None:
            return self._error(404, "Business unit not found")
        if merchant.id != token.merchant_id:
            return self._error(403, "Forbidden: the token does not grant access to this business unit")
        return None


@dataclass(frozen=True)
class _ReviewsQuery:
    page: int
    per_page: int
    order: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def parse(cls, params: Any) -> _ReviewsQuery:
        page = _integer(params.get("page", "1"), "page")
        if not 1 <= page <= 2**31 - 1:
            raise ValueError("page must be between 1 and 2147483647")
        per_page = _integer(params.get("perPage", "20"), "perPage")
        if not 1 <= per_page <= 100:
            raise ValueError("perPage must be between 1 and 100")
        order = params.get("orderBy", "createdat.desc")
        if order not in _ORDERS:
            raise ValueError(f"orderBy must be one of {', '.join(_ORDERS)}")
        return cls(page, per_page, order, _moment(params, "startDateTime"), _moment(params, "endDateTime"))


def render_review(review: SimReview, base: str, merchant_name: str) -> dict[str, Any]:
    """The private review object with Trustpilot's field names; malformed reviews are served broken."""
    item: dict[str, Any] = {
        "links": [{"href": f"{base}/v1/reviews/{review.id}", "method": "GET", "rel": "reviews"}],
        "id": review.id,
        "consumer": {
            "links": [],
            "id": review.consumer_id,
            "displayName": review.consumer_name,
            "displayLocation": review.consumer_location,
            "numberOfReviews": review.consumer_review_count,
        },
        "businessUnit": {
            "links": [],
            "id": review.business_unit_id,
            "identifyingName": f"{review.merchant_id}.example",
            "displayName": merchant_name,
        },
        "location": None,
        "stars": review.stars,
        "title": review.title,
        "text": review.text,
        "language": review.language,
        "createdAt": format_rfc3339(review.created_at),
        "updatedAt": None,
        "companyReply": None,
        "isVerified": review.verified,
        "numberOfLikes": review.likes,
        "status": "active",
        "referenceId": review.reference_id,
        "referralEmail": None,
        "source": "AFSv2" if review.reference_id else "Organic",
        "tags": [],
        "reportData": None,
        "complianceLabels": [],
        "countsTowardsTrustScore": True,
        "countsTowardsLocationTrustScore": None,
        "invitation": {"businessUnitId": review.business_unit_id} if review.reference_id else None,
        "businessUnitHistory": [],
        "findReviewer": {"isEligible": False, "requests": []},
    }
    if review.malformed == "missing_id":
        del item["id"]
    elif review.malformed == "stars_as_text":
        item["stars"] = _STAR_WORDS[review.stars - 1]
    return item


def _link(request: web.Request, page: int, rel: str) -> dict[str, str]:
    url = request.url.update_query(page=str(page))
    return {"href": str(url), "method": "GET", "rel": rel}


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None


def _moment(params: Any, name: str) -> datetime | None:
    """RFC 3339 or a date (which means its midnight); a time without an offset is taken as UTC."""
    text = params.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time or a date, got {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
