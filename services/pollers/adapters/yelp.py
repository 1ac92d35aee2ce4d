"""The Yelp Fusion adapter: Bearer API key, the three newest excerpts (a sampling source), local times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.http import AuthError, Requester, UnparseablePage
from services.pollers.adapters.localtime import parse_local
from services.pollers.revisions import truncate
from services.shared.config import SourceConfig
from services.shared.errors import BadInput, ConfigError, Reason
from services.shared.events import AttributeValue, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "yelp"
DEFAULT_BASE_URL = "https://api.yelp.com"
REVIEWS_PATH = "/v3/businesses/{business_id}/reviews"
STARS = RatingScale(1, 5)
# Ids of recently seen excerpts kept in the cursor: far more than the three Yelp shows, so none repeats.
_SEEN = 30
_OPTIONS = frozenset({"business_id", "locale"})


def _bad(message: str) -> BadInput:
    return BadInput(f"yelp review: {message}", reason=Reason.NORMALISATION_FAILED)


def normalise_review(
    data: Any, *, merchant_id: str, source_id: str, observed_at: datetime, timezone: str
) -> ReviewEvent:
    """One review excerpt; `time_created` is the business's local time, read in the source's `timezone`."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    review_id = data.get("id")
    if not isinstance(review_id, str) or not review_id or len(review_id) > 500:
        raise _bad("id is missing or not a non-empty string")
    rating = data.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int | float) or not 1 <= rating <= 5:
        raise _bad(f"rating is {rating!r:.40}, expected a number 1..5")
    created_text = data.get("time_created")
    if not isinstance(created_text, str):
        raise _bad("time_created is missing")
    try:
        created = parse_local(created_text, timezone)
    except (ValueError, OverflowError):
        raise _bad(f"time_created {created_text[:40]!r} is not a timestamp") from None
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise _bad("text is not a string")
    user = data.get("user")
    name = user.get("name") if isinstance(user, dict) else None
    url = data.get("url")
    body, cut = truncate(text)
    attributes: dict[str, AttributeValue] = {"excerpt": True, "sampled": True}
    if cut:
        attributes["truncated"] = True
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, review_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=review_id,
        kind="review",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        rating=float(rating),
        rating_scale=STARS,
        text=body,
        author=name[:500] if isinstance(name, str) else None,
        url=url if isinstance(url, str) and len(url) <= 2000 else None,
        attributes=attributes,
    )


class YelpAdapter:
    """Yelp shows only the three newest review excerpts, so this is a sampling source: each poll reads them and
    publishes the ones not seen before (the cursor keeps the last ids seen). Reviews that arrive faster than the
    poll interval can pass unseen; `stormwatch platforms` says so.
    """

    platform = PLATFORM
    default_rate_limit = RateLimit(per_second=5.0, burst=5)

    def __init__(self, source: SourceConfig, *, business_id: str, api_key: str, locale: str | None = None) -> None:
        self._source = source
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + REVIEWS_PATH.format(business_id=business_id)
        self._api_key = api_key
        self._locale = locale
        self.credential_id = deterministic_id(PLATFORM, base, api_key)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> YelpAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        business_id = source.options.get("business_id")
        if not isinstance(business_id, str) or not business_id:
            raise ConfigError(f"{where}.options.business_id: required, the Yelp business id or alias")
        locale = source.options.get("locale")
        if locale is not None and not isinstance(locale, str):
            raise ConfigError(f"{where}.options.locale: expected a locale such as en_US")
        if not source.credentials.get("api_key"):
            raise ConfigError(f"{where}.credentials.api_key: required for Yelp Fusion")
        return cls(source, business_id=business_id, api_key=source.credentials["api_key"].reveal(), locale=locale)

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_review(
            item.data,
            merchant_id=source.merchant_id,
            source_id=source.id,
            observed_at=observed_at,
            timezone=source.timezone,
        )

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        seen = list((request.cursor or {}).get("seen", []))
        params = {"limit": "3", "sort_by": "newest"} | ({"locale": self._locale} if self._locale else {})
        what = f"yelp reviews of source {self._source.id}"
        try:
            response = await client.request(
                "GET", self._url, headers={"Authorization": f"Bearer {self._api_key}"}, params=params
            )
        except AuthError as exc:
            raise AuthError(
                f"{what}: Yelp refused the api_key (HTTP {exc.status}); check {self._source.key_path}.credentials",
                status=exc.status,
            ) from exc
        payload = response.json(what)
        reviews = payload.get("reviews") if isinstance(payload, dict) else None
        if not isinstance(reviews, list):
            raise UnparseablePage(
                f"{what}: response has no reviews list", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        items = []
        for data in reversed(reviews):  # oldest of the three first
            raw = orjson.dumps(data)
            key = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else raw.hex()[:64]
            if key in seen:
                continue
            items.append(RawItem(raw, data))
            seen.append(key)
        return Page(tuple(items), {"seen": seen[-_SEEN:]}, None)
