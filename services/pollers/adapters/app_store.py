"""The App Store Connect adapter: ES256 JWTs from the .p8 API key, customerReviews newest first via links.next,
a createdDate high-water mark."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson

from services.pollers.adapters.app_store_items import PLATFORM, created_date, item_key, normalise_review
from services.pollers.adapters.app_store_jwt import SigningKey, load_signing_key, sign_jwt
from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.http import AuthError, HttpResponse, PlatformError, Requester, UnparseablePage
from services.pollers.adapters.trustpilot import HighWaterMark
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason, StormwatchError
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://api.appstoreconnect.apple.com"
REVIEWS_PATH = "/v1/apps/{app_id}/customerReviews"
AUDIENCE = "appstoreconnect-v1"
# Apple refuses tokens that live longer than 20 minutes; a fresh one is made well before that.
TOKEN_LIFETIME_SECONDS = 20 * 60
TOKEN_REUSE_SECONDS = 15 * 60
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"app_id", "limit", "territory"})


class AppStoreToken:
    """The ES256 bearer JWT App Store Connect wants: iss = issuer id, kid = key id, aud appstoreconnect-v1."""

    def __init__(
        self,
        issuer_id: str,
        key_id: str,
        key: SigningKey,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer_id
        self._key_id = key_id
        self._key = key
        self._monotonic = monotonic
        self._wall = wall
        self._token: str | None = None
        self._made_at = 0.0

    def invalidate(self) -> None:
        self._token = None

    def get(self) -> str:
        if self._token is not None and self._monotonic() - self._made_at < TOKEN_REUSE_SECONDS:
            return self._token
        issued = int(self._wall())
        claims = {"iss": self._issuer, "iat": issued, "exp": issued + TOKEN_LIFETIME_SECONDS, "aud": AUDIENCE}
        self._token = sign_jwt(claims, self._key, kid=self._key_id)
        self._made_at = self._monotonic()
        return self._token


class AppStoreAdapter:
    """One app's customer reviews, newest first (`sort=-createdDate`). Each poll sweeps from the top down to the
    stored mark (newest createdDate published, ids at that instant), following `links.next`; an unfinished sweep
    (the next link, the mark so far) is kept in the cursor. Apple keeps no edit time, so edits of old reviews and
    responses written after a review was first polled are not seen.
    """

    platform = PLATFORM
    # App Store Connect allows about 3,600 requests per hour per key (the X-Rate-Limit header says so).
    default_rate_limit = RateLimit(per_second=1.0, burst=10)

    def __init__(
        self,
        source: SourceConfig,
        *,
        app_id: str,
        issuer_id: str,
        key_id: str,
        key: SigningKey,
        limit: int = 200,
        territory: str | None = None,
    ) -> None:
        self._source = source
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._origin = urlsplit(base)._replace(path="", query="", fragment="").geturl()
        self._url = base + REVIEWS_PATH.format(app_id=app_id)
        self._limit = limit
        self._territory = territory
        self._token = AppStoreToken(issuer_id, key_id, key)
        self.credential_id = deterministic_id(PLATFORM, base, issuer_id, key_id)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> AppStoreAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        app_id = source.options.get("app_id")
        if not isinstance(app_id, str) or not app_id.isdigit():
            raise ConfigError(f"{where}.options.app_id: required, the numeric Apple app id (as a string)")
        limit = source.options.get("limit", 200)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
            raise ConfigError(f"{where}.options.limit: expected an integer 1..200, got {limit!r}")
        territory = source.options.get("territory")
        if territory is not None and not (isinstance(territory, str) and territory.isalpha()):
            raise ConfigError(f"{where}.options.territory: expected a territory code such as USA")
        for name in ("issuer_id", "key_id", "private_key"):
            if not source.credentials.get(name):
                raise ConfigError(f"{where}.credentials.{name}: required for App Store Connect (API key)")
        try:
            key = load_signing_key(source.credentials["private_key"].reveal())
        except ValueError as exc:
            raise ConfigError(f"{where}.credentials.private_key: the .p8 key's PEM text is unreadable: {exc}") from None
        return cls(
            source,
            app_id=app_id,
            issuer_id=source.credentials["issuer_id"].reveal(),
            key_id=source.credentials["key_id"].reveal(),
            key=key,
            limit=limit,
            territory=territory,
        )

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        floor = _mark({k: cursor[k] for k in ("since", "ids_at_since") if k in cursor}, self._source.id)
        sweep: dict[str, Any] | None = request.position or cursor.get("sweep")
        next_url = None if sweep is None else sweep.get("next")
        newest = floor if sweep is None else _mark(sweep.get("mark"), self._source.id)
        try:
            items_data, following = await self._reviews(client, next_url)
        except StormwatchError as exc:
            if next_url is None or exc.reason is not Reason.CLIENT_ERROR:
                raise
            newest = floor  # an expired paging cursor: sweep again from the top
            items_data, following = await self._reviews(client, None)
        if request.cursor is None and sweep is None:
            floor = newest = HighWaterMark(self._backfill_floor(items_data))
        items: list[RawItem] = []
        reached_floor = False
        for data in items_data:
            raw = orjson.dumps(data)
            created, key = created_date(data), item_key(data, raw)
            if floor.covers(created, key):
                if created is not None and created < floor.since:
                    reached_floor = True
                    break
                continue
            items.append(RawItem(raw, data))
            newest = newest.advance(created, key)
        if reached_floor or following is None:
            return Page(tuple(items), newest.to_cursor(), None)
        state = {"next": following, "mark": newest.to_cursor()}
        stored = {**floor.to_cursor(), "sweep": state}
        return Page(tuple(items), stored, PageRequest(stored, state))

    def _backfill_floor(self, items: list[Any]) -> datetime:
        anchor = next((t for t in map(created_date, items) if t is not None), None)
        if anchor is None:
            return EPOCH
        seconds = self._source.backfill_hours * 3600
        return EPOCH if seconds >= (anchor - EPOCH).total_seconds() else anchor - timedelta(seconds=seconds)

    async def _reviews(self, client: Requester, next_url: str | None) -> tuple[list[Any], str | None]:
        """One page as items {review, response} and the next link (None on the last page)."""
        what = f"app_store reviews of source {self._source.id}"
        params: dict[str, str] | None = None
        url = next_url or self._url
        if next_url is None:
            params = {"sort": "-createdDate", "limit": str(self._limit), "include": "response"}
            if self._territory:
                params["filter[territory]"] = self._territory
        for attempt in (1, 2):
            try:
                response = await client.request(
                    "GET", url, headers={"Authorization": f"Bearer {self._token.get()}"}, params=params
                )
            except AuthError as exc:
                self._token.invalidate()
                if exc.status == 401 and attempt == 1:
                    continue
                raise AuthError(
                    f"{what}: HTTP {exc.status}; check {self._source.key_path}.credentials (issuer_id, key_id, "
                    "private_key) and the key's access to this app",
                    status=exc.status,
                ) from exc
            return self._page(response, what)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _page(self, answer: HttpResponse, what: str) -> tuple[list[Any], str | None]:
        payload = answer.json(what)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise UnparseablePage(f"{what}: response has no data list", body=answer.body, reason=Reason.SCHEMA_INVALID)
        included = payload.get("included")
        responses = {
            r["id"]: r
            for r in (included if isinstance(included, list) else [])
            if isinstance(r, dict) and r.get("type") == "customerReviewResponses" and isinstance(r.get("id"), str)
        }
        items = []
        for review in data:
            response_id = _dig(review, "relationships", "response", "data", "id")
            response = responses.get(response_id) if isinstance(response_id, str) else None
            items.append({"review": review, "response": response})
        links = payload.get("links")
        following = links.get("next") if isinstance(links, dict) else None
        if following is not None and (not isinstance(following, str) or not following.startswith(self._origin + "/")):
            # Never send the bearer token to another host, whatever the response says.
            raise PlatformError(f"{what}: links.next points outside the API", reason=Reason.SERVER_ERROR)
        return items, following


def _mark(data: Any, source_id: str) -> HighWaterMark:
    return HighWaterMark.from_cursor(data, source_id) if data else HighWaterMark(EPOCH)


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
