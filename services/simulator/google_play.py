"""The simulated Google Play Developer API: service-account tokens (JWT bearer) and v3 app reviews of the last week."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from prometheus_client import Counter

from services.simulator.clock import SimClock
from services.simulator.google_business import ReviewState, state_at
from services.simulator.scenario import GoogleLocation, Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline, published_timeline

PLATFORM = "google_play"
TOKEN_PATH = "/oauth2/v4/token"  # noqa: S105 - a URL path
REVIEWS_PATH = "/androidpublisher/v3/applications/{package}/reviews"
TOKEN_TTL_SECONDS = 3599
WINDOW = timedelta(days=7)  # Play lists only reviews modified in about the last week
MAX_RESULTS = 100
# Replies and author edits as Google Business shows them (the same simulated behaviour, Play's shapes); the shares
# come from the scenario's `google_play` section. Whether a review has text does not depend on them.
_BEHAVIOUR = GoogleLocation("0", "0")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_jwt(token: str, key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> dict[str, Any] | None:
    """The claims of a compact RS256 / ES256 JWS signed by `key`, None when it is not (what the real services check)."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header, claims = orjson.loads(_unb64(header_b64)), orjson.loads(_unb64(claims_b64))
        signature, signed = _unb64(signature_b64), f"{header_b64}.{claims_b64}".encode()
        if isinstance(key, rsa.RSAPublicKey) and header.get("alg") == "RS256":
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey) and header.get("alg") == "ES256" and len(signature) == 64:
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        else:
            return None
    except (ValueError, binascii.Error, orjson.JSONDecodeError, InvalidSignature, AttributeError):
        return None
    return claims if isinstance(claims, dict) else None


class GooglePlayApi:
    """Reviews of every merchant with a `google_play` app; each merchant has its own service account key."""

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
        apps = {m.id: m.google_play for m in scenario.merchants if m.google_play is not None}
        self._by_package = {a.package_name: m for m, a in apps.items()}
        self._behaviour = {
            m: GoogleLocation("0", "0", reply_share=a.reply_share, edit_share=a.edit_share) for m, a in apps.items()
        }
        self._timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: a.baseline_per_hour for m, a in apps.items()}
        )
        # Ground truth for visible_reviews(): reviews with text (Play lists no others), under their Play ids.
        self.timeline = published_timeline(self._timeline, lambda r: f"gp:{r.id}", keep=_has_text)
        self._keys: dict[str, rsa.RSAPrivateKey] = {}  # made on first use: RSA key generation is slow-ish
        self._tokens: dict[str, tuple[str, float]] = {}
        self._calls = 0
        self._arrivals = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post(TOKEN_PATH, self.token), web.get(REVIEWS_PATH, self.reviews)]

    def _email(self, merchant_id: str) -> str:
        digest = hashlib.sha256(f"{self._scenario.seed}:{merchant_id}:play".encode()).hexdigest()[:6]
        return f"stormwatch-{digest}@{merchant_id}.iam.gserviceaccount.com"

    def service_account_json(self, merchant_id: str, base_url: str) -> str:
        """The JSON key file of the merchant's service account (its token_uri points at this simulator)."""
        self._scenario.merchant(merchant_id)
        key = self._keys.get(merchant_id)
        if key is None:
            key = self._keys[merchant_id] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        document = {
            "type": "service_account",
            "client_email": self._email(merchant_id),
            "private_key_id": hashlib.sha256(pem.encode()).hexdigest()[:40],
            "private_key": pem,
            "token_uri": base_url.rstrip("/") + TOKEN_PATH,
        }
        return orjson.dumps(document).decode()

    def expire_tokens(self) -> None:
        self._tokens = {t: (m, float("-inf")) for t, (m, _e) in self._tokens.items()}

    def visible(self, merchant_id: str, now: datetime) -> list[ReviewState]:
        """Ground truth: what Play lists at `now`: reviews with text, modified within the last week."""
        if merchant_id not in self._timeline.merchant_ids:
            return []
        behaviour = self._behaviour[merchant_id]
        states = [_state(r, behaviour, now) for r in self._timeline.visible(merchant_id, now)]
        return [s for s in states if s.comment is not None and s.updated_at > now - WINDOW]

    def _reply(self, status: int, body: object) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def _error(self, status: int, message: str, reason: str) -> web.Response:
        return self._reply(status, {"error": {"code": status, "message": message, "status": reason}})

    async def token(self, request: web.Request) -> web.Response:
        """POST grant_type=jwt-bearer with a signed assertion: 400 invalid_grant unless a known key signed it."""
        form = await request.post()
        assertion = form.get("assertion")
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not isinstance(assertion, str):
            return self._reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        for merchant, key in self._keys.items():
            claims = verify_jwt(assertion, key.public_key())
            if claims is not None and claims.get("iss") == self._email(merchant):
                if not str(claims.get("aud", "")).endswith(TOKEN_PATH) or float(claims.get("exp", 0)) < time.time():
                    return self._reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT: aud/exp"})
                token = "ya29." + secrets.token_urlsafe(24)
                self._tokens[token] = (merchant, self._monotonic() + TOKEN_TTL_SECONDS)
                return self._reply(
                    200, {"access_token": token, "expires_in": TOKEN_TTL_SECONDS, "token_type": "Bearer"}
                )
        return self._reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})

    async def reviews(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one return per refusal
        """GET an app's reviews, newest-modified first: maxResults (<= 100), opaque `token` paging."""
        self._on_reviews_request()
        faults = self._scenario.faults
        self._arrivals += 1
        if faults.slow_every and self._arrivals % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)
        self._calls += 1
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            return self._error(429, "Quota exceeded for quota group 'reviews'", "RESOURCE_EXHAUSTED")
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(503, "The service is currently unavailable.", "UNAVAILABLE")
        header = request.headers.get("Authorization", "")
        grant = self._tokens.get(header.removeprefix("Bearer ").strip())
        if grant is None or grant[1] <= self._monotonic():
            return self._error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        merchant = self._by_package.get(request.match_info["package"])
        if merchant is None or merchant != grant[0]:
            return self._error(403, "The current user has insufficient permissions.", "PERMISSION_DENIED")
        try:
            size = min(int(request.query.get("maxResults", "10")), MAX_RESULTS)
            offset, snapshot = _decode(request.query["token"]) if "token" in request.query else (0, self._clock.now())
        except (ValueError, KeyError, binascii.Error, orjson.JSONDecodeError):
            return self._error(400, "Invalid token", "INVALID_ARGUMENT")
        if size < 1:
            return self._error(400, "Invalid maxResults", "INVALID_ARGUMENT")
        states = sorted(self.visible(merchant, snapshot), key=lambda s: (s.updated_at, s.review.id), reverse=True)
        page = states[offset : offset + size]
        body: dict[str, Any] = {"pageInfo": {"totalResults": len(states), "resultPerPage": size, "startIndex": offset}}
        if page:
            body["reviews"] = [render_review(s) for s in page]
        if offset + size < len(states):
            body["tokenPagination"] = {"nextPageToken": _encode(offset + size, snapshot)}
        return self._reply(200, body)


