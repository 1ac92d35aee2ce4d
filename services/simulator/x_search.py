"""The simulated X API v2: recent search over mentions of a handle, tweet lookup for public_metrics, 15-minute limits.

`GET /2/tweets/search/recent` (Bearer token; `query`, `max_results` 10..100, `since_id`, `next_token`; newest
first; the last 7 days only) and `GET /2/tweets?ids=...`. Tweet ids are snowflakes, so `since_id` polling works as
on X. Every answer carries `x-rate-limit-limit/-remaining/-reset` (epoch seconds, wall clock, 15-minute windows);
errors are problem JSON. Some mentions answer others (one conversation); some are edited later (a new id whose
`edit_history_tweet_ids` starts with the original). A scenario cascade is a mention whose conversation goes viral.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.simulator.cascade import Cascade, merchant_cascades
from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, Timeline, generate_platform_timeline

PLATFORM = "x"
SEARCH_PATH = "/2/tweets/search/recent"
LOOKUP_PATH = "/2/tweets"
WINDOW_SECONDS = 900
REQUESTS_PER_WINDOW = 450
RECENT_DAYS = 7
_TWITTER_EPOCH_MS = 1288834974657
_REPLY_SHARE = 0.25
_EDIT_SHARE = 0.05


def bearer_for(scenario: Scenario, merchant_id: str) -> str:
    """The app-only bearer token the simulated X accepts for the merchant's searches."""
    scenario.merchant(merchant_id)
    return "AAAAAAAAAAAAAAAAAAAAA" + hashlib.sha256(f"{scenario.seed}:{merchant_id}:x".encode()).hexdigest()[:40]


def snowflake(moment: datetime, salt: str) -> str:
    """An id that sorts like its creation time (milliseconds in the high bits), as X's ids do."""
    digest = int(hashlib.sha256(salt.encode()).hexdigest()[:12], 16)
    millis = int(moment.timestamp()) * 1000 + (digest >> 22) % 1000
    return str(((millis - _TWITTER_EPOCH_MS) << 22) | (digest & 0x3FFFFF))


@dataclass(frozen=True)
class SimTweet:
    review: SimReview  # id = this version's tweet id
    original_id: str  # first id of the edit history (itself when never edited)
    conversation_id: str
    parent_id: str | None  # the tweet it replies to
    cascade: Cascade | None = None  # set on a viral conversation's root

    @property
    def id(self) -> str:
        return self.review.id


