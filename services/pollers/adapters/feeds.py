"""The RSS / Atom adapter: blog, news and alert feeds read with conditional GET, entries that mention the merchant
become `mention` events (no rating), deduplicated on guid / id."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.feeds_items import PLATFORM, entry_key, mentions, normalise_entry
from services.pollers.adapters.feeds_xml import FeedRejected, parse_feed
from services.pollers.adapters.http import AuthError, Requester
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError
from services.shared.events import ReviewEvent, deterministic_id

# Entry ids (with a digest of their content) remembered in the cursor: far more than a feed window holds.
SEEN = 1000
# A refused document goes to the dead-letter topic whole, up to this many bytes.
MAX_DEAD_LETTER_BYTES = 64 * 1024
_OPTIONS = frozenset({"url", "terms"})


class FeedAdapter:
    """One feed URL. Each poll is one conditional GET (If-None-Match / If-Modified-Since from the cursor): a 304 costs
    nothing; a new document's entries that mention one of `terms` and were not seen with the same content are
    published (an entry whose content changed comes again and becomes `review.updated`). A document with a DTD or
    entity declarations, or that is not well-formed, is dead-lettered whole and never parsed further.
    """

    platform = PLATFORM
    # Feeds are cheap but belong to other people's servers: one request every ten seconds at most per feed.
    default_rate_limit = RateLimit(per_second=0.1, burst=2)

    def __init__(self, source: SourceConfig, *, url: str, terms: tuple[str, ...]) -> None:
        self._source = source
        self._url = url
        self._terms = terms
        self.credential_id = deterministic_id(PLATFORM, url)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> FeedAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        url = source.options.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.options.url: required, the feed's http(s) URL")
        terms = source.options.get("terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
            raise ConfigError(f"{where}.options.terms: required, a list of names the merchant goes by (non-empty)")
        return cls(source, url=url, terms=tuple(t.strip() for t in terms))

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_entry(item.data, merchant_id=source.merchant_id, source_id=source.id, observed_at=observed_at)

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.1"}
        if isinstance(cursor.get("etag"), str):
            headers["If-None-Match"] = cursor["etag"]
        if isinstance(cursor.get("last_modified"), str):
            headers["If-Modified-Since"] = cursor["last_modified"]
        try:
            response = await client.request("GET", self._url, headers=headers)
        except AuthError as exc:
            raise AuthError(
                f"rss feed of source {self._source.id}: HTTP {exc.status}; the feed is not public", status=exc.status
            ) from exc
        if response.status == 304:
            return Page((), dict(cursor), None)
        seen: dict[str, str] = dict(cursor.get("seen", {})) if isinstance(cursor.get("seen"), dict) else {}
        stored: dict[str, Any] = {
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
        }
        try:
            entries = parse_feed(response.body)
        except FeedRejected as exc:
            document = response.body[:MAX_DEAD_LETTER_BYTES]
            return Page((RawItem(document, {"rejected": str(exc)}),), {**stored, "seen": seen}, None)
        items: list[RawItem] = []
        for entry in entries:
            data = entry.to_dict()
            if not mentions(data, self._terms):
                continue
            raw = orjson.dumps(data)
            key = entry_key(data) or "sha256:" + hashlib.sha256(raw).hexdigest()[:32]
            digest = hashlib.sha256(raw).hexdigest()[:16]
            if seen.get(key) == digest:
                continue
            seen.pop(key, None)
            seen[key] = digest
            items.append(RawItem(raw, data))
        # Insertion order is recency of change: keep the newest SEEN.
        kept = dict(list(seen.items())[-SEEN:])
        return Page(tuple(items), {**stored, "seen": kept}, None)
