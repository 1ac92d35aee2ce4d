"""What Stormwatch can and cannot see on each platform: the catalogue behind `stormwatch platforms`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.pollers.adapters.registry import ADAPTERS

Status = Literal["supported", "planned", "unsupported"]
# Served without a poller: signed JSON webhooks (`options: {mode: webhook}`) and `stormwatch import`.
PUSH_ONLY = frozenset({"import", "jd", "pinduoduo", "homeadvisor"})
_PUSHED = "`stormwatch import FILE` or POST /webhooks/{source} with `platform: %s` (generic item format)"
_NO_API = "no review API documented for third parties"


@dataclass(frozen=True)
class PlatformInfo:
    platform: str
    name: str
    api: str
    auth: str
    cursor: str
    sees: str
    cannot_see: str
    unsupported_reason: str | None = None

    @property
    def status(self) -> Status:
        if self.unsupported_reason is not None:
            return "unsupported"
        return "supported" if self.platform in ADAPTERS or self.platform in PUSH_ONLY else "planned"


CATALOGUE: tuple[PlatformInfo, ...] = (
    PlatformInfo(
        "trustpilot", "Trustpilot", "GET /v1/private/business-units/{id}/reviews",
        "OAuth2 business-user token (client credentials or password grant)", "createdAt high-water mark",
        "every service review with stars, text, language, consumer, reply, likes",
        "edits and deletions when only polled (by createdAt): add a webhook source (mode: webhook) for those",
    ),
    PlatformInfo(
        "google_business", "Google Business Profile", "GET v4/accounts/{a}/locations/{l}/reviews",
        "OAuth2 refresh token (business.manage)", "updateTime high-water mark, pageToken sweeps",
        "every review incl. rating-only ones, owner replies, rating edits (review.updated)",
        "deleted reviews (they just disappear from the list); unverified locations return nothing",
    ),
    PlatformInfo(
        "facebook", "Facebook Pages", "GET /{page-id}/feed, /{post-id}/comments; feed webhooks",
        "Page access token (polling); app secret + verify token (X-Hub-Signature-256 webhooks)",
        "per-post paging.cursors.after (comments, chronological); feed since the newest activity - watch_hours",
        "posts as thread snapshots (shares, comments, reactions), comments with parents; edits and removals "
        "through the feed webhook",
        "recommendations on Graph >= v22 (error 12); private messages; post views (insights); comment edits when "
        "only polled",
    ),
    PlatformInfo(
        "yelp", "Yelp Fusion", "GET /v3/businesses/{id}/reviews", "Bearer API key",
        "ids of the last excerpts seen (sampling source)",
        "the three newest review excerpts only", "full texts, older reviews, replies: a sampling source, not a feed",
    ),
    PlatformInfo(
        "ebay", "eBay", "GET /commerce/feedback/v1/feedback", "OAuth user token", "limit + offset, newest first",
        "feedback with comment type, DSR ratings, follow-ups, replies, withdrawn state", "removed comment texts ('--')",
    ),
    PlatformInfo(
        "etsy", "Etsy", "GET /v3/application/shops/{shop_id}/reviews", "x-api-key", "min_created epoch + offset",
        "shop reviews with rating and text (deduplicated on transaction_id)",
        "review ids and seller replies; edits of reviews older than the mark (the filter is on creation time)",
    ),
    PlatformInfo(
        "ecwid", "Ecwid", "GET /api/v3/{storeId}/reviews", "Bearer store token (read_reviews scope)",
        "updateTimestamp high-water mark (updatedFrom) + offset sweeps",
        "product reviews with rating, text, product, order, moderation status; author edits (review.updated)",
        "merchant replies (the API has none); deleted reviews (they just disappear)",
    ),
    PlatformInfo(
        "x", "X (Twitter)", "GET /2/tweets/search/recent", "OAuth2 app-only bearer", "since_id + next_token",
        "mentions matching a query (edits as review.updated), conversations, public_metrics (thread snapshots "
        "by tweet lookup)",
        "posts older than 7 days, protected accounts, more than the tier's monthly post cap",
    ),
    PlatformInfo(
        "taobao", "Taobao / Tmall", "taobao.traderates.get (TOP gateway)",
        "app key + secret request signing (md5 / hmac) + seller session key",
        "created-time high-water mark; windows halved until under the 1,500-result cap",
        "trade rates good / neutral / bad (as 5 / 3 / 1) with content and the seller's reply",
        "rates older than 180 days; replies or appended reviews added after a rate was first polled",
    ),
    PlatformInfo(
        "google_play", "Google Play", "GET androidpublisher/v3/applications/{pkg}/reviews",
        "OAuth2 service account (JWT bearer grant, androidpublisher scope)", "lastModified high-water mark + token",
        "reviews with text modified in the last ~7 days, developer replies, edits (review.updated)",
        "rating-only reviews and anything older than about a week; no creation time (lastModified stands in)",
    ),
    PlatformInfo(
        "app_store", "App Store Connect", "GET /v1/apps/{id}/customerReviews", "JWT (ES256, .p8 API key)",
        "createdDate high-water mark + links.next", "customer reviews with rating, title, body, territory, responses",
        "edits (Apple keeps no edit time); responses written after a review was first polled",
    ),
    PlatformInfo(
        "rss", "Blogs and news (RSS/Atom)", "feed URLs (blogs, news, Google Alerts)", "none (public feeds)",
        "ETag / Last-Modified (304) + guid/id with content digests",
        "entries naming the merchant (options.terms) as rating-less mentions; edited entries (review.updated)",
        "social media; entries that fell off the feed between polls; feeds with a DTD (refused)",
    ),
    PlatformInfo(
        "import", "JD, Pinduoduo, HomeAdvisor, exports",
        "`stormwatch import FILE` (CSV / JSONL); POST /webhooks/{source} (signed JSON)",
        "HMAC-SHA256 over timestamp.body (webhook)", "content-versioned event ids",
        "whatever the merchant exports or pushes, with edits and deletions", "anything not exported or pushed",
    ),
    PlatformInfo(
        "jd", "JD.com", _PUSHED % "jd", "HMAC-SHA256 over timestamp.body (webhook)", "content-versioned event ids",
        "product comments the merchant exports from the JD seller backend or pushes, with edits and deletions",
        f"anything not exported or pushed ({_NO_API})",
    ),
    PlatformInfo(
        "pinduoduo", "Pinduoduo", _PUSHED % "pinduoduo", "HMAC-SHA256 over timestamp.body (webhook)",
        "content-versioned event ids", "order reviews the merchant exports or pushes, with edits and deletions",
        f"anything not exported or pushed ({_NO_API})",
    ),
    PlatformInfo(
        "homeadvisor", "HomeAdvisor (Angi)", _PUSHED % "homeadvisor", "HMAC-SHA256 over timestamp.body (webhook)",
        "content-versioned event ids", "pro reviews the merchant exports or pushes, with edits and deletions",
        f"anything not exported or pushed ({_NO_API})",
    ),
    PlatformInfo(
        "amazon", "Amazon", "SP-API (no review read operation)", "LWA OAuth", "-", "-", "individual product reviews",
        unsupported_reason="Amazon has no API that returns product reviews (only weekly topic insights and the "
        "seller-feedback report); monitoring them needs a third-party data provider",
    ),
)  # fmt: skip


def render_table(entries: tuple[PlatformInfo, ...] = CATALOGUE) -> str:
    """A plain-text listing, one block per platform."""
    lines = []
    for info in entries:
        lines.append(f"{info.platform:<16} {info.status:<12} {info.name}")
        lines.append(f"    api:        {info.api}")
        lines.append(f"    auth:       {info.auth}")
        lines.append(f"    cursor:     {info.cursor}")
        lines.append(f"    sees:       {info.sees}")
        lines.append(f"    cannot see: {info.cannot_see}")
        if info.unsupported_reason:
            lines.append(f"    why not:    {info.unsupported_reason}")
    return "\n".join(lines)
