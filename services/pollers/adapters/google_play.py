"""The Google Play adapter: a service-account token (JWT bearer grant), Android Publisher v3 reviews newest-modified
first with `token` paging, a lastModified high-water mark (edits and developer replies come back as updates)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.pollers.adapters.app_store_jwt import SigningKey, load_signing_key, sign_jwt
from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.google_play_items import PLATFORM, item_key, last_modified, normalise_review
from services.pollers.adapters.http import AuthError, Requester, UnparseablePage
from services.pollers.adapters.oauth import token_fields
from services.pollers.adapters.trustpilot import HighWaterMark
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason, StormwatchError
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://androidpublisher.googleapis.com"
REVIEWS_PATH = "/androidpublisher/v3/applications/{package}/reviews"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"package_name", "max_results", "translation_language"})


class ServiceAccountToken:
    """An access token for a service account: a signed JWT assertion exchanged at the key's token_uri, cached and
    renewed a little before it expires. A 400/401 from the token endpoint (invalid_grant) is an AuthError."""

    def __init__(
        self, email: str, key: SigningKey, token_uri: str, *, what: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._email = email
        self._key = key
        self._uri = token_uri
        self._what = what
        self._monotonic = monotonic
        self._token: str | None = None
        self._expires_at = 0.0

    def invalidate(self) -> None:
        self._token = None

    async def get(self, client: Requester) -> str:
        if self._token is not None and self._monotonic() < self._expires_at:
            return self._token
        issued = int(time.time())
        claims = {"iss": self._email, "scope": SCOPE, "aud": self._uri, "iat": issued, "exp": issued + 3600}
        form = {"grant_type": JWT_BEARER, "assertion": sign_jwt(claims, self._key)}
        asked_at = self._monotonic()
        try:
            response = await client.request("POST", self._uri, data=form)
        except AuthError as exc:
            raise AuthError(f"{self._what}: token endpoint refused the service account", status=exc.status) from exc
        except StormwatchError as exc:
            if exc.reason is Reason.CLIENT_ERROR:  # 400 invalid_grant: a deleted or disabled key
                raise AuthError(f"{self._what}: token endpoint refused the assertion ({exc})", status=400) from exc
            raise
        token, lifetime = token_fields(response.json(f"{self._what} access token"), self._what)
        self._token = token
        self._expires_at = asked_at + lifetime - min(300.0, lifetime * 0.1)
        return token


class GooglePlayAdapter:
    """One app's reviews. Play lists only reviews modified in about the last week, newest-modified first, with no
    date filter: each poll sweeps from the top down to the stored mark (newest lastModified published, keys at that
    instant), keeping an unfinished sweep (`token`, mark so far) in the cursor. An edit or a developer reply moves
    lastModified, so the review comes back at the top and the poll loop publishes it as `review.updated`.
    """

    platform = PLATFORM
    # The reviews API allows 200 GET requests per hour per app by default (the "reviews" quota bucket).
    default_rate_limit = RateLimit(per_second=200 / 3600, burst=10)

    def __init__(
        self,
        source: SourceConfig,
        *,
        package_name: str,
        client_email: str,
        key: SigningKey,
        token_uri: str,
        max_results: int = 100,
        translation_language: str | None = None,
    ) -> None:
        self._source = source
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + REVIEWS_PATH.format(package=package_name)
        self._max_results = max_results
        self._translation = translation_language
        self._token = ServiceAccountToken(client_email, key, token_uri, what=f"google_play source {source.id}")
        self.credential_id = deterministic_id(PLATFORM, base, client_email, package_name)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> GooglePlayAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        package = source.options.get("package_name")
        if not isinstance(package, str) or not package or "/" in package:
            raise ConfigError(f"{where}.options.package_name: required, the app's package name (com.example.app)")
        max_results = source.options.get("max_results", 100)
        if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= 100:
            raise ConfigError(f"{where}.options.max_results: expected an integer 1..100, got {max_results!r}")
        translation = source.options.get("translation_language")
        if translation is not None and not isinstance(translation, str):
            raise ConfigError(f"{where}.options.translation_language: expected a language tag such as en")
        secret = source.credentials.get("service_account_json")
        if not secret:
            raise ConfigError(f"{where}.credentials.service_account_json: required, the service account's JSON key")
        bad_key = ConfigError(
            f"{where}.credentials.service_account_json: not a service account key "
            "(JSON with client_email, private_key (PEM) and token_uri)"
        )
        try:
            document = orjson.loads(secret.reveal())
            email, pem, token_uri = (document.get(k) for k in ("client_email", "private_key", "token_uri"))
        except (orjson.JSONDecodeError, AttributeError):
            raise bad_key from None
        if not isinstance(email, str) or not isinstance(token_uri, str) or not isinstance(pem, str) or not email:
            raise bad_key
        try:
            key = load_signing_key(pem)
        except ValueError:
            raise bad_key from None
        return cls(
            source,
            package_name=package,
            client_email=email,
            key=key,
            token_uri=token_uri,
            max_results=max_results,
            translation_language=translation,
        )

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        floor = _mark({k: cursor[k] for k in ("since", "ids_at_since") if k in cursor}, self._source.id)
        sweep: dict[str, Any] | None = request.position or cursor.get("sweep")
        token = None if sweep is None else sweep.get("token")
        newest = floor if sweep is None else _mark(sweep.get("mark"), self._source.id)
        try:
            reviews, next_token = await self._reviews(client, token)
        except StormwatchError as exc:
            if token is None or exc.reason is not Reason.CLIENT_ERROR:
                raise
            # A page token Play no longer accepts: sweep again from the top (re-served items are dropped later).
            newest = floor
            reviews, next_token = await self._reviews(client, None)
        if request.cursor is None and sweep is None:
            floor = newest = HighWaterMark(self._backfill_floor(reviews))
        items: list[RawItem] = []
        reached_floor = False
        for data in reviews:
            raw = orjson.dumps(data)
            modified, key = last_modified(data), item_key(data, raw)
            if floor.covers(modified, key):
                if modified is not None and modified < floor.since:
                    reached_floor = True  # newest-modified first: the rest is older still
                    break
                continue
            items.append(RawItem(raw, data))
            newest = newest.advance(modified, key)
        if reached_floor or not next_token:
            return Page(tuple(items), newest.to_cursor(), None)
        state = {"token": next_token, "mark": newest.to_cursor()}
        stored = {**floor.to_cursor(), "sweep": state}
        return Page(tuple(items), stored, PageRequest(stored, state))

    def _backfill_floor(self, reviews: list[Any]) -> datetime:
        anchor = next((t for t in map(last_modified, reviews) if t is not None), None)
        if anchor is None:
            return EPOCH
        seconds = self._source.backfill_hours * 3600
        return EPOCH if seconds >= (anchor - EPOCH).total_seconds() else anchor - timedelta(seconds=seconds)

    async def _reviews(self, client: Requester, page_token: str | None) -> tuple[list[Any], str | None]:
        params = {"maxResults": str(self._max_results)}
        if page_token:
            params["token"] = page_token
        if self._translation:
            params["translationLanguage"] = self._translation
        what = f"google_play reviews of source {self._source.id}"
        for attempt in (1, 2):
            bearer = await self._token.get(client)
            try:
                response = await client.request(
                    "GET", self._url, headers={"Authorization": f"Bearer {bearer}"}, params=params
                )
            except AuthError as exc:
                self._token.invalidate()
                if exc.status == 401 and attempt == 1:
                    continue
                raise AuthError(
                    f"{what}: HTTP {exc.status}; grant the service account access to this app in the Play Console",
                    status=exc.status,
                ) from exc
            payload = response.json(what)
            if not isinstance(payload, dict):
                raise UnparseablePage(
                    f"{what}: response is not an object", body=response.body, reason=Reason.SCHEMA_INVALID
                )
            reviews = payload.get("reviews", [])  # no recent reviews: the field is absent
            paging = payload.get("tokenPagination")
            next_token = paging.get("nextPageToken") if isinstance(paging, dict) else None
            if not isinstance(reviews, list) or not (next_token is None or isinstance(next_token, str)):
                raise UnparseablePage(
                    f"{what}: response has no reviews list", body=response.body, reason=Reason.SCHEMA_INVALID
                )
            return reviews, next_token
        raise AssertionError("unreachable: the second attempt returns or raises")


def _mark(data: Any, source_id: str) -> HighWaterMark:
    return HighWaterMark.from_cursor(data, source_id) if data else HighWaterMark(EPOCH)
