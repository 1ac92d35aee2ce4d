"""The simulated Google Business Profile: OAuth2 token endpoint and v4 location reviews with Google's shapes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.shared.timeutil import format_rfc3339
from services.simulator.clock import SimClock
from services.simulator.scenario import GoogleLocation, Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline

PLATFORM = "google_business"
TOKEN_PATH = "/token"  # noqa: S105 - a URL path (oauth2.googleapis.com/token)
REVIEWS_PATH = "/v4/accounts/{account}/locations/{location}/reviews"
TOKEN_TTL_SECONDS = 3599
MAX_PAGE_SIZE = 50
_ENUM = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
_ORDERS = ("updateTime desc", "rating", "rating desc")
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}  # fmt: skip


def credentials_for(scenario: Scenario, merchant_id: str) -> tuple[str, str, str]:
    """(client_id, client_secret, refresh_token) the simulated Google accepts for a merchant."""
    scenario.merchant(merchant_id)
    digest = hashlib.sha256(f"{scenario.seed}:{merchant_id}:google".encode()).hexdigest()
    return f"{merchant_id}.apps.googleusercontent.com", digest[:24], "1//" + digest[24:]


@dataclass(frozen=True)
class ReviewState:
    """A simulated review as Google shows it at one moment: replies and rating edits appear over time."""

    review: SimReview
    stars: int
    comment: str | None
    reply_at: datetime | None
    updated_at: datetime


def state_at(review: SimReview, location: GoogleLocation, now: datetime) -> ReviewState:
    """Deterministic from the review id: whether it is rating-only, answered, and later raised to five stars."""
    h = int(hashlib.sha256(review.id.encode()).hexdigest()[:12], 16)
    comment: str | None = review.text if h % 5 else None  # one in five is rating-only
    reply_at = review.created_at + timedelta(hours=1 + (h >> 8) % 6)
    answered = (h >> 20) % 1000 < location.reply_share * 1000 and reply_at <= now
    edit_at = reply_at + timedelta(hours=1)
    edited = answered and review.stars <= 2 and (h >> 32) % 1000 < location.edit_share * 1000 and edit_at <= now
    stars = 5 if edited else review.stars
    if edited and comment is not None:
        comment += " Update: the shop sorted it out quickly, thank you."
    updated = edit_at if edited else (reply_at if answered else review.created_at)
    return ReviewState(review, stars, comment, reply_at if answered else None, updated)


@dataclass
class _Token:
    merchant_id: str
    expires_at: float


class GoogleBusinessApi:
    """Handlers for one scenario: only merchants with a `google` location have reviews here."""

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
        self._monotonic = monotonic
        self._locations = {m.id: m.google for m in scenario.merchants if m.google is not None}
        self._by_path = {(g.account_id, g.location_id): m for m, g in self._locations.items()}
        self.timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: g.baseline_per_hour for m, g in self._locations.items()}
        )
        self._by_client = {credentials_for(scenario, m)[0]: m for m in self._locations}
        self._tokens: dict[str, _Token] = {}
        self._calls = 0
        self._arrivals = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post(TOKEN_PATH, self.token), web.get(REVIEWS_PATH, self.reviews)]

    def expire_tokens(self) -> None:
        for token in self._tokens.values():
            token.expires_at = float("-inf")

    def visible(self, merchant_id: str, now: datetime) -> list[ReviewState]:
        """Ground truth: every review of the merchant's location as shown at `now`."""
        location = self._locations.get(merchant_id)
        if location is None:
            return []
        return [state_at(r, location, now) for r in self.timeline.visible(merchant_id, now)]

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)

    def _error(self, status: int, message: str) -> web.Response:
        """Google's JSON error envelope."""
        return self._reply(status, {"error": {"code": status, "message": message, "status": _STATUS[status]}})

    async def token(self, request: web.Request) -> web.Response:
        """POST /token, grant_type=refresh_token: 401 invalid_client, 400 invalid_grant, else a bearer token."""
        form = await request.post()
        merchant = self._by_client.get(str(form.get("client_id", "")))
        if merchant is None or form.get("client_secret") != credentials_for(self._scenario, merchant)[1]:
            return self._reply(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        if form.get("grant_type") != "refresh_token":
            return self._reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        if form.get("refresh_token") != credentials_for(self._scenario, merchant)[2]:
            return self._reply(
                400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            )
        token = "ya29." + secrets.token_urlsafe(24)
        self._tokens[token] = _Token(merchant, self._monotonic() + TOKEN_TTL_SECONDS)
        return self._reply(
            200,
            {
                "access_token": token,
                "expires_in": TOKEN_TTL_SECONDS,
                "scope": "https://www.googleapis.com/auth/business.manage",
                "token_type": "Bearer",
            },
        )

    async def reviews(self, request: web.Request) -> web.Response:
        """GET a location's reviews: pageSize <= 50 (more is clamped), opaque pageToken, orderBy."""
        self._on_reviews_request()
        faults = self._scenario.faults
        self._arrivals += 1
        if faults.slow_every and self._arrivals % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout should fire first
        refusal = self._injected_fault() or self._access_refusal(request)
        if refusal is not None:
            return refusal
        merchant = self._by_path[(request.match_info["account"], request.match_info["location"])]
        try:
            size, order, offset, snapshot = self._query(request)
        except ValueError as exc:
            return self._error(400, str(exc))
        # Pages of one listing see the world as it was at its first page, so offsets keep their meaning.
        states = self.visible(merchant, snapshot)
        if order == "updateTime desc":
            states.sort(key=lambda s: (s.updated_at, s.review.id), reverse=True)
        else:
            states.sort(key=lambda s: (s.stars, s.review.id), reverse=order == "rating desc")
        page = states[offset : offset + size]
        location = self._locations[merchant]
        body: dict[str, Any] = {}
        if page:
            body["reviews"] = [render_review(s, location) for s in page]
        if states:
            body["averageRating"] = round(sum(s.stars for s in states) / len(states), 1)
            body["totalReviewCount"] = len(states)
        if offset + size < len(states):
            body["nextPageToken"] = _encode_token(offset + size, snapshot)
        return self._reply(200, body)

    def _access_refusal(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = self._tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if token is None or token.expires_at <= self._monotonic():
            return self._error(401, "Request had invalid authentication credentials.")
        merchant = self._by_path.get((request.match_info["account"], request.match_info["location"]))
        if merchant is None:
            return self._error(404, "Requested entity was not found.")
        if merchant != token.merchant_id:
            return self._error(403, "The caller does not have permission")
        return None

    def _query(self, request: web.Request) -> tuple[int, str, int, datetime]:
        query = request.query
        try:
            size = min(int(query.get("pageSize", str(MAX_PAGE_SIZE))), MAX_PAGE_SIZE)
        except ValueError:
            size = 0
        if size < 1:
            raise ValueError("Invalid value for pageSize")
        order = query.get("orderBy", "updateTime desc")
        if order not in _ORDERS:
            raise ValueError(f"Invalid orderBy {order!r}")
        if "pageToken" not in query:
            return size, order, 0, self._clock.now()
        decoded = _decode_token(query["pageToken"])
        if decoded is None:
            raise ValueError("Invalid pageToken")
        return size, order, *decoded

    def _injected_fault(self) -> web.Response | None:
        self._calls += 1
        faults = self._scenario.faults
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            return self._error(429, "Quota exceeded for quota metric 'Requests' of service 'mybusiness.googleapis.com'")
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(503, "The service is currently unavailable.")
        return None


def render_review(state: ReviewState, location: GoogleLocation) -> dict[str, Any]:
    """A v4 Review resource; malformed reviews lose their reviewId or carry a star count instead of the enum."""
    review = state.review
    item: dict[str, Any] = {
        "name": f"accounts/{location.account_id}/locations/{location.location_id}/reviews/{review.id}",
        "reviewId": review.id,
        "reviewer": {
            "profilePhotoUrl": f"https://lh3.googleusercontent.com/a/{review.consumer_id}",
            "displayName": review.consumer_name,
            "isAnonymous": False,
        },
        "starRating": _ENUM[state.stars - 1],
        "createTime": format_rfc3339(review.created_at),
        "updateTime": format_rfc3339(state.updated_at),
    }
    if state.comment is not None:
        item["comment"] = state.comment
    if state.reply_at is not None:
        item["reviewReply"] = {
            "comment": "Thank you for your feedback, we have contacted you to make it right.",
            "updateTime": format_rfc3339(state.reply_at),
        }
    if review.malformed == "missing_id":
        del item["reviewId"]
    elif review.malformed == "stars_as_text":
        item["starRating"] = str(state.stars)
    return item


def _encode_token(offset: int, snapshot: datetime) -> str:
    raw = orjson.dumps({"o": offset, "t": format_rfc3339(snapshot)})
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_token(token: str) -> tuple[int, datetime] | None:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset, moment = int(data["o"]), datetime.fromisoformat(str(data["t"]).replace("Z", "+00:00"))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeEncodeError):
        return None
    return (offset, moment) if offset >= 0 and moment.tzinfo is not None else None
