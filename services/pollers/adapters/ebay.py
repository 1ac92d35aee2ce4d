"""The eBay adapter: OAuth user token (refresh grant), feedback newest first by offset, a revisit window for edits."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.pollers.adapters.base import (
    Page,
    PageRequest,
    RateLimit,
    RawItem,
    positive_number,
    reject_unknown_options,
)
from services.pollers.adapters.ebay_items import PLATFORM, entered_at, normalise_feedback
from services.pollers.adapters.http import AuthError, Requester, UnparseablePage
from services.pollers.adapters.oauth import OAuthToken
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason
from services.shared.events import ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

DEFAULT_BASE_URL = "https://api.ebay.com"
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - a URL path
FEEDBACK_PATH = "/commerce/feedback/v1/feedback"
SCOPE = "https://api.ebay.com/oauth/api_scope/commerce.feedback.readonly"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = frozenset({"user_id", "limit", "revisit_hours"})


class EbayAdapter:
    """A seller's feedback received. eBay changes feedback after it is left (seller replies, buyer follow-ups,
    withdrawals), so each poll sweeps newest first down to `revisit_hours` before the newest feedback seen; the
    poll loop's fingerprints publish only what changed (as review.updated, or review.deleted when withdrawn).
    A sweep in progress lives in the cursor (`sweep.offset`), so the page budget or a crash resumes it.
    """

    platform = PLATFORM
    default_rate_limit = RateLimit(per_second=2.0, burst=5)

    def __init__(
        self,
        source: SourceConfig,
        *,
        user_id: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        limit: int = 200,
        revisit_hours: float = 72.0,
    ) -> None:
        self._source = source
        self._user_id = user_id
        self._limit = limit
        self._revisit = timedelta(hours=revisit_hours)
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + FEEDBACK_PATH
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._token = OAuthToken(
            base + TOKEN_PATH,
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": SCOPE},
            headers={"Authorization": f"Basic {basic}"},
            what=f"ebay source {source.id}",
        )
        self.credential_id = deterministic_id(PLATFORM, base, client_id)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> EbayAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        user_id = source.options.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise ConfigError(f"{where}.options.user_id: required, the seller's eBay user id")
        limit = source.options.get("limit", 200)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 25 <= limit <= 200:
            raise ConfigError(f"{where}.options.limit: expected an integer 25..200, got {limit!r}")
        revisit = positive_number(source.options, "revisit_hours", where, 72.0)
        for name in ("client_id", "client_secret", "refresh_token"):
            if not source.credentials.get(name):
                raise ConfigError(f"{where}.credentials.{name}: required for eBay (OAuth user token)")
        return cls(
            source,
            user_id=user_id,
            client_id=source.credentials["client_id"].reveal(),
            client_secret=source.credentials["client_secret"].reveal(),
            refresh_token=source.credentials["refresh_token"].reveal(),
            limit=limit,
            revisit_hours=revisit,
        )

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_feedback(
            item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at
        )

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        sweep: dict[str, Any] | None = request.position or cursor.get("sweep")
        newest = _moment(cursor.get("newest"))
        offset = 0 if sweep is None else int(sweep["offset"])
        seen = newest if sweep is None else _moment(sweep.get("newest"))
        entries = await self._feedback(client, offset)
        if request.cursor is None and sweep is None:
            first = next((t for t in map(entered_at, entries) if t is not None), None)
            window = timedelta(hours=self._source.backfill_hours)
            floor = EPOCH if first is None or first - EPOCH <= window else first - window
        else:
            floor = EPOCH if newest is None else newest - self._revisit
        items, reached = [], False
        for data in entries:
            moment = entered_at(data)
            if moment is not None and moment < floor:
                reached = True
                break
            items.append(RawItem(orjson.dumps(data), data))
            if moment is not None and (seen is None or moment > seen):
                seen = moment
        mark = {"newest": None if seen is None else format_rfc3339(seen)}
        if reached or len(entries) < self._limit:
            return Page(tuple(items), mark, None)
        state = {"offset": offset + len(entries), "newest": mark["newest"]}
        stored = {"newest": cursor.get("newest"), "sweep": state}
        return Page(tuple(items), stored, PageRequest(stored, state))

    async def _feedback(self, client: Requester, offset: int) -> list[Any]:
        params = {
            "user_id": self._user_id,
            "feedback_type": "FEEDBACK_RECEIVED",
            "sort": "TIME",
            "limit": str(self._limit),
            "offset": str(offset),
        }
        what = f"ebay feedback of source {self._source.id}"
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
                    f"{what}: HTTP {exc.status} (token lacks the feedback scope?)", status=exc.status
                ) from exc
            payload = response.json(what)
            entries = payload.get("feedbackEntries", []) if isinstance(payload, dict) else None
            if not isinstance(entries, list):
                raise UnparseablePage(
                    f"{what}: response has no feedbackEntries list", body=response.body, reason=Reason.SCHEMA_INVALID
                )
            return entries
        raise AssertionError("unreachable: the second attempt returns or raises")


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None
