"""The Ecwid adapter: a store's product reviews (REST API v3) with a Bearer token, `updatedFrom` + offset paging,
an updateTimestamp high-water mark so that edited reviews come back (as `review.updated`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.ecwid_items import PLATFORM, item_key, normalise_review, updated_at
from services.pollers.adapters.http import AuthError, Requester, UnparseablePage
from services.pollers.adapters.trustpilot import HighWaterMark
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://app.ecwid.com"
REVIEWS_PATH = "/api/v3/{store_id}/reviews"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"store_id", "limit"})


class EcwidAdapter:
    """One store. `updatedFrom` = the stored mark (inclusive) with `sortBy=DATE_CREATED_DESC`: each poll is a short
    offset sweep over the reviews created or edited since the mark. A sweep in progress (offset, mark so far) lives in
    the cursor; the mark moves when the sweep completes. Reviews arriving while paging push older ones down, so a
    review can be served twice (dropped by its fingerprint) but is never skipped.
    """

    platform = PLATFORM
    # Ecwid allows about 600 requests per minute per token.
    default_rate_limit = RateLimit(per_second=5.0, burst=10)

    def __init__(self, source: SourceConfig, *, store_id: str, token: str, limit: int = 100) -> None:
        self._source = source
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + REVIEWS_PATH.format(store_id=store_id)
        self._token = token
        self._limit = limit
        self.credential_id = deterministic_id(PLATFORM, base, store_id, token)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> EcwidAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        store_id = source.options.get("store_id")
        if not isinstance(store_id, str) or not store_id.isdigit():
            raise ConfigError(f"{where}.options.store_id: required, the numeric Ecwid store id (as a string)")
        limit = source.options.get("limit", 100)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ConfigError(f"{where}.options.limit: expected an integer 1..100, got {limit!r}")
        if not source.credentials.get("token"):
            raise ConfigError(f"{where}.credentials.token: required for Ecwid (secret_... token with read_reviews)")
        return cls(source, store_id=store_id, token=source.credentials["token"].reveal(), limit=limit)

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
        reviews, total = await self._reviews(client, offset, int(floor.since.timestamp()))
        items: list[RawItem] = []
        for data in reviews:
            raw = orjson.dumps(data)
            updated, key = updated_at(data), item_key(data, raw)
            if floor.covers(updated, key):
                continue
            items.append(RawItem(raw, data))
            newest = newest.advance(updated, key)
        if len(reviews) < self._limit or offset + len(reviews) >= total:
            return Page(tuple(items), newest.to_cursor(), None)
        state = {"offset": offset + len(reviews), "mark": newest.to_cursor()}
        stored = {**floor.to_cursor(), "sweep": state}
        return Page(tuple(items), stored, PageRequest(stored, state))

    async def _backfill_floor(self, client: Requester) -> datetime:
        """`backfill_hours` before the newest review the store holds (its clock, not ours)."""
        newest, _total = await self._reviews(client, 0, 0, limit=1)
        anchor = updated_at(newest[0]) if newest else None
        if anchor is None:
            return EPOCH
        seconds = self._source.backfill_hours * 3600
        return EPOCH if seconds >= (anchor - EPOCH).total_seconds() else anchor - timedelta(seconds=seconds)

    async def _reviews(
        self, client: Requester, offset: int, updated_from: int, limit: int | None = None
    ) -> tuple[list[Any], int]:
        params = {
            "updatedFrom": str(updated_from),
            "sortBy": "DATE_CREATED_DESC",
            "offset": str(offset),
            "limit": str(limit or self._limit),
        }
        what = f"ecwid reviews of source {self._source.id}"
        try:
            response = await client.request(
                "GET", self._url, headers={"Authorization": f"Bearer {self._token}"}, params=params
            )
        except AuthError as exc:
            raise AuthError(
                f"{what}: Ecwid refused the token (HTTP {exc.status}); check {self._source.key_path}.credentials "
                "(the token needs the read_reviews scope)",
                status=exc.status,
            ) from exc
        payload = response.json(what)
        items = payload.get("items") if isinstance(payload, dict) else None
        total = payload.get("total") if isinstance(payload, dict) else None
        if not isinstance(items, list) or isinstance(total, bool) or not isinstance(total, int):
            raise UnparseablePage(
                f"{what}: response has no items list or total", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        return items, total
