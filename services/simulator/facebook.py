"""The simulated Facebook Graph API for Pages: feed posts with counters, comments with parents, Graph error objects.

Paths `/{version}/{page-id}/feed`, `/{version}/{post-id}/comments` and `/{version}/{page-id}/ratings` (error 12
from v22.0 on). Auth is a Page access token (`Authorization: Bearer` or `access_token`); errors are Graph error
objects (`suppress_http_code=1` answers them with HTTP 200, as Graph does); every answer carries the
`X-App-Usage` and `X-Business-Use-Case-Usage` headers. The page's posts gather a few shares and reactions; a
scenario cascade is a visitor post that goes viral (simulator.cascade).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.simulator.cascade import Cascade, merchant_cascades
from services.simulator.clock import SimClock
from services.simulator.scenario import FacebookPage, Scenario
from services.simulator.timeline import SimReview, Timeline, generate_platform_timeline

PLATFORM = "facebook"
GRAPH_PATH = r"/{version:v[0-9]+\.[0-9]+}/{node:[0-9_]+}/{edge:feed|comments|ratings}"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Rate-limit error codes in rotation: application, user, page (BUC) and per-API limits.
THROTTLE_CODES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}
CALLS_PER_HOUR = 4800
_NESTED_SHARE = 0.2
_PAGE_MESSAGES = (
    "New season, new arrivals: have a look in the shop!",
    "We are open late this Thursday. See you there?",
    "Thank you for 10,000 followers! A little discount code is on its way.",
    "Behind the scenes: packing your orders with care.",
    "Which colour should we stock next? Tell us in the comments.",
)


def token_for(scenario: Scenario, merchant_id: str) -> str:
    """The Page access token the simulated Graph API accepts for the merchant's page."""
    scenario.merchant(merchant_id)
    return "EAAG" + hashlib.sha256(f"{scenario.seed}:{merchant_id}:facebook".encode()).hexdigest()[:48]


