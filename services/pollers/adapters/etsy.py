"""The Etsy adapter: x-api-key, shop reviews newest first by limit/offset, a create_timestamp high-water mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.etsy_items import PLATFORM, created_epoch, item_key, normalise_review
from services.pollers.adapters.http import AuthError, Requester, UnparseablePage
from services.pollers.adapters.localtime import from_epoch
from services.pollers.adapters.trustpilot import HighWaterMark
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://openapi.etsy.com"
REVIEWS_PATH = "/v3/application/shops/{shop_id}/reviews"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"shop_id", "limit"})


class EtsyAdapter:
    """One shop. Reviews come newest first with `min_created` at the stored mark, so each poll is a short sweep
    down to the mark; the mark (newest create_timestamp, transaction ids at it) moves when the sweep completes,
    and a sweep in progress is kept in the cursor (`sweep.offset`). Reviews that arrive while paging shift the
    offsets, which can re-serve an item but never skip one; re-served items are dropped by their fingerprint.
    """

    platform = PLATFORM
    # Etsy's default per-key quota: 10 queries per second, 10,000 per day.
    default_rate_limit = RateLimit(per_second=5.0, burst=5)

    def __init__(self, source: SourceConfig, *, shop_id: str, api_key: str, limit: int = 100) -> None:
        self._source = source
        self._limit = limit
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + REVIEWS_PATH.format(shop_id=shop_id)
        self._api_key = api_key
        self.credential_id = deterministic_id(PLATFORM, base, api_key)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> EtsyAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        shop_id = source.options.get("shop_id")
        if not isinstance(shop_id, str) or not shop_id.isdigit():
            raise ConfigError(f"{where}.options.shop_id: required, the numeric Etsy shop id (as a string)")
        limit = source.options.get("limit", 100)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ConfigError(f"{where}.options.limit: expected an integer 1..100, got {limit!r}")
        if not source.credentials.get("api_key"):
            raise ConfigError(f"{where}.credentials.api_key: required for Etsy (the app's keystring)")
        return cls(source, shop_id=shop_id, api_key=source.credentials["api_key"].reveal(), limit=limit)

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        floor = HighWaterMark.from_cursor(cursor, self._source.id) if "since" in cursor else HighWaterMark(EPOCH)
        sweep: dict[str, Any] | None = request.position or cursor.get("sweep")
        offset = 0 if sweep is None else int(sweep["offset"])
        newest = floor if sweep is None else HighWaterMark.from_cursor(sweep["mark"], self._source.id)
        if request.cursor is None and sweep is None:
            floor = newest = HighWaterMark(await self._backfill_floor(client))
        results = await self._reviews(client, offset, int(floor.since.timestamp()))
        items: list[RawItem] = []
        for data in results:
            raw = orjson.dumps(data)
            epoch, key = created_epoch(data), item_key(data, raw)
            created = None if epoch is None else from_epoch(epoch)
            if floor.covers(created, key):
                continue
            items.append(RawItem(raw, data))
            newest = newest.advance(created, key)
        if len(results) < self._limit:
            return Page(tuple(items), newest.to_cursor(), None)
        state = {"offset": offset + len(results), "mark": newest.to_cursor()}
        stored = {**floor.to_cursor(), "sweep": state}
        return Page(tuple(items), stored, PageRequest(stored, state))

    async def _backfill_floor(self, client: Requester) -> datetime:
        newest = await self._reviews(client, 0, 0, limit=1)
        epoch = created_epoch(newest[0]) if newest else None
        if epoch is None:
            return EPOCH
        anchor = from_epoch(epoch)
        seconds = self._source.backfill_hours * 3600
        return EPOCH if seconds >= (anchor - EPOCH).total_seconds() else anchor - timedelta(seconds=seconds)

    async def _reviews(self, client: Requester, offset: int, min_created: int, limit: int | None = None) -> list[Any]:
        params = {"limit": str(limit or self._limit), "offset": str(offset), "min_created": str(min_created)}
        what = f"etsy reviews of source {self._source.id}"
        try:
            response = await client.request("GET", self._url, headers={"x-api-key": self._api_key}, params=params)
        except AuthError as exc:
            raise AuthError(
                f"{what}: Etsy refused the api_key (HTTP {exc.status}); check {self._source.key_path}.credentials",
                status=exc.status,
            ) from exc
        payload = response.json(what)
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise UnparseablePage(
                f"{what}: response has no results list", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        return results
