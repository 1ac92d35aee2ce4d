"""The Google Business Profile adapter: OAuth2 refresh token, v4 reviews newest-updated first, updateTime mark."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.google_business_items import PLATFORM, item_key, item_update_time, normalise_review
from services.pollers.adapters.http import AuthError, Requester, UnparseablePage
from services.pollers.adapters.oauth import OAuthToken
from services.pollers.adapters.trustpilot import HighWaterMark
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason, StormwatchError
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://mybusiness.googleapis.com"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
REVIEWS_PATH = "/v4/accounts/{account}/locations/{location}/reviews"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"account_id", "location_id", "page_size", "token_url"})


def _mark(data: Any) -> HighWaterMark:
    return HighWaterMark.from_cursor(data, "google_business") if data else HighWaterMark(EPOCH)


class GoogleBusinessAdapter:
    """One location's reviews. The list has no date filter and is ordered `updateTime desc`, so each poll is a sweep
    from the newest review down to the stored mark. The mark (newest updateTime published, keys at that instant)
    moves only when a sweep completes; a sweep in progress lives in the cursor too (`sweep`: the next pageToken and
    the mark it will leave), so a crash or the page budget resumes it instead of starting over. An edit or a new
    merchant reply bumps updateTime, so edited reviews come back at the top and become `review.updated` events.
    """

    platform = PLATFORM
    # Default quota: 300 queries per minute per project.
    default_rate_limit = RateLimit(per_second=5.0, burst=10)

    def __init__(
        self,
        source: SourceConfig,
        *,
        account_id: str,
        location_id: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        page_size: int = 50,
        token_url: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._page_size = page_size
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._reviews_url = base + REVIEWS_PATH.format(account=account_id, location=location_id)
        # Against a stand-in (the simulator) the token endpoint lives beside the API unless configured.
        url = token_url or (base + "/token" if source.base_url else GOOGLE_TOKEN_URL)
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        self._token = OAuthToken(url, form, what=f"google_business source {source.id}", monotonic=monotonic)
        self.credential_id = deterministic_id(PLATFORM, base, client_id)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> GoogleBusinessAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        ids = {}
        for name in ("account_id", "location_id"):
            value = source.options.get(name)
            if not isinstance(value, str) or not value or "/" in value:
                raise ConfigError(f"{where}.options.{name}: required, the numeric Google Business Profile {name}")
            ids[name] = value
        page_size = source.options.get("page_size", 50)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 50:
            raise ConfigError(f"{where}.options.page_size: expected an integer 1..50, got {page_size!r}")
        token_url = source.options.get("token_url")
        if token_url is not None and not isinstance(token_url, str):
            raise ConfigError(f"{where}.options.token_url: expected a URL")
        for name in ("client_id", "client_secret", "refresh_token"):
            if not source.credentials.get(name):
                raise ConfigError(f"{where}.credentials.{name}: required for Google Business Profile (OAuth2)")
        return cls(
            source,
            account_id=ids["account_id"],
            location_id=ids["location_id"],
            client_id=source.credentials["client_id"].reveal(),
            client_secret=source.credentials["client_secret"].reveal(),
            refresh_token=source.credentials["refresh_token"].reveal(),
            page_size=page_size,
            token_url=token_url,
        )

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        floor = _mark({k: cursor[k] for k in ("since", "ids_at_since") if k in cursor})
        sweep: dict[str, Any] | None = request.position or cursor.get("sweep")
        first_poll = request.cursor is None
        token = None if sweep is None else sweep.get("page_token")
        newest = floor if sweep is None else _mark(sweep.get("mark"))
        try:
            payload = await self._reviews(client, token)
        except StormwatchError as exc:
            if token is None or exc.reason is not Reason.CLIENT_ERROR:
                raise
            # A page token the platform no longer accepts: start the sweep over (duplicates are dropped downstream).
            token, newest = None, floor
            payload = await self._reviews(client, None)
        reviews, next_token = payload
        if first_poll and sweep is None:
            floor = newest = HighWaterMark(self._backfill_floor(reviews))
        items: list[RawItem] = []
        reached_floor = False
        for data in reviews:
            raw = orjson.dumps(data)
            updated, key = item_update_time(data), item_key(data, raw)
            if floor.covers(updated, key):
                if updated is not None and updated < floor.since:
                    reached_floor = True  # newest-first: everything after this is older still
                    break
                continue
            items.append(RawItem(raw, data))
            newest = newest.advance(updated, key)
        if reached_floor or not next_token:
            return Page(tuple(items), newest.to_cursor(), None)
        state = {"page_token": next_token, "mark": newest.to_cursor()}
        stored = {**floor.to_cursor(), "sweep": state}
        return Page(tuple(items), stored, PageRequest(stored, state))

    def _backfill_floor(self, reviews: list[Any]) -> datetime:
        """`backfill_hours` before the newest updateTime the platform shows (its clock, not ours)."""
        anchor = next((t for t in map(item_update_time, reviews) if t is not None), None)
        if anchor is None:
            return EPOCH
        seconds = self._source.backfill_hours * 3600
        if seconds >= (anchor - EPOCH).total_seconds():
            return EPOCH
        return anchor - timedelta(seconds=seconds)

    async def _reviews(self, client: Requester, page_token: str | None) -> tuple[list[Any], str | None]:
        params = {"pageSize": str(self._page_size), "orderBy": "updateTime desc"}
        if page_token:
            params["pageToken"] = page_token
        what = f"google_business reviews of source {self._source.id}"
        for attempt in (1, 2):
            bearer = await self._token.get(client)
            try:
                response = await client.request(
                    "GET", self._reviews_url, headers={"Authorization": f"Bearer {bearer}"}, params=params
                )
            except AuthError as exc:
                self._token.invalidate()
                if exc.status == 401 and attempt == 1:
                    continue
                raise AuthError(f"{what}: HTTP {exc.status} (no access to this location?)", status=exc.status) from exc
            payload = response.json(what)
            if not isinstance(payload, dict):
                raise UnparseablePage(
                    f"{what}: response is not an object", body=response.body, reason=Reason.SCHEMA_INVALID
                )
            reviews = payload.get("reviews", [])  # an empty location omits the field
            next_token = payload.get("nextPageToken")
            if not isinstance(reviews, list) or not (next_token is None or isinstance(next_token, str)):
                raise UnparseablePage(
                    f"{what}: response has no reviews list", body=response.body, reason=Reason.SCHEMA_INVALID
                )
            return reviews, next_token
        raise AssertionError("unreachable: the second attempt returns or raises")