def graph_time(moment: datetime) -> str:
    """Graph's ISO 8601 form: `2026-11-02T12:00:00+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass(frozen=True)
class SimPost:
    id: str
    merchant_id: str
    created_at: datetime
    message: str
    author_id: str
    author: str
    final_shares: int
    final_reactions: int
    cascade: Cascade | None = None


@dataclass(frozen=True)
class SimComment:
    review: SimReview
    post_id: str
    parent_id: str | None


class FacebookApi:
    """Every merchant with a `facebook` page: its feed, the comments on each post, and a viral post if any."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        requests: Counter,
        *,
        on_reviews_request: Callable[[], None] = lambda: None,
    ) -> None:
        self._scenario = scenario
        self._clock = clock
        self._requests = requests
        self._on_reviews_request = on_reviews_request
        self._pages = {m.id: m.facebook for m in scenario.merchants if m.facebook is not None}
        self._by_token = {token_for(scenario, m): m for m in self._pages}
        baseline = generate_platform_timeline(
            scenario, PLATFORM, {m: p.comments_per_hour for m, p in self._pages.items()}
        )
        self.posts: dict[str, list[SimPost]] = {}  # per merchant, oldest first
        self._post_index: dict[str, SimPost] = {}
        self.comments: dict[str, list[SimComment]] = {}  # per post, oldest first
        timelines: dict[str, tuple[SimReview, ...]] = {}
        for merchant in scenario.merchants:
            page = merchant.facebook
            if page is None:
                continue
            cascades = merchant_cascades(scenario, merchant, PLATFORM)
            posts, comments = _build_page(scenario, merchant.id, page, baseline.all(merchant.id), cascades)
            self.posts[merchant.id] = posts
            self._post_index.update({p.id: p for p in posts})
            self.comments.update(comments)
            everything = [c.review for p in posts for c in comments.get(p.id, [])]
            timelines[merchant.id] = tuple(sorted(everything, key=lambda r: (r.created_at, r.id)))
        self.timeline = Timeline(timelines)
        self._calls = 0
        self._used: dict[str, int] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get(GRAPH_PATH, self.graph)]

    def visible_posts(self, merchant_id: str, now: datetime) -> list[SimPost]:
        return [p for p in self.posts.get(merchant_id, []) if p.created_at <= now]

    def visible_comments(self, post_id: str, now: datetime) -> list[SimComment]:
        return [c for c in self.comments.get(post_id, []) if c.review.created_at <= now]

    def counters(self, post: SimPost, now: datetime) -> tuple[int, int, int]:
        """(shares, comments, reactions) of a post at `now`."""
        comments = len(self.visible_comments(post.id, now))
        if post.cascade is not None:
            counted = post.cascade.counters(now)
            return counted.shares, comments, counted.reactions
        grown = 1 - math.exp(-(now - post.created_at).total_seconds() / (3 * 3600))
        return round(post.final_shares * grown), comments, round(post.final_reactions * grown)

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)

    def _error(
        self, request: web.Request, status: int, code: int, message: str, *, headers: dict[str, str] | None = None,
        kind: str = "OAuthException", transient: bool = False,
    ) -> web.Response:  # fmt: skip
        """A Graph error object; `suppress_http_code=1` makes its HTTP status 200, as Graph does."""
        trace = hashlib.sha256(f"{self._calls}".encode()).hexdigest()[:11]
        error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": trace}
        if transient:
            error["is_transient"] = True
        suppressed = request.query.get("suppress_http_code") == "1"
        return self._reply(200 if suppressed else status, {"error": error}, headers)

    def _usage(self, merchant_id: str | None, page_id: str, regain_minutes: int = 0) -> dict[str, str]:
        used = self._used.get(merchant_id, 0) if merchant_id is not None else 0
        percent = min(100, used * 100 // CALLS_PER_HOUR)
        buc = {
            "type": "pages",
            "call_count": percent,
            "total_cputime": percent // 2,
            "total_time": percent // 2,
            "estimated_time_to_regain_access": regain_minutes,
        }
        return {
            "X-App-Usage": orjson.dumps({"call_count": percent, "total_cputime": 0, "total_time": 0}).decode(),
            "X-Business-Use-Case-Usage": orjson.dumps({page_id: [buc]}).decode(),
        }

    async def graph(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one return per Graph error
        """GET a page's feed, a post's comments or a page's ratings."""
        self._on_reviews_request()
        self._calls += 1
        faults = self._scenario.faults
        node, edge = request.match_info["node"], request.match_info["edge"]
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            code = tuple(THROTTLE_CODES)[(self._calls // faults.rate_limit_every) % len(THROTTLE_CODES)]
            regain = math.ceil(faults.retry_after_seconds / 60) if faults.retry_after_seconds >= 60 else 0
            headers = self._usage(None, node.split("_")[0], regain)
            return self._error(request, 400, code, THROTTLE_CODES[code], headers=headers, transient=True)
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._error(request, 503, 2, "Service temporarily unavailable", kind="FacebookApiException")
        header = request.headers.get("Authorization", "")
        token = (
            header.removeprefix("Bearer ").strip()
            if header.startswith("Bearer ")
            else request.query.get("access_token")
        )
        merchant = self._by_token.get(token or "")
        if merchant is None:
            return self._error(request, 400, 190, "Invalid OAuth access token - Cannot parse access token")
        self._used[merchant] = self._used.get(merchant, 0) + 1
        page = self._pages[merchant]
        headers = self._usage(merchant, page.page_id)
        if edge == "ratings":
            return self._ratings(request, page, node, headers)
        owned = node == page.page_id if edge == "feed" else node in self._post_index and node.startswith(page.page_id)
        if not owned:
            message = f"Unsupported get request. Object with ID '{node}' does not exist or cannot be loaded"
            return self._error(request, 400, 100, message, kind="GraphMethodException", headers=headers)
        try:
            limit = min(int(request.query.get("limit", str(DEFAULT_LIMIT))), MAX_LIMIT)
        except ValueError:
            limit = 0
        if limit < 1:
            return self._error(
                request, 400, 100, "(#100) The parameter limit must be a positive integer", headers=headers
            )
        if edge == "feed":
            return self._feed(request, merchant, limit, headers)
        return self._comments(request, node, limit, headers)

    def _ratings(self, request: web.Request, page: FacebookPage, node: str, headers: dict[str, str]) -> web.Response:
        version = float(request.match_info["version"][1:])
        if version >= 22.0:
            message = "(#12) Page recommendations are deprecated for versions v22.0 and higher"
            return self._error(request, 400, 12, message, headers=headers)
        if node != page.page_id:
            return self._error(request, 400, 100, "Unsupported get request.", headers=headers)
        return self._reply(200, {"data": []}, headers)

    def _feed(self, request: web.Request, merchant: str, limit: int, headers: dict[str, str]) -> web.Response:
        query = request.query
        fresh: dict[str, Any] = {"o": 0, "t": self._clock.now().isoformat()}
        position = _decode(query["after"]) if "after" in query else fresh
        if position is None or not isinstance(position.get("o"), int):
            return self._error(request, 400, 100, "(#100) Invalid cursor", headers=headers)
        try:
            snapshot = datetime.fromisoformat(str(position["t"]))
        except ValueError:
            return self._error(request, 400, 100, "(#100) Invalid cursor", headers=headers)
        try:
            since = int(query.get("since", "0"))
        except ValueError:
            return self._error(request, 400, 100, "(#100) since must be a unix timestamp", headers=headers)
        posts = [p for p in self.visible_posts(merchant, snapshot) if p.created_at.timestamp() >= since]
        posts.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        offset = int(position["o"])
        chosen = posts[offset : offset + limit]
        now = self._clock.now()
        body: dict[str, Any] = {"data": [self.render_post(p, now) for p in chosen]}
        if chosen:
            after = _encode({"o": offset + len(chosen), "t": snapshot.isoformat()})
            paging: dict[str, Any] = {
                "cursors": {"before": _encode({"o": offset, "t": snapshot.isoformat()}), "after": after}
            }
            if offset + len(chosen) < len(posts):
                paging["next"] = f"{request.url.with_query({**query, 'after': after})}"
            body["paging"] = paging
        return self._reply(200, body, headers)

    def render_post(self, post: SimPost, now: datetime) -> dict[str, Any]:
        shares, comments, reactions = self.counters(post, now)
        item: dict[str, Any] = {
            "id": post.id,
            "message": post.message,
            "created_time": graph_time(post.created_at),
            "updated_time": graph_time(post.created_at),
            "from": {"id": post.author_id, "name": post.author},
            "permalink_url": f"https://www.facebook.com/{post.id.replace('_', '/posts/')}",
            "comments": {"data": [], "summary": {"order": "ranked", "total_count": comments, "can_comment": True}},
            "reactions": {"data": [], "summary": {"total_count": reactions}},
        }
        if shares:
            item["shares"] = {"count": shares}  # Graph leaves `shares` out until the first share
        return item

    def _comments(self, request: web.Request, post_id: str, limit: int, headers: dict[str, str]) -> web.Response:
        query = request.query
        comments = self.visible_comments(post_id, self._clock.now())
        if query.get("filter", "toplevel") == "toplevel":
            comments = [c for c in comments if c.parent_id is None]
        if query.get("order", "chronological") == "reverse_chronological":
            comments.reverse()
        start = 0
        if "after" in query:
            after = _decode(query["after"])
            ids = [c.review.id for c in comments]
            if after is None or after.get("id") not in ids:
                return self._error(request, 400, 100, "(#100) Invalid cursor", headers=headers)
            start = ids.index(after["id"]) + 1
        chosen = comments[start : start + limit]
        body: dict[str, Any] = {"data": [render_comment(c, post_id) for c in chosen]}
        if chosen:
            after_cursor = _encode({"id": chosen[-1].review.id})
            paging: dict[str, Any] = {
                "cursors": {"before": _encode({"id": chosen[0].review.id}), "after": after_cursor}
            }
            if start + len(chosen) < len(comments):
                paging["next"] = f"{request.url.with_query({**query, 'after': after_cursor})}"
            body["paging"] = paging
        if query.get("summary") == "true":
            body["summary"] = {"order": query.get("order", "chronological"), "total_count": len(comments)}
        return self._reply(200, body, headers)


def render_comment(comment: SimComment, post_id: str) -> dict[str, Any]:
    review = comment.review
    item: dict[str, Any] = {
        "id": review.id,
        "message": review.text,
        "created_time": graph_time(review.created_at),
        "from": {"id": review.consumer_id[:16], "name": review.consumer_name},
        "like_count": review.likes,
        "comment_count": 0,
        "is_hidden": False,
        "permalink_url": f"https://www.facebook.com/{post_id.replace('_', '/posts/')}?comment_id={review.id}",
    }
    if comment.parent_id is not None:
        item["parent"] = {"id": comment.parent_id}
    if review.malformed == "missing_id":
        del item["id"]
    elif review.malformed == "stars_as_text":
        item["created_time"] = "yesterday at noon"
    return item


def _build_page(
    scenario: Scenario, merchant_id: str, page: FacebookPage, baseline: tuple[SimReview, ...], cascades: list[Cascade]
) -> tuple[list[SimPost], dict[str, list[SimComment]]]:
    """The page's posts (its own, from a day before the scenario, and the cascades') and every comment on them."""
    rng = random.Random(f"{scenario.seed}:{merchant_id}:facebook:posts")  # noqa: S311 - simulation
    posts: list[SimPost] = []
    if page.posts_per_day > 0:
        step = 24 * 3600 / page.posts_per_day
        moment = scenario.start - timedelta(days=1)
        while moment < scenario.end:
            posts.append(
                SimPost(
                    id=f"{page.page_id}_{10**15 + len(posts)}",
                    merchant_id=merchant_id,
                    created_at=moment.replace(microsecond=0),
                    message=rng.choice(_PAGE_MESSAGES),
                    author_id=page.page_id,
                    author=merchant_id,
                    final_shares=rng.randrange(0, 12),
                    final_reactions=rng.randrange(5, 60),
                )
            )
            moment += timedelta(seconds=step * rng.uniform(0.7, 1.3))
    comments: dict[str, list[SimComment]] = {p.id: [] for p in posts}
    times = [p.created_at for p in posts]
    for review in baseline:
        at = bisect.bisect_right(times, review.created_at) - 1
        if at < 0:
            continue
        post = posts[at]
        thread = comments[post.id]
        comment_id = f"{post.id.split('_')[1]}_{10**14 + len(thread)}"
        digest = int(hashlib.sha256(review.id.encode()).hexdigest()[:8], 16)
        nested = thread and digest % 1000 < _NESTED_SHARE * 1000
        parent = thread[digest % len(thread)].review.id if nested else None
        thread.append(SimComment(replace(review, id=comment_id), post.id, parent))
    for cascade in cascades:
        post = SimPost(
            id=f"{page.page_id}_{10**15 + 900_000 + cascade.index}",
            merchant_id=merchant_id,
            created_at=cascade.created_at,
            message=cascade.spec.text,
            author_id=f"{10**14 + cascade.index}",
            author=cascade.author,
            final_shares=cascade.spec.shares,
            final_reactions=0,
            cascade=cascade,
        )
        suffix = post.id.split("_")[1]
        ids = [f"{suffix}_{10**14 + n}" for n in range(len(cascade.replies))]
        comments[post.id] = [
            SimComment(replace(reply, id=ids[n]), post.id, None if parent is None else ids[parent])
            for n, (reply, parent) in enumerate(zip(cascade.replies, cascade.parents, strict=True))
        ]
        posts.append(post)
    posts.sort(key=lambda p: (p.created_at, p.id))
    return posts, comments


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode("ascii").rstrip("=")


def _decode(cursor: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None
