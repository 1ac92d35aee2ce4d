"""The simulated eBay Commerce Feedback API (beta): OAuth, offset paging, replies, follow-ups and withdrawals."""

from __future__ import annotations

import asyncio
import base64
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
from services.simulator.scenario import EbaySeller, Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline

PLATFORM = "ebay"
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - a URL path
FEEDBACK_PATH = "/commerce/feedback/v1/feedback"
TOKEN_TTL_SECONDS = 7200
_TYPES = {1: "NEGATIVE", 2: "NEGATIVE", 3: "NEUTRAL", 4: "POSITIVE", 5: "POSITIVE"}


def credentials_for(scenario: Scenario, merchant_id: str) -> tuple[str, str, str]:
    """(client_id, client_secret, refresh_token) of the merchant's eBay app and user consent."""
    scenario.merchant(merchant_id)
    digest = hashlib.sha256(f"{scenario.seed}:{merchant_id}:ebay".encode()).hexdigest()
    return f"{merchant_id}-app-PRD", digest[:24], "v^1.1#" + digest[24:]


@dataclass(frozen=True)
class FeedbackState:
    review: SimReview
    reply_at: datetime | None
    followup_at: datetime | None
    withdrawn: bool


def state_at(review: SimReview, now: datetime, seller: EbaySeller | None = None) -> FeedbackState:
    """Deterministic from the id: some negatives get a seller reply, then a buyer follow-up, some are withdrawn
    (the shares are the seller's scenario settings)."""
    seller = seller or EbaySeller("")
    h = int(hashlib.sha256(review.id.encode()).hexdigest()[:12], 16)
    negative = review.stars <= 2
    reply_at = review.created_at + timedelta(hours=1 + h % 3)
    replied = negative and h % 1000 < round(seller.reply_share * 1000) and reply_at <= now
    followup_at = reply_at + timedelta(hours=2)
    followed = replied and (h >> 8) % 10 < 6 and followup_at <= now
    picked = (h >> 16) % 1000 < round(seller.withdraw_share * 1000)
    withdrawn = followed and picked and followup_at + timedelta(hours=1) <= now
    return FeedbackState(review, reply_at if replied else None, followup_at if followed else None, withdrawn)


@dataclass
class _Token:
    merchant_id: str
    expires_at: float


