"""Simulated blog / news feeds about a merchant: RSS 2.0 and Atom, ETag / Last-Modified and 304, edited posts."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from xml.etree import ElementTree as ET

from aiohttp import web
from prometheus_client import Counter

from services.shared.timeutil import format_rfc3339
from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline, published_timeline

PLATFORM = "rss"
RSS_PATH = "/feeds/{slug}.rss"
ATOM_PATH = "/feeds/{slug}.atom"
WINDOW = 100  # entries a feed carries: older posts fall off
EDIT_AFTER = timedelta(hours=2)
ATOM_NS = "http://www.w3.org/2005/Atom"
_OTHER_TOPICS = ("Ten tips for a tidy kitchen", "Autumn recipes", "Our favourite podcasts this month")


@dataclass(frozen=True)
class Post:
    """A blog post as the feed shows it at one moment (some are edited two hours after publishing)."""

    review: SimReview
    key: str
    title: str
    text: str
    link: str
    published: datetime
    updated: datetime
    mentions: bool


def _mentions(review: SimReview) -> bool:
    return int(review.id[:2], 16) % 5 != 0  # one post in five is about something else


def post_at(review: SimReview, merchant_name: str, now: datetime) -> Post:
    mentions = _mentions(review)
    title = f"{merchant_name}: {review.title}" if mentions else _OTHER_TOPICS[int(review.id[2:4], 16) % 3]
    text = f"<p>We ordered from <b>{merchant_name}</b>. {review.text}</p>" if mentions else "<p>Nothing to see.</p>"
    updated = review.created_at
    if not review.malformed and int(review.id[-2:], 16) % 4 == 0 and review.created_at + EDIT_AFTER <= now:
        text += "<p><i>Update: the shop has since replied and refunded us.</i></p>"
        updated = review.created_at + EDIT_AFTER
    link = f"https://blog.example/{review.merchant_id}/{review.id[:12]}"
    return Post(review, f"urn:sim:post:{review.id}", title, text, link, review.created_at, updated, mentions)


class FeedsApi:
    """RSS and Atom feeds for every merchant with `feeds`: the newest WINDOW posts, conditional GET."""

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
        feeds = {m.id: m.feeds for m in scenario.merchants if m.feeds is not None}
        self._by_slug = {f.slug: m for m, f in feeds.items()}
        self._names = {m.id: m.name for m in scenario.merchants}
        self._timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: f.baseline_per_hour for m, f in feeds.items()}
        )
        # Ground truth for visible_reviews(): the posts that name the merchant, under their feed ids.
        self.timeline = published_timeline(self._timeline, lambda r: f"urn:sim:post:{r.id}", keep=_mentions)
        self._calls = 0
        self.not_modified = 0  # 304 answers given (what conditional GET saves)

    def routes(self) -> list[web.RouteDef]:
        return [web.get(RSS_PATH, self.rss), web.get(ATOM_PATH, self.atom)]

    def visible(self, merchant_id: str, now: datetime) -> list[Post]:
        """Ground truth: the posts the feed carries at `now`, newest first."""
        if merchant_id not in self._timeline.merchant_ids:
            return []
        newest = list(reversed(self._timeline.visible(merchant_id, now)))[:WINDOW]
        return [post_at(r, self._names[merchant_id], now) for r in newest]

    async def rss(self, request: web.Request) -> web.Response:
        return await self._serve(request, "rss")

    async def atom(self, request: web.Request) -> web.Response:
        return await self._serve(request, "atom")

    def _plain(self, status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(status=status, text=text, headers=headers)

    async def _serve(self, request: web.Request, kind: str) -> web.Response:
        self._on_reviews_request()
        self._calls += 1
        faults = self._scenario.faults
        if faults.slow_every and self._calls % faults.slow_every == 0:
            await asyncio.sleep(faults.slow_seconds)
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            return self._plain(429, "Too Many Requests", {"Retry-After": str(faults.retry_after_seconds)})
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._plain(503, "Service Unavailable")
        merchant = self._by_slug.get(request.match_info["slug"])
        if merchant is None:
            return self._plain(404, "Not Found")
        posts = self.visible(merchant, self._clock.now())
        body = render_rss(posts, self._names[merchant]) if kind == "rss" else render_atom(posts, self._names[merchant])
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        newest = max((p.updated for p in posts), default=self._scenario.start)
        headers = {"ETag": etag, "Last-Modified": format_datetime(newest.astimezone(UTC), usegmt=True)}
        if request.headers.get("If-None-Match") == etag or _not_modified_since(request, newest):
            self.not_modified += 1
            self._requests.labels(platform=PLATFORM, status="304").inc()
            return web.Response(status=304, headers=headers)
        content_type = "application/rss+xml" if kind == "rss" else "application/atom+xml"
        self._requests.labels(platform=PLATFORM, status="200").inc()
        return web.Response(body=body, headers=headers, content_type=content_type, charset="utf-8")


def _not_modified_since(request: web.Request, newest: datetime) -> bool:
    if "If-None-Match" in request.headers:  # ETag wins over the date when both are sent (RFC 9110)
        return False
    text = request.headers.get("If-Modified-Since")
    try:
        since = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError):
        return False
    return since is not None and int(newest.timestamp()) <= int(since.timestamp())


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def render_rss(posts: list[Post], name: str) -> bytes:
    """RSS 2.0; malformed posts lose guid and link, or carry a date no one can read."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", f"Mentions of {name}")
    _sub(channel, "link", "https://blog.example/")
    _sub(channel, "description", "Simulated blog posts")
    for post in posts:
        item = _sub(channel, "item")
        _sub(item, "title", post.title)
        if post.review.malformed != "missing_id":
            _sub(item, "link", post.link)
            _sub(item, "guid", post.key, isPermaLink="false")
        _sub(item, "description", post.text)
        _sub(item, "author", f"blogger@example.com ({post.review.consumer_name})")
        date = format_datetime(post.published, usegmt=True)
        _sub(item, "pubDate", "sometime last week" if post.review.malformed == "stars_as_text" else date)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(rss, encoding="utf-8"))


def render_atom(posts: list[Post], name: str) -> bytes:
    """Atom 1.0 with published and updated; the same malformations as the RSS feed."""
    ET.register_namespace("", ATOM_NS)
    ns = f"{{{ATOM_NS}}}"
    feed = ET.Element(f"{ns}feed")
    _sub(feed, f"{ns}title", f"Mentions of {name}")
    _sub(feed, f"{ns}id", f"urn:sim:feed:{name}")
    _sub(
        feed, f"{ns}updated", format_rfc3339(max((p.updated for p in posts), default=datetime(2000, 1, 1, tzinfo=UTC)))
    )
    for post in posts:
        entry = _sub(feed, f"{ns}entry")
        _sub(entry, f"{ns}title", post.title)
        if post.review.malformed != "missing_id":
            _sub(entry, f"{ns}id", post.key)
            _sub(entry, f"{ns}link", href=post.link, rel="alternate")
        published = "sometime last week" if post.review.malformed == "stars_as_text" else format_rfc3339(post.published)
        _sub(entry, f"{ns}published", published)
        _sub(entry, f"{ns}updated", format_rfc3339(post.updated))
        author = _sub(entry, f"{ns}author")
        _sub(author, f"{ns}name", post.review.consumer_name)
        _sub(entry, f"{ns}summary", post.text, type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))
