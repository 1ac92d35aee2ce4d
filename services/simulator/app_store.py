"""The simulated App Store Connect API: ES256 API-key JWTs, customerReviews newest first, links.next, responses."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import Counter

from services.shared.timeutil import format_rfc3339
from services.simulator.clock import SimClock
from services.simulator.google_play import verify_jwt
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline

PLATFORM = "app_store"
REVIEWS_PATH = "/v1/apps/{app_id}/customerReviews"
MAX_LIMIT = 200
MAX_TOKEN_SECONDS = 20 * 60
_CUPERTINO = ZoneInfo("America/Los_Angeles")
_TERRITORIES = ("USA", "GBR", "DEU", "NLD", "FRA", "JPN", "CHN")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _api_key(scenario: Scenario, merchant_id: str) -> tuple[str, ec.EllipticCurvePrivateKey]:
    scenario.merchant(merchant_id)
    digest = hashlib.sha256(f"{scenario.seed}:{merchant_id}:app_store".encode()).hexdigest()
    return digest, ec.derive_private_key(int(digest, 16) % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def credentials_for(scenario: Scenario, merchant_id: str) -> tuple[str, str, str]:
    """(issuer_id, key_id, private_key PEM) of the merchant's App Store Connect API key (deterministic)."""
    digest, key = _api_key(scenario, merchant_id)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    issuer = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return issuer, digest[32:42].upper(), pem.decode()


def response_at(review: SimReview) -> datetime | None:
    """When the developer answered (some reviews, two hours after they were written), None for the rest."""
    return review.created_at + timedelta(hours=2) if int(review.id[-4:], 16) % 5 < 2 else None


class AppStoreApi:
    """customerReviews for every merchant with an `app_store` app."""

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
        apps = {m.id: m.app_store for m in scenario.merchants if m.app_store is not None}
        self._by_app = {a.app_id: m for m, a in apps.items()}
        self.timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: a.baseline_per_hour for m, a in apps.items()}
        )
        self._keys: dict[str, tuple[str, ec.EllipticCurvePublicKey]] = {}
        self._issuers: dict[str, str] = {}
        for merchant in apps:
            issuer, key_id, _pem = credentials_for(scenario, merchant)
            self._keys[key_id] = (merchant, _api_key(scenario, merchant)[1].public_key())
            self._issuers[merchant] = issuer
        self._calls = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get(REVIEWS_PATH, self.reviews)]

    def _reply(self, status: int, body: object) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def _error(self, status: int, code: str, title: str) -> web.Response:
        error = {"id": f"sim-{self._calls}", "status": str(status), "code": code, "title": title, "detail": title}
        return self._reply(status, {"errors": [error]})

    def _authorised(self, request: web.Request) -> str | None:
        """The merchant whose API key signed the bearer JWT, if it is valid now (kid, iss, aud, lifetime)."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            header = orjson.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        except (ValueError, binascii.Error, orjson.JSONDecodeError, IndexError):
            return None
        entry = self._keys.get(header.get("kid", "")) if isinstance(header, dict) else None
        if entry is None:
            return None
        merchant, public = entry
        claims = verify_jwt(token, public)
        if claims is None or claims.get("iss") != self._issuers[merchant] or claims.get("aud") != "appstoreconnect-v1":
            return None
        issued, expires, now = claims.get("iat", 0), claims.get("exp", 0), time.time()
        if not isinstance(issued, int) or not isinstance(expires, int) or expires - issued > MAX_TOKEN_SECONDS:
            return None
        return merchant if issued - 60 <= now < expires else None

    async def reviews(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one return per refusal
        """GET customerReviews: sort (-createdDate), limit <= 200, include=response, filter[territory], cursor."""
        self._on_reviews_request()
        self._calls += 1
        faults = self._scenario.faults
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)  # a slow answer: the client's timeout fires first
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            return self._error(429, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.")
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
        merchant = self._authorised(request)
        if merchant is None:
            return self._error(401, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.")
        app_id = request.match_info["app_id"]
        if self._by_app.get(app_id) != merchant:
            return self._error(404, "NOT_FOUND", "The specified resource does not exist")
        query = request.query
        try:
            limit = int(query.get("limit", "50"))
            offset, snapshot = _decode(query["cursor"]) if "cursor" in query else (0, self._clock.now())
        except (ValueError, KeyError, binascii.Error, orjson.JSONDecodeError):
            return self._error(400, "PARAMETER_ERROR.INVALID", "The cursor or limit is invalid.")
        if not 1 <= limit <= MAX_LIMIT or query.get("sort", "-createdDate") != "-createdDate":
            return self._error(400, "PARAMETER_ERROR.INVALID", "limit 1..200; this simulator sorts by -createdDate")
        territory = query.get("filter[territory]")
        found = [
            r
            for r in reversed(self.timeline.visible(merchant, snapshot))
            if territory is None or _territory(r) == territory
        ]
        page = found[offset : offset + limit]
        include = "response" in query.get("include", "").split(",")
        body: dict[str, Any] = {
            "data": [render_review(r, snapshot) for r in page],
            "links": {"self": str(request.url)},
            "meta": {"paging": {"total": len(found), "limit": limit}},
        }
        if include:
            body["included"] = [render_response(r) for r in page if (response_at(r) or snapshot) < snapshot]
        if offset + limit < len(found):
            following = request.url.with_query(
                {"cursor": _encode(offset + limit, snapshot), "limit": str(limit), "sort": "-createdDate"}
                | ({"include": query["include"]} if "include" in query else {})
                | ({"filter[territory]": territory} if territory else {})
            )
            body["links"]["next"] = str(following)
        return self._reply(200, body)


def _territory(review: SimReview) -> str:
    return _TERRITORIES[int(review.id[:4], 16) % len(_TERRITORIES)]


def render_review(review: SimReview, now: datetime) -> dict[str, Any]:
    """A customerReviews resource; malformed ones lose their id or spell the rating."""
    answered = response_at(review)
    response = {"type": "customerReviewResponses", "id": f"r-{review.id}"} if answered and answered < now else None
    item: dict[str, Any] = {
        "type": "customerReviews",
        "id": review.id,
        "attributes": {
            "rating": review.stars,
            "title": review.title,
            "body": review.text,
            "reviewerNickname": review.consumer_name,
            # Apple writes Cupertino time with its offset, e.g. 2026-11-02T04:00:00-08:00.
            "createdDate": review.created_at.astimezone(_CUPERTINO).isoformat(timespec="seconds"),
            "territory": _territory(review),
        },
        "relationships": {"response": {"data": response}},
    }
    if review.malformed == "missing_id":
        del item["id"]
    elif review.malformed == "stars_as_text":
        item["attributes"]["rating"] = f"{review.stars} stars"
    return item


def render_response(review: SimReview) -> dict[str, Any]:
    answered = response_at(review) or review.created_at
    return {
        "type": "customerReviewResponses",
        "id": f"r-{review.id}",
        "attributes": {
            "responseBody": "Thank you for the review, an update fixing this is on its way.",
            "lastModifiedDate": format_rfc3339(answered),
            "state": "PUBLISHED",
        },
    }


def _encode(offset: int, snapshot: datetime) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset, "t": snapshot.timestamp()})).decode("ascii")


def _decode(token: str) -> tuple[int, datetime]:
    data = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    offset = int(data["o"])
    if offset < 0:
        raise ValueError("negative offset")
    return offset, datetime.fromtimestamp(float(data["t"]), tz=UTC)