class EbayApi:
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
        sellers = {m.id: m.ebay for m in scenario.merchants if m.ebay is not None}
        self._by_user = {s.user_id: m for m, s in sellers.items()}
        self._sellers = sellers
        self.timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: s.baseline_per_hour for m, s in sellers.items()}
        )
        self._by_client = {credentials_for(scenario, m)[0]: m for m in sellers}
        self._tokens: dict[str, _Token] = {}
        self._calls = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post(TOKEN_PATH, self.token), web.get(FEEDBACK_PATH, self.feedback)]

    def visible(self, merchant_id: str, now: datetime) -> list[FeedbackState]:
        if merchant_id not in self.timeline.merchant_ids:
            return []
        seller = self._sellers[merchant_id]
        return [state_at(r, now, seller) for r in self.timeline.visible(merchant_id, now)]

    def _reply(self, status: int, body: object) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def _error(self, status: int, error_id: int, message: str) -> web.Response:
        category = "REQUEST" if status < 500 else "APPLICATION"
        return self._reply(
            status,
            {"errors": [{"errorId": error_id, "domain": "API_FEEDBACK", "category": category, "message": message}]},
        )

    async def token(self, request: web.Request) -> web.Response:
        """POST the identity token endpoint: Basic client credentials + grant_type=refresh_token."""
        try:
            client_id, _, secret = (
                base64.b64decode(request.headers.get("Authorization", "")[6:]).decode().partition(":")
            )
        except (ValueError, UnicodeDecodeError):
            client_id, secret = "", ""
        merchant = self._by_client.get(client_id)
        if merchant is None or secret != credentials_for(self._scenario, merchant)[1]:
            return self._reply(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        form = await request.post()
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != credentials_for(self._scenario, merchant)[2]
        ):
            return self._reply(
                400,
                {"error": "invalid_grant", "error_description": "the provided authorization refresh token is invalid"},
            )
        token = "v^1.1#i^1#" + secrets.token_urlsafe(24)
        self._tokens[token] = _Token(merchant, self._monotonic() + TOKEN_TTL_SECONDS)
        return self._reply(
            200, {"access_token": token, "expires_in": TOKEN_TTL_SECONDS, "token_type": "User Access Token"}
        )

    async def feedback(self, request: web.Request) -> web.Response:
        """GET feedback received by a seller, newest first with sort=TIME; limit 25..200, offset."""
        self._on_reviews_request()
        refused = self._injected_fault() or self._refusal(request)
        faults = self._scenario.faults
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout should fire first
        if refused is not None:
            return refused
        query = request.query
        merchant = self._by_user[query["user_id"]]
        limit, offset = int(query.get("limit", "25")), int(query.get("offset", "0"))
        states = self.visible(merchant, self._clock.now())
        states.reverse()  # sort=TIME: newest first (RELEVANCE is served the same way here)
        page = states[offset : offset + limit]
        body: dict[str, Any] = {
            "feedbackEntries": [render_feedback(s, query["user_id"]) for s in page],
            "limit": limit,
            "offset": offset,
            "total": len(states),
        }
        if offset + limit < len(states):
            body["next"] = str(request.url.update_query(offset=str(offset + limit)))
        return self._reply(200, body)

    def _injected_fault(self) -> web.Response | None:
        self._calls += 1
        faults = self._scenario.faults
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            return self._error(429, 2001, "Too many requests. The request limit has been reached for the resource.")
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(503, 2003, "There was a problem with an eBay internal system or process.")
        return None

    def _refusal(self, request: web.Request) -> web.Response | None:
        token = self._tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
        if token is None or token.expires_at <= self._monotonic():
            return self._error(401, 1001, "Invalid access token.")
        query = request.query
        merchant = self._by_user.get(query.get("user_id", ""))
        if merchant is None or query.get("feedback_type") not in {"FEEDBACK_RECEIVED", "FEEDBACK_SENT"}:
            return self._error(400, 501000, "user_id and feedback_type are required.")
        if merchant != token.merchant_id:
            return self._error(403, 1100, "Access denied: insufficient permissions.")
        try:
            limit, offset = int(query.get("limit", "25")), int(query.get("offset", "0"))
        except ValueError:
            limit, offset = 0, -1
        if not 25 <= limit <= 200 or offset < 0:
            return self._error(400, 501001, "limit must be 25..200 and offset >= 0.")
        if query.get("sort", "RELEVANCE") not in {"RELEVANCE", "TIME"}:
            return self._error(400, 501035, "Invalid sort value.")
        return None


def render_feedback(state: FeedbackState, seller: str) -> dict[str, Any]:
    review = state.review
    item: dict[str, Any] = {
        "feedbackId": review.id,
        "commentType": _TYPES[review.stars],
        "feedbackComment": {"commentText": review.text[:80], "commentTextRemovedPerPolicy": False},
        "feedbackEnteredDate": format_rfc3339(review.created_at),
        "feedbackState": "WITHDRAWN" if state.withdrawn else "ACTIVE",
        "feedbackRatings": [{"ratingType": "OVERALL_EXPERIENCE", "value": str(review.stars)}],
        "providerUserDetail": {"userId": review.consumer_id[:12], "role": "BUYER"},
        "orderLineItemSummary": {
            "listingId": str(100_000 + int(review.id[:4], 16)),
            "orderLineItemId": review.reference_id,
        },
        "recipientUserDetail": {"userId": seller, "role": "SELLER"},
    }
    if state.reply_at is not None:
        item["replyComment"] = {
            "commentText": "Sorry! We have sent a replacement.",
            "commentEnteredDate": format_rfc3339(state.reply_at),
        }
    if state.followup_at is not None:
        item["followupComment"] = {
            "commentText": "Replacement arrived, thanks.",
            "commentEnteredDate": format_rfc3339(state.followup_at),
        }
    if review.malformed == "missing_id":
        del item["feedbackId"]
    elif review.malformed == "stars_as_text":
        item["commentType"] = "GOODISH"
    return item
