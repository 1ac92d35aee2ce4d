"""The Trustpilot adapter: OAuth business-user token, the private reviews list, and a createdAt high-water mark."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.pollers.adapters.base import (
    Cursor,
    Page,
    PageRequest,
    RateLimit,
    RawItem,
    reject_unknown_options,
)
from services.pollers.adapters.http import AuthError, PlatformError, Requester, UnparseablePage
from services.pollers.adapters.trustpilot_items import PLATFORM, item_created_at, item_key, normalise_review
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason, StormwatchError
from services.shared.events import ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

DEFAULT_BASE_URL = "https://api.trustpilot.com"
TOKEN_PATH = "/v1/oauth/oauth-business-users-for-applications/accesstoken"  # noqa: S105 - a URL path
REVIEWS_PATH = "/v1/private/business-units/{business_unit_id}/reviews"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"business_unit_id", "per_page", "grant_type"})


@dataclass(frozen=True)
class HighWaterMark:
    """Cursor: the newest createdAt published so far, and the keys already published at exactly that instant.

    Trustpilot filters with an inclusive startDateTime, so the next poll asks from `since` again and skips the keys
    it already published there: nothing is lost at a shared timestamp, nothing is published twice.
    """

    since: datetime
    keys_at_since: frozenset[str] = frozenset()

    @classmethod
    def from_cursor(cls, cursor: Cursor, source_id: str) -> HighWaterMark:
        since, keys = cursor.get("since"), cursor.get("ids_at_since")
        unreadable = StormwatchError(f"stored cursor of source {source_id} is unreadable: {cursor!r:.200}")
        if not isinstance(since, str) or not isinstance(keys, list):
            raise unreadable
        try:
            return cls(parse_rfc3339(since), frozenset(str(k) for k in keys))
        except ValueError:
            raise unreadable from None

    def to_cursor(self) -> Cursor:
        return {"since": format_rfc3339(self.since), "ids_at_since": sorted(self.keys_at_since)}

    def covers(self, created: datetime | None, key: str) -> bool:
        """Whether an item at `created` with `key` was already published (undated items never are)."""
        if created is None:
            return False
        return created < self.since or (created == self.since and key in self.keys_at_since)

    def advance(self, created: datetime | None, key: str) -> HighWaterMark:
        if created is None or created < self.since:
            return self
        if created > self.since:
            return HighWaterMark(created, frozenset({key}))
        return HighWaterMark(self.since, self.keys_at_since | {key})


class TrustpilotAdapter:
    """One business unit polled with Trustpilot's documented recipe: createdat.asc, perPage=100, page=1.. ."""

    platform = PLATFORM
    # Trustpilot asks for at most 833 calls per 5 minutes (and 10,000 per hour) per application.
    default_rate_limit = RateLimit(per_second=833 / 300, burst=10)

    def __init__(
        self,
        source: SourceConfig,
        *,
        business_unit_id: str,
        api_key: str,
        api_secret: str,
        grant_type: str = "client_credentials",
        username: str | None = None,
        password: str | None = None,
        per_page: int = 100,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._business_unit_id = business_unit_id
        self._api_key = api_key
        self._api_secret = api_secret
        self._grant_type = grant_type
        self._username = username
        self._password = password
        self._per_page = per_page
        self._monotonic = monotonic
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._base_url = base.removesuffix("/v1")
        self.credential_id = deterministic_id(PLATFORM, self._base_url, api_key)
        self._token: str | None = None
        self._token_expires_at = 0.0

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> TrustpilotAdapter:
        """Build from configuration; errors name the missing or bad key (e.g. sources[0].options.business_unit_id)."""
        reject_unknown_options(source, where, _OPTIONS)
        business_unit_id = source.options.get("business_unit_id")
        if not isinstance(business_unit_id, str) or not business_unit_id:
            raise ConfigError(f"{where}.options.business_unit_id: required, the Trustpilot business unit id")
        grant_type = source.options.get("grant_type", "client_credentials")
        if grant_type not in {"client_credentials", "password"}:
            raise ConfigError(f"{where}.options.grant_type: expected client_credentials or password")
        per_page = source.options.get("per_page", 100)
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= 100:
            raise ConfigError(f"{where}.options.per_page: expected an integer 1..100, got {per_page!r}")
        needed = ["api_key", "api_secret"] + (["username", "password"] if grant_type == "password" else [])
        for name in needed:
            if not source.credentials.get(name):
                raise ConfigError(f"{where}.credentials.{name}: required for Trustpilot ({grant_type} grant)")
        username, password = source.credentials.get("username"), source.credentials.get("password")
        return cls(
            source,
            business_unit_id=business_unit_id,
            api_key=source.credentials["api_key"].reveal(),
            api_secret=source.credentials["api_secret"].reveal(),
            grant_type=grant_type,
            username=None if username is None else username.reveal(),
            password=None if password is None else password.reveal(),
            per_page=per_page,
        )

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        """One page of reviews after the high-water mark, without the ones the mark says were published."""
        if request.cursor is None:
            mark = HighWaterMark(await self._backfill_start(client))
        else:
            mark = HighWaterMark.from_cursor(request.cursor, self._source.id)
        if request.position is None:
            # The query's start stays fixed for the whole poll so that page numbers keep their meaning.
            start, page_number = mark.since, 1
        else:
            start, page_number = parse_rfc3339(request.position["start"]), int(request.position["page"])
        reviews = await self._reviews(
            client,
            {
                "startDateTime": format_rfc3339(start),
                "orderBy": "createdat.asc",
                "perPage": str(self._per_page),
                "page": str(page_number),
            },
        )
        items = []
        for data in reviews:
            raw = orjson.dumps(data)
            created, key = item_created_at(data), item_key(data, raw)
            if not mark.covers(created, key):
                items.append(RawItem(raw, data))
            mark = mark.advance(created, key)
        cursor = mark.to_cursor()
        following = None
        # A full page means there may be more; a short one means we are caught up (Trustpilot has no total).
        if len(reviews) >= self._per_page:
            following = PageRequest(cursor, {"start": format_rfc3339(start), "page": page_number + 1})
        return Page(tuple(items), cursor, following)

    async def _backfill_start(self, client: Requester) -> datetime:
        """Where a source's first poll starts: `backfill_hours` before the newest review, or 1970 when there is none.

        Measured on the platform's own clock (its newest createdAt) rather than ours, because the two may disagree:
        the simulator runs simulated time, and a real platform's timestamps may be skewed. When the platform's
        newest review is ahead of our clock we still trust the platform, since its timestamps are what we filter on.
        """
        newest = await self._reviews(client, {"orderBy": "createdat.desc", "perPage": "1", "page": "1"})
        if not newest:
            return EPOCH
        # An unreadable newest timestamp falls back to our own clock rather than to a backfill from 1970.
        anchor = item_created_at(newest[0]) or datetime.now(UTC)
        window_seconds = self._source.backfill_hours * 3600
        if window_seconds >= (anchor - EPOCH).total_seconds():
            return EPOCH
        return anchor - timedelta(seconds=window_seconds)

    async def _reviews(self, client: Requester, params: dict[str, str]) -> list[Any]:
        url = self._base_url + REVIEWS_PATH.format(business_unit_id=self._business_unit_id)
        what = f"trustpilot reviews of business unit {self._business_unit_id}"
        for attempt in (1, 2):
            token = await self._access_token(client)
            try:
                response = await client.request("GET", url, headers={"Authorization": f"Bearer {token}"}, params=params)
            except AuthError as exc:
                self._token = None
                if exc.status == 401 and attempt == 1:
                    continue  # expired or revoked before we expected: one fresh token, then give up
                raise AuthError(
                    f"{what}: HTTP {exc.status} for source {self._source.id} "
                    + ("even with a fresh access token" if exc.status == 401 else "(no access to this business unit)"),
                    status=exc.status,
                ) from exc
            payload = response.json(what)
            reviews = payload.get("reviews") if isinstance(payload, dict) else None
            if not isinstance(reviews, list):
                raise UnparseablePage(
                    f"{what}: response has no reviews list", body=response.body, reason=Reason.SCHEMA_INVALID
                )
            return reviews
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _access_token(self, client: Requester) -> str:
        if self._token is not None and self._monotonic() < self._token_expires_at:
            return self._token
        basic = base64.b64encode(f"{self._api_key}:{self._api_secret}".encode()).decode("ascii")
        form = {"grant_type": self._grant_type}
        if self._grant_type == "password":
            form |= {"username": self._username or "", "password": self._password or ""}
        asked_at = self._monotonic()
        try:
            response = await client.request(
                "POST", self._base_url + TOKEN_PATH, headers={"Authorization": f"Basic {basic}"}, data=form
            )
        except AuthError as exc:
            raise AuthError(
                f"trustpilot rejected the api_key/api_secret of source {self._source.id} (HTTP {exc.status}); "
                f"check {self._source.key_path}.credentials",
                status=exc.status,
            ) from exc
        token, lifetime = _token_fields(response.json("trustpilot access token"))
        # Renew a little early (10 %, at most 5 minutes) so a token never expires in the middle of a poll.
        self._token = token
        self._token_expires_at = asked_at + lifetime - min(300.0, lifetime * 0.1)
        return token


def _token_fields(payload: Any) -> tuple[str, float]:
    """access_token and expires_in (a number, or a numeric string as Trustpilot's gateway sends it)."""
    token = payload.get("access_token") if isinstance(payload, dict) else None
    lifetime = payload.get("expires_in") if isinstance(payload, dict) else None
    try:
        seconds = float(lifetime) if isinstance(lifetime, int | float | str) and not isinstance(lifetime, bool) else -1
    except ValueError:
        seconds = -1
    if not isinstance(token, str) or not token or seconds <= 0:
        raise PlatformError(
            "trustpilot access token response lacks access_token/expires_in", reason=Reason.SERVER_ERROR
        )
    return token, seconds