class XApi:
    """Mentions of each merchant's handle with conversations, edits and viral cascades."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        requests: Counter,
        *,
        on_reviews_request: Callable[[], None] = lambda: None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._scenario = scenario
        self._clock = clock
        self._requests = requests
        self._on_reviews_request = on_reviews_request
        self._wall = wall_clock
        accounts = {m.id: m.x for m in scenario.merchants if m.x is not None}
        self._handles = {m: a.handle for m, a in accounts.items()}
        self._by_token = {bearer_for(scenario, m): m for m in accounts}
        baseline = generate_platform_timeline(scenario, PLATFORM, {m: a.mentions_per_hour for m, a in accounts.items()})
        self.tweets: dict[str, list[SimTweet]] = {}  # per merchant, every version, by creation
        self._by_id: dict[str, SimTweet] = {}
        timelines: dict[str, tuple[SimReview, ...]] = {}
        for merchant in scenario.merchants:
            if merchant.id not in accounts:
                continue
            cascades = merchant_cascades(scenario, merchant, PLATFORM)
            tweets = _build_tweets(merchant.id, self._handles[merchant.id], baseline.all(merchant.id), cascades)
            self.tweets[merchant.id] = tweets
            self._by_id.update({t.id: t for t in tweets})
            originals = [t.review for t in tweets if t.original_id == t.id]
            timelines[merchant.id] = tuple(sorted(originals, key=lambda r: (r.created_at, r.id)))
        self.timeline = Timeline(timelines)
        self._versions: dict[str, list[SimTweet]] = {}  # original id -> every version, oldest first
        for tweet in sorted(self._by_id.values(), key=lambda t: int(t.id)):
            self._versions.setdefault(tweet.original_id, []).append(tweet)
        self._children: dict[str, list[datetime]] = {}  # tweet id -> creation times of its direct replies
        for tweet in self._by_id.values():
            if tweet.parent_id is not None and tweet.original_id == tweet.id:
                self._children.setdefault(tweet.parent_id, []).append(tweet.review.created_at)
        for times in self._children.values():
            times.sort()
        self._calls = 0
        self._windows: dict[str, tuple[int, int]] = {}  # token -> (window start, used)

    def routes(self) -> list[web.RouteDef]:
        return [web.get(SEARCH_PATH, self.search), web.get(LOOKUP_PATH, self.lookup)]

    def visible(self, merchant_id: str, now: datetime) -> list[SimTweet]:
        """Every tweet version created by `now` within the recent-search window, oldest first."""
        floor = now - timedelta(days=RECENT_DAYS)
        return [t for t in self.tweets.get(merchant_id, []) if floor <= t.review.created_at <= now]

    def metrics(self, tweet: SimTweet, now: datetime) -> dict[str, int]:
        """A tweet's public_metrics at `now`: direct replies counted from the conversation, the rest grown."""
        replies = bisect.bisect_right(self._children.get(tweet.id, []), now)
        if tweet.cascade is not None:
            counted = tweet.cascade.counters(now)
            quotes = counted.shares * 15 // 100
            return {
                "retweet_count": counted.shares - quotes, "reply_count": replies, "like_count": counted.reactions,
                "quote_count": quotes, "bookmark_count": counted.reactions // 20, "impression_count": counted.views,
            }  # fmt: skip
        grown = 1 - math.exp(-max(0.0, (now - tweet.review.created_at).total_seconds()) / 3600)
        likes = round(tweet.review.likes * 3 * grown)
        return {
            "retweet_count": round(tweet.review.likes * grown), "reply_count": replies, "like_count": likes,
            "quote_count": 0, "bookmark_count": 0, "impression_count": 20 + likes * 15,
        }  # fmt: skip

    def _reply(self, status: int, body: object, headers: dict[str, str]) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)

    def _problem(self, status: int, title: str, detail: str, headers: dict[str, str]) -> web.Response:
        return self._reply(status, {"title": title, "detail": detail, "type": "about:blank", "status": status}, headers)

    def _admit(self, request: web.Request) -> tuple[str | None, web.Response | None, dict[str, str]]:
        """(merchant, refusal, rate headers): faults, the bearer token and the 15-minute window."""
        self._on_reviews_request()
        self._calls += 1
        faults = self._scenario.faults
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        wall = int(self._wall())
        start, used = self._windows.get(token, (wall, 0))
        if wall >= start + WINDOW_SECONDS:
            start, used = wall, 0
        headers = {
            "x-rate-limit-limit": str(REQUESTS_PER_WINDOW),
            "x-rate-limit-remaining": str(max(0, REQUESTS_PER_WINDOW - used - 1)),
            "x-rate-limit-reset": str(start + WINDOW_SECONDS),
        }
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            burst = {
                **headers,
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(wall + faults.retry_after_seconds),
            }
            return None, self._problem(429, "Too Many Requests", "Too Many Requests", burst), burst
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return None, self._problem(503, "Service Unavailable", "Service Unavailable", headers), headers
        merchant = self._by_token.get(token)
        if merchant is None:
            return None, self._problem(401, "Unauthorized", "Unauthorized", {}), {}
        if used >= REQUESTS_PER_WINDOW:
            return None, self._problem(429, "Too Many Requests", "Too Many Requests", headers), headers
        self._windows[token] = (start, used + 1)
        return merchant, None, headers

    async def search(self, request: web.Request) -> web.Response:
        """Recent search: mentions of the merchant's handle, newest first, `since_id` and `next_token` paging."""
        faults = self._scenario.faults
        if faults.slow_every and (self._calls + 1) % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)
        merchant, refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        assert merchant is not None
        query = request.query
        handle = self._handles[merchant].lower()
        if handle not in query.get("query", "").lower():
            return self._reply(200, {"meta": {"result_count": 0}}, headers)
        try:
            size = int(query.get("max_results", "10"))
            since = int(query.get("since_id", "0"))
        except ValueError:
            return self._problem(400, "Invalid Request", "max_results and since_id must be integers", headers)
        if not 10 <= size <= 100:
            return self._problem(
                400, "Invalid Request", "The `max_results` query parameter value is not between 10 and 100", headers
            )
        position: dict[str, Any] = {"o": 0, "t": self._clock.now().isoformat()}
        if "next_token" in query:
            decoded = _decode(query["next_token"])
            if decoded is None:
                return self._problem(
                    400, "Invalid Request", "The `next_token` query parameter value is invalid", headers
                )
            position = decoded
        snapshot = datetime.fromisoformat(str(position["t"]))
        found = [t for t in self.visible(merchant, snapshot) if int(t.id) > since]
        found.sort(key=lambda t: int(t.id), reverse=True)
        offset = int(position["o"])
        page = found[offset : offset + size]
        now = self._clock.now()
        meta: dict[str, Any] = {"result_count": len(page)}
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self.render(t, now) for t in page]
            body["includes"] = {"users": _users(page)}
            meta["newest_id"], meta["oldest_id"] = page[0].id, page[-1].id
        if offset + size < len(found):
            meta["next_token"] = _encode({"o": offset + size, "t": snapshot.isoformat()})
        return self._reply(200, body, headers)

    async def lookup(self, request: web.Request) -> web.Response:
        """Tweet lookup by ids (up to 100): the current public_metrics of conversations a poller watches."""
        merchant, refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return self._problem(400, "Invalid Request", "The `ids` query parameter must hold 1 to 100 ids", headers)
        now = self._clock.now()
        data, errors = [], []
        for tweet_id in ids:
            tweet = self._by_id.get(tweet_id)
            if tweet is None or tweet.review.merchant_id != merchant or tweet.review.created_at > now:
                errors.append(
                    {"value": tweet_id, "detail": f"Could not find tweet with ids: [{tweet_id}].",
                     "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                     "resource_id": tweet_id, "type": "https://api.twitter.com/2/problems/resource-not-found"}
                )  # fmt: skip
                continue
            data.append(self.render(tweet, now))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return self._reply(200, body, headers)

    def render(self, tweet: SimTweet, now: datetime) -> dict[str, Any]:
        review = tweet.review
        versions = self._versions.get(tweet.original_id, [tweet])
        history = [v.id for v in versions if v.review.created_at <= now] or [tweet.id]
        item: dict[str, Any] = {
            "id": tweet.id,
            "text": review.text,
            "author_id": _user_id(review),
            "created_at": review.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conversation_id": tweet.conversation_id,
            "lang": review.language,
            "public_metrics": self.metrics(tweet, now),
            "edit_history_tweet_ids": history,
        }
        if tweet.parent_id is not None:
            parent = self._by_id.get(tweet.parent_id)
            item["referenced_tweets"] = [{"type": "replied_to", "id": tweet.parent_id}]
            if parent is not None:
                item["in_reply_to_user_id"] = _user_id(parent.review)
        if review.malformed == "missing_id":
            del item["id"]
        elif review.malformed == "stars_as_text":
            item["created_at"] = "just now"
        return item


def _user_id(review: SimReview) -> str:
    return str(int(review.consumer_id[:12], 16))


def _users(tweets: list[SimTweet]) -> list[dict[str, str]]:
    users = {}
    for tweet in tweets:
        review = tweet.review
        username = "".join(ch for ch in review.consumer_name if ch.isalnum())[:12] or "user"
        users[_user_id(review)] = {"id": _user_id(review), "name": review.consumer_name, "username": username}
    return list(users.values())


def _build_tweets(
    merchant_id: str, handle: str, baseline: tuple[SimReview, ...], cascades: list[Cascade]
) -> list[SimTweet]:
    """Mentions with snowflake ids; a quarter answer an earlier mention; a few are edited ten minutes later."""
    tweets: list[SimTweet] = []
    for review in baseline:
        digest = int(hashlib.sha256(review.id.encode()).hexdigest()[:12], 16)
        tweet_id = snowflake(review.created_at, review.id)
        text = f"@{handle} {review.text}"
        parent = tweets[digest % len(tweets)] if tweets and digest % 1000 < _REPLY_SHARE * 1000 else None
        if parent is not None:
            text = f"@{parent.review.consumer_name.split()[0]} {text}"
        tweet = SimTweet(
            replace(review, id=tweet_id, text=text),
            tweet_id,
            tweet_id if parent is None else parent.conversation_id,
            None if parent is None else parent.id,
        )
        tweets.append(tweet)
        if review.malformed is None and (digest >> 12) % 1000 < _EDIT_SHARE * 1000:
            edited_at = review.created_at + timedelta(minutes=10)
            edit_id = snowflake(edited_at, review.id + ":edit")
            tweets.append(
                replace(
                    tweet,
                    review=replace(
                        tweet.review, id=edit_id, created_at=edited_at, text=text + " (edit: still waiting)"
                    ),
                )
            )
    for cascade in cascades:
        root_id = snowflake(cascade.created_at, f"cascade:{cascade.index}")
        root_review = SimReview(
            merchant_id=merchant_id, business_unit_id="", id=root_id, stars=1, title="",
            text=f"@{handle} {cascade.spec.text}", language=cascade.spec.language,
            consumer_id=hashlib.sha256(cascade.author.encode()).hexdigest()[:24], consumer_name=cascade.author,
            consumer_location="", consumer_review_count=1, created_at=cascade.created_at,
            category=cascade.spec.reply_category, storm=True, reference_id=None, verified=False, likes=0,
            malformed=None, platform=PLATFORM,
        )  # fmt: skip
        root = SimTweet(root_review, root_review.id, root_review.id, None, cascade)
        tweets.append(root)
        ids = [snowflake(r.created_at, f"cascade:{cascade.index}:{n}") for n, r in enumerate(cascade.replies)]
        for n, (reply, answered) in enumerate(zip(cascade.replies, cascade.parents, strict=True)):
            parent_id = root.id if answered is None else ids[answered]
            text = f"@{cascade.author.split()[0]} @{handle} {reply.text}"
            tweets.append(SimTweet(replace(reply, id=ids[n], text=text), ids[n], root.id, parent_id))
    tweets.sort(key=lambda t: (t.review.created_at, int(t.id)))
    return tweets


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode("ascii").rstrip("=")


def _decode(token: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        datetime.fromisoformat(str(data["t"]))
        int(data["o"])
    except (binascii.Error, orjson.JSONDecodeError, ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) else None
