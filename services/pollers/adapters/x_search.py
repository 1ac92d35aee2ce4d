"""The X recent-search adapter: mentions by `since_id` + `next_token` sweeps, conversation snapshots by lookup.

App-only bearer token. 429 and the `x-rate-limit-*` headers (15-minute windows) are honoured by the HTTP client
(throttle_hint), which holds every source of the same token back until the window resets.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import orjson

from services.pollers.adapters.base import Cursor, Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.facebook import platform_time
from services.pollers.adapters.http import AuthError, PlatformError, Requester, UnparseablePage
from services.pollers.adapters.x_search_items import (
    PLATFORM,
    engagement_of,
    is_superseded,
    normalise_conversation,
    normalise_mention,
)
from services.shared.config import SourceConfig
from services.shared.errors import BadInput, ConfigError, Reason
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://api.x.com"
SEARCH_PATH = "/2/tweets/search/recent"
LOOKUP_PATH = "/2/tweets"
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,public_metrics,lang"
MAX_WATCHED = 100  # one lookup call
_OPTIONS = frozenset({"query", "watch_hours", "min_thread_engagement"})


class XSearchAdapter:
    """One search query (e.g. `@shop -is:retweet`). A sweep reads everything newer than `since_id`, newest first,
    page by page (`next_token` kept in the cursor, so a restart resumes it); `since_id` moves when it completes.
    Conversations seen in the last `watch_hours` are then looked up (one call, up to 100 ids) and each whose
    shares and replies reach `min_thread_engagement` and moved is published as a thread.snapshot.
    """

    platform = PLATFORM
    # Recent search: 450 requests per 15 minutes for an app-only token (Pro): 0.5 per second.
    default_rate_limit = RateLimit(per_second=0.5, burst=5)

    def __init__(
        self, source: SourceConfig, *, query: str, token: str, watch_hours: float, min_engagement: int
    ) -> None:
        self._source = source
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._search_url = base + SEARCH_PATH
        self._lookup_url = base + LOOKUP_PATH
        self._query = query
        self._token = token
        self._watch_seconds = watch_hours * 3600
        self._min_engagement = min_engagement
        self.credential_id = deterministic_id(PLATFORM, base, token)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> XSearchAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        query = source.options.get("query")
        if not isinstance(query, str) or not query.strip() or len(query) > 512:
            raise ConfigError(f"{where}.options.query: required, a recent-search query of at most 512 characters")
        watch = source.options.get("watch_hours", 48)
        if isinstance(watch, bool) or not isinstance(watch, int | float) or not 0 < watch <= 168:
            raise ConfigError(f"{where}.options.watch_hours: expected hours in (0, 168] (recent search sees 7 days)")
        least = source.options.get("min_thread_engagement", 10)
        if isinstance(least, bool) or not isinstance(least, int) or least < 0:
            raise ConfigError(f"{where}.options.min_thread_engagement: expected a non-negative integer")
        if not source.credentials.get("bearer_token"):
            raise ConfigError(f"{where}.credentials.bearer_token: required (an app-only bearer token)")
        token = source.credentials["bearer_token"].reveal()
        return cls(source, query=query, token=token, watch_hours=float(watch), min_engagement=least)

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        data = item.data
        # fetch_page builds this envelope, but the contract is BadInput for anything malformed ({} or None raised
        # KeyError / TypeError: found by fuzzing).
        if not isinstance(data, dict) or not ("conversation" in data or {"tweet", "author"} <= data.keys()):
            raise BadInput("x item: not a tweet or conversation envelope", reason=Reason.NORMALISATION_FAILED)
        merchant, source_id = source.merchant_id, source.id
        if "conversation" in data:
            return normalise_conversation(
                data["conversation"], merchant_id=merchant, source_id=source_id,
                observed_at=platform_time(data, observed_at),
            )  # fmt: skip
        return normalise_mention(
            data["tweet"], merchant_id=merchant, source_id=source_id, observed_at=observed_at, author=data["author"]
        )

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor: Cursor = copy.deepcopy(request.cursor) if request.cursor else {"since_id": None, "watch": {}}
        # A lookup due after a completed sweep is kept in the cursor, so a page budget cannot starve it.
        due: dict[str, Any] | None = {"phase": "lookup"} if cursor.get("lookup_due") else None
        position: dict[str, Any] = request.position or due or {"phase": "search", "sweep": cursor.get("sweep")}
        if position["phase"] == "lookup":
            return await self._lookup_page(client, cursor)
        return await self._search_page(client, cursor, position.get("sweep"))

    async def _search_page(self, client: Requester, cursor: Cursor, sweep: dict[str, Any] | None) -> Page:
        params = {
            "query": self._query,
            "max_results": "100",
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,name",
        }
        if cursor.get("since_id"):
            params["since_id"] = cursor["since_id"]
        if sweep is not None:
            params["next_token"] = str(sweep["next_token"])
        payload = await self._get(client, self._search_url, params, "recent search")
        meta: dict[str, Any] = payload["meta"] if isinstance(payload.get("meta"), dict) else {}
        data = payload.get("data", [])
        if not isinstance(data, list):
            raise PlatformError(f"{self._what('recent search')}: data is not a list", reason=Reason.SERVER_ERROR)
        users = _users(payload)
        watch: dict[str, Any] = cursor.setdefault("watch", {})
        items = []
        # Oldest first within the page, so an original comes before its edit; older versions are skipped.
        for tweet in reversed(data):
            if is_superseded(tweet):
                continue
            author = users.get(str(tweet.get("author_id"))) if isinstance(tweet, dict) else None
            items.append(RawItem(orjson.dumps(tweet), {"tweet": tweet, "author": author}))
            self._watch(watch, tweet)
        newest = (sweep["newest"] if sweep is not None else None) or meta.get("newest_id")
        next_token = meta.get("next_token")
        if isinstance(next_token, str) and next_token:
            state = {"next_token": next_token, "newest": newest}
            cursor["sweep"] = state
            return Page(tuple(items), cursor, PageRequest(cursor, {"phase": "search", "sweep": state}))
        cursor.pop("sweep", None)
        if isinstance(newest, str) and newest.isdigit():
            cursor["since_id"] = newest
        if watch:
            cursor["lookup_due"] = True
            return Page(tuple(items), cursor, PageRequest(cursor, {"phase": "lookup"}))
        return Page(tuple(items), cursor, None)

    def _watch(self, watch: dict[str, Any], tweet: Any) -> None:
        """Follow the tweet's conversation (from its newest activity) so its counters are snapshotted."""
        if not isinstance(tweet, dict):
            return
        conversation = tweet.get("conversation_id")
        created = tweet.get("created_at")
        if not isinstance(conversation, str) or not conversation.isdigit() or not isinstance(created, str):
            return
        try:
            stamp = datetime.fromisoformat(created).timestamp()
        except (ValueError, TypeError):
            return
        entry = watch.setdefault(conversation, {"t": stamp, "e": None})
        entry["t"] = max(entry["t"], stamp)

    async def _lookup_page(self, client: Requester, cursor: Cursor) -> Page:
        cursor.pop("lookup_due", None)
        watch: dict[str, Any] = cursor.setdefault("watch", {})
        newest = max((entry["t"] for entry in watch.values()), default=0.0)
        kept = {k: v for k, v in watch.items() if v["t"] >= newest - self._watch_seconds}
        chosen = sorted(kept, key=lambda k: kept[k]["t"], reverse=True)[:MAX_WATCHED]
        cursor["watch"] = {k: kept[k] for k in chosen}
        if not chosen:
            return Page((), cursor, None)
        params = {"ids": ",".join(chosen), "tweet.fields": TWEET_FIELDS}
        payload = await self._get(client, self._lookup_url, params, "tweet lookup")
        found = payload.get("data", [])
        items = []
        for tweet in found if isinstance(found, list) else []:
            tweet_id = tweet.get("id") if isinstance(tweet, dict) else None
            if tweet_id not in cursor["watch"]:
                continue
            engagement = engagement_of(tweet)
            if engagement is None:
                continue
            counters = [engagement.shares, engagement.replies, engagement.likes, engagement.views]
            entry = cursor["watch"][tweet_id]
            if (engagement.shares or 0) + (engagement.replies or 0) < self._min_engagement or entry["e"] == counters:
                continue
            entry["e"] = counters
            items.append(RawItem(orjson.dumps(tweet), {"conversation": tweet, "platform_now": newest}))
        for error in payload.get("errors", []) if isinstance(payload.get("errors"), list) else []:
            gone = error.get("value") if isinstance(error, dict) else None
            cursor["watch"].pop(gone, None)  # deleted or protected: stop looking
        return Page(tuple(items), cursor, None)

    def _what(self, call: str) -> str:
        return f"x {call} of source {self._source.id}"

    async def _get(self, client: Requester, url: str, params: dict[str, str], call: str) -> dict[str, Any]:
        what = self._what(call)
        try:
            response = await client.request(
                "GET", url, headers={"Authorization": f"Bearer {self._token}"}, params=params
            )
        except AuthError as exc:
            raise AuthError(
                f"{what}: X refused the bearer token (HTTP {exc.status}); check "
                f"{self._source.key_path}.credentials.bearer_token",
                status=exc.status,
            ) from exc
        payload = response.json(what)
        if not isinstance(payload, dict):
            raise UnparseablePage(
                f"{what}: response is not an object", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        return payload


def _users(payload: dict[str, Any]) -> dict[str, Any]:
    includes = payload.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    return {u["id"]: u for u in users or [] if isinstance(u, dict) and isinstance(u.get("id"), str)}