def _state(review: SimReview, behaviour: GoogleLocation, now: datetime) -> ReviewState:
    """Replies and edits as Google Business shows them; broken reviews stay as they are (one dead letter each)."""
    state = state_at(review, behaviour, now)
    if review.malformed:
        return ReviewState(review, review.stars, state.comment, None, review.created_at)
    return state


def _has_text(review: SimReview) -> bool:
    return state_at(review, _BEHAVIOUR, review.created_at).comment is not None


def _seconds(moment: datetime) -> dict[str, Any]:
    return {"seconds": str(int(moment.timestamp())), "nanos": 0}


def render_review(state: ReviewState) -> dict[str, Any]:
    """A Review: developer reply first in `comments` for some (order is not guaranteed); malformed ones broken."""
    review = state.review
    written = state.updated_at if state.updated_at != state.reply_at else review.created_at
    user: dict[str, Any] = {
        "text": f"{review.title}\t{state.comment}",
        "lastModified": _seconds(written),
        "starRating": state.stars,
        "reviewerLanguage": review.language,
        "device": "a15",
        "androidOsVersion": 34,
        "appVersionCode": 421,
        "appVersionName": "4.2.1",
        "thumbsUpCount": review.likes,
        "thumbsDownCount": 0,
    }
    comments: list[dict[str, Any]] = [{"userComment": user}]
    if state.reply_at is not None:
        developer = {"text": "Thanks for the feedback, we are on it.", "lastModified": _seconds(state.reply_at)}
        comments.insert(0 if int(review.id[:2], 16) % 2 else 1, {"developerComment": developer})
    item: dict[str, Any] = {"reviewId": f"gp:{review.id}", "authorName": review.consumer_name, "comments": comments}
    if review.malformed == "missing_id":
        del item["reviewId"]
    elif review.malformed == "stars_as_text":
        user["starRating"] = f"{state.stars} stars"
    return item


def _encode(offset: int, snapshot: datetime) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset, "t": snapshot.timestamp()})).decode("ascii")


def _decode(token: str) -> tuple[int, datetime]:
    data = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    offset = int(data["o"])
    if offset < 0:
        raise ValueError("negative offset")
    return offset, datetime.fromtimestamp(float(data["t"]), tz=UTC)
