"""The Facebook Pages adapter: a page's feed (posts -> thread snapshots) and each post's comments (-> comment events).

Page access token; `suppress_http_code=1`, so every Graph error arrives as its error object and is mapped by code:
190 (token) -> AuthError, 4/17/32/613/80001 (throttling) -> retried after the `X-Business-Use-Case-Usage`
estimate, 12 (deprecated, e.g. recommendations on >= v22) -> a clear non-retriable error, 1/2 -> transient.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson

from services.pollers.adapters.base import Cursor, Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.facebook_items import (
    PLATFORM,
    normalise_comment,
    normalise_post,
    parse_graph_time,
    post_counters,
)
from services.pollers.adapters.http import AuthError, HttpResponse, PlatformError, Requester, UnparseablePage
from services.shared.config import SourceConfig
from services.shared.errors import BadInput, ConfigError, Reason, StormwatchError
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
POST_FIELDS = (
    "id,message,created_time,updated_time,permalink_url,from,shares,"
    "comments.summary(true).limit(0),reactions.summary(true).limit(0)"
)
COMMENT_FIELDS = "id,message,created_time,from,parent,like_count,comment_count,is_hidden,permalink_url"
THROTTLED = frozenset({4, 17, 32, 613, 80001})
TOKEN_INVALID = frozenset({102, 190, 463, 467})
_OPTIONS = frozenset({"page_id", "api_version", "watch_hours"})


class FacebookAdapter:
    """One page. Each poll walks the feed of the last `watch_hours` (newest activity as the clock), publishes a
    snapshot of every post whose counters moved, then reads new comments of each post whose comment count grew,
    from the post's stored `after` cursor (chronological), so no comment is missed or repeated.
    """

    platform = PLATFORM
    default_rate_limit = RateLimit(per_second=5.0, burst=10)

    def __init__(self, source: SourceConfig, *, page_id: str, token: str, version: str, watch_hours: float) -> None:
        self._source = source
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._base = f"{base}/{version}"
        self._page_id = page_id
        self._token = token
        self._watch_seconds = watch_hours * 3600
        self.credential_id = deterministic_id(PLATFORM, base, token)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> FacebookAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        page_id = source.options.get("page_id")
        if not isinstance(page_id, str) or not page_id.isdigit():
            raise ConfigError(f"{where}.options.page_id: required, the numeric Facebook Page id (as a string)")
        version = source.options.get("api_version", DEFAULT_VERSION)
        if not isinstance(version, str) or not version.startswith("v") or not version[1:].replace(".", "").isdigit():
            raise ConfigError(f"{where}.options.api_version: expected a Graph version such as v21.0")
        watch = source.options.get("watch_hours", 48)
        if isinstance(watch, bool) or not isinstance(watch, int | float) or watch <= 0:
            raise ConfigError(f"{where}.options.watch_hours: expected a positive number of hours")
        if not source.credentials.get("page_access_token"):
            raise ConfigError(f"{where}.credentials.page_access_token: required (a Page access token)")
        token = source.credentials["page_access_token"].reveal()
        return cls(source, page_id=page_id, token=token, version=version, watch_hours=float(watch))

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        data = item.data
        # fetch_page builds this envelope, but the contract is BadInput for anything malformed ({} or None raised
        # KeyError / TypeError: found by fuzzing).
        comment = "comment" in data and isinstance(data.get("post_id"), str) if isinstance(data, dict) else False
        if not isinstance(data, dict) or not (comment or "post" in data):
            raise BadInput("facebook item: not a post or comment envelope", reason=Reason.NORMALISATION_FAILED)
        merchant, source_id = source.merchant_id, source.id
        if "comment" in data:
            return normalise_comment(
                data["comment"], post_id=data["post_id"], merchant_id=merchant, source_id=source_id,
                observed_at=observed_at,
            )  # fmt: skip
        return normalise_post(
            data["post"], merchant_id=merchant, source_id=source_id, observed_at=platform_time(data, observed_at)
        )

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor: Cursor = copy.deepcopy(request.cursor) if request.cursor else {"posts": {}, "newest": None}
        # A walk cut short by the page budget (or a restart) resumes where it stopped: it is kept in the cursor.
        walk = cursor.pop("walk", None)
        position = request.position or walk or {"phase": "feed", "after": None, "queue": []}
        if position["phase"] == "feed":
            return await self._feed_page(client, cursor, position)
        return await self._comments_page(client, cursor, position)

    async def _feed_page(self, client: Requester, cursor: Cursor, position: dict[str, Any]) -> Page:
        newest = cursor.get("newest")
        # One walk keeps its window and `since` on every page (a first poll reaches back `backfill_hours`).
        window = position.get("window") or (
            self._watch_seconds if newest is not None else self._source.backfill_hours * 3600
        )
        since = position.get("since") or (None if newest is None else int(newest - window))
        params = {"fields": POST_FIELDS, "limit": "25"}
        if since is not None:
            params["since"] = str(since)
        if position["after"]:
            params["after"] = position["after"]
        payload = await self._get(client, f"{self._base}/{self._page_id}/feed", params, "feed")
        posts: dict[str, Any] = cursor["posts"]
        queue: list[str] = list(position["queue"])
        items: list[RawItem] = []
        for post in _data(payload, "feed"):
            created = parse_graph_time(post.get("created_time")) if isinstance(post, dict) else None
            post_id = post.get("id") if isinstance(post, dict) else None
            if created is None or not isinstance(post_id, str):
                items.append(RawItem(orjson.dumps(post), {"post": post}))  # dead-lettered by the normaliser
                continue
            stamp = created.timestamp()
            if newest is None:
                newest = stamp  # newest first: the first post is the feed's clock on a first poll
            newest = max(newest, stamp)
            if stamp < newest - window:
                continue
            known = posts.get(post_id)
            counters = post_counters(post)
            if known is None or known["e"] != counters:
                items.append(RawItem(orjson.dumps(post), {"post": post}))
            entry = known or {"t": stamp, "after": None, "n": 0}
            entry["e"] = counters
            posts[post_id] = entry
            total = counters[1] or 0
            if total > entry["n"] and post_id not in queue:
                queue.append(post_id)
        cursor["newest"] = newest
        # Snapshots are read at no earlier than the newest activity the page showed (see platform_time).
        items = [RawItem(i.raw, {**i.data, "platform_now": newest}) for i in items]
        after = _next_after(payload)
        if after is not None:
            state = {"phase": "feed", "after": after, "queue": queue, "window": window, "since": since}
            return _more(items, cursor, state)
        if newest is not None:  # the walk is complete: forget posts that left the window
            cursor["posts"] = {k: v for k, v in posts.items() if v["t"] >= newest - self._watch_seconds or k in queue}
        if queue:
            return _more(items, cursor, {"phase": "comments", "queue": queue})
        return Page(tuple(items), cursor, None)

    async def _comments_page(self, client: Requester, cursor: Cursor, position: dict[str, Any]) -> Page:
        queue: list[str] = list(position["queue"])
        post_id = queue[0]
        entry = cursor["posts"].setdefault(post_id, {"t": 0.0, "after": None, "n": 0, "e": []})
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological", "limit": "100"}
        if entry["after"]:
            params["after"] = entry["after"]
        payload = await self._get(client, f"{self._base}/{post_id}/comments", params, "comments")
        comments = _data(payload, "comments")
        items = tuple(RawItem(orjson.dumps(c), {"comment": c, "post_id": post_id}) for c in comments)
        if comments:
            paging = payload.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not isinstance(after, str):
                raise PlatformError(
                    f"{self._what('comments')}: a page without an after cursor", reason=Reason.SERVER_ERROR
                )
            entry["after"] = after
            entry["n"] += len(comments)
            for comment in comments:
                created = parse_graph_time(comment.get("created_time")) if isinstance(comment, dict) else None
                if created is not None and cursor.get("newest") is not None:
                    cursor["newest"] = max(cursor["newest"], created.timestamp())
        if _next_after(payload) is None:
            queue.pop(0)
        if queue:
            return _more(list(items), cursor, {"phase": "comments", "queue": queue})
        return Page(items, cursor, None)

    def _what(self, edge: str) -> str:
        return f"facebook {edge} of source {self._source.id}"

    async def _get(self, client: Requester, url: str, params: dict[str, str], edge: str) -> Any:
        what = self._what(edge)
        params["suppress_http_code"] = "1"  # Graph errors come back as error objects: mapped by code below
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            response = await client.request("GET", url, headers=headers, params=params)
        except AuthError as exc:
            raise self._auth_error(what, exc.status) from exc
        payload = response.json(what)
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            raise self._graph_error(what, payload["error"], response)
        if not isinstance(payload, dict):
            raise UnparseablePage(
                f"{what}: response is not an object", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        return payload

    def _auth_error(self, what: str, status: int) -> AuthError:
        return AuthError(
            f"{what}: Facebook refused the Page access token; check {self._source.key_path}"
            ".credentials.page_access_token (expired, revoked or not a Page token)",
            status=status,
        )

    def _graph_error(self, what: str, error: dict[str, Any], response: HttpResponse) -> StormwatchError:
        code = error.get("code")
        if code in TOKEN_INVALID:
            return self._auth_error(what, 401)
        if code in THROTTLED:
            return PlatformError(
                f"{what}: Graph throttled the call (code {code})",
                reason=Reason.RATE_LIMITED,
                retry_after=regain_seconds(response),
            )
        if code == 12:
            return StormwatchError(
                f"{what}: Graph says the field or edge is deprecated for this API version (code 12); Page "
                "recommendations are gone from v22.0",
                retriable=False,
                reason=Reason.CLIENT_ERROR,
            )
        if code in {1, 2} or error.get("is_transient") is True:
            return PlatformError(f"{what}: Graph error {code} (transient)", reason=Reason.SERVER_ERROR)
        return StormwatchError(f"{what}: Graph error {code!r:.20}", retriable=False, reason=Reason.CLIENT_ERROR)


def regain_seconds(response: HttpResponse) -> float | None:
    """How long Graph says to wait, from `X-Business-Use-Case-Usage` (minutes), or an hour when `X-App-Usage`
    shows a spent quota without an estimate; None when the headers give no hint."""
    longest: float | None = None
    try:
        usage = orjson.loads(response.headers.get("X-Business-Use-Case-Usage", "{}"))
    except orjson.JSONDecodeError:
        usage = {}
    for entries in usage.values() if isinstance(usage, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
            if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
                longest = max(longest or 0.0, float(minutes) * 60)
    if longest is not None:
        return longest
    try:
        app = orjson.loads(response.headers.get("X-App-Usage", "{}"))
    except orjson.JSONDecodeError:
        return None
    spent = isinstance(app, dict) and any(
        isinstance(app.get(k), int | float) and app[k] >= 100 for k in ("call_count", "total_cputime", "total_time")
    )
    return 3600.0 if spent else None


def platform_time(data: Any, observed_at: datetime) -> datetime:
    """When a snapshot was observed: our clock, but never before the newest activity the platform showed.

    With a live platform this is our own clock; with a poller clock behind the platform's (skew, or a simulator
    running faster than real time) the snapshots keep the platform's pace, which is what velocity is measured on.
    """
    newest = data.get("platform_now") if isinstance(data, dict) else None
    if isinstance(newest, int | float) and not isinstance(newest, bool):
        try:
            return max(observed_at, datetime.fromtimestamp(newest, tz=UTC))
        except (OverflowError, OSError, ValueError):  # an absurd platform_now (found by fuzzing): our clock
            return observed_at
    return observed_at


def _more(items: list[RawItem], cursor: Cursor, state: dict[str, Any]) -> Page:
    """A page with more to read: the walk's state goes into the stored cursor as well as into the next request."""
    stored = {**cursor, "walk": state}
    return Page(tuple(items), stored, PageRequest(stored, state))


def _data(payload: dict[str, Any], edge: str) -> list[Any]:
    data = payload.get("data")
    if not isinstance(data, list):
        raise PlatformError(f"facebook {edge}: response has no data list", reason=Reason.SERVER_ERROR)
    return data


def _next_after(payload: dict[str, Any]) -> str | None:
    """The after cursor when Graph says there is a next page (`paging.next`), else None."""
    paging = payload.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return after if isinstance(after, str) else None
