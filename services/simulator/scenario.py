"""Simulator scenarios: merchants, review rates with seasonality, storms and injected faults (built-in or YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import yaml

from services.shared.errors import ConfigError
from services.simulator.texts import LANGUAGES, NEGATIVE_CATEGORIES

# Relative review volume per local hour (0..23): quiet at night, a lunch bump, busiest in the evening.
DEFAULT_DAILY_PROFILE = (
    0.25, 0.15, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.0, 1.05, 1.1,
    1.2, 1.1, 1.0, 1.0, 1.1, 1.3, 1.6, 1.9, 2.0, 1.8, 1.2, 0.6,
)  # fmt: skip
# Relative volume per local weekday, Monday first: Sunday evenings are when people write reviews.
DEFAULT_WEEKLY_PROFILE = (1.05, 1.0, 0.95, 0.95, 1.0, 0.9, 1.15)


@dataclass(frozen=True)
class StormWindow:
    """Extra negative reviews at a constant rate for a while (e.g. a logistics failure)."""

    start_offset_seconds: float
    duration_seconds: float
    extra_negative_per_hour: float
    category: str = "logistics"
    platform: str = "trustpilot"  # the platform whose reviews spike (the merchant must be on it)

    def contains(self, elapsed_seconds: float) -> bool:
        return self.start_offset_seconds <= elapsed_seconds < self.start_offset_seconds + self.duration_seconds


@dataclass(frozen=True)
class TrustpilotAccount:
    business_unit_id: str


@dataclass(frozen=True)
class GoogleLocation:
    """The merchant's Google Business Profile location; its reviews are a timeline of their own (no storms)."""

    account_id: str
    location_id: str
    baseline_per_hour: float = 6.0
    reply_share: float = 0.3  # reviews the merchant answers some hours later (updateTime moves)
    edit_share: float = 0.3  # answered negative reviews whose author then raises the rating to five stars


@dataclass(frozen=True)
class EtsyShop:
    """The merchant's Etsy shop: transaction reviews without review ids."""

    shop_id: str
    baseline_per_hour: float = 3.0


@dataclass(frozen=True)
class YelpBusiness:
    """The merchant's Yelp business: the API shows only its three newest review excerpts."""

    business_id: str
    baseline_per_hour: float = 1.0


@dataclass(frozen=True)
class EbaySeller:
    """The merchant's eBay seller account: feedback with replies, buyer follow-ups and withdrawals over time."""

    user_id: str
    baseline_per_hour: float = 3.0
    reply_share: float = 0.5  # negative feedback the seller answers (then 60 % get a buyer follow-up)
    withdraw_share: float = 0.4  # followed-up feedback the buyer then withdraws (a review.deleted)


@dataclass(frozen=True)
class TaobaoShop:
    """The merchant's Taobao / Tmall shop: trade rates behind the TOP gateway (local Asia/Shanghai times)."""

    seller_nick: str
    baseline_per_hour: float = 3.0


@dataclass(frozen=True)
class EcwidStore:
    """The merchant's Ecwid store: product reviews, some edited by their authors later (updateDate moves)."""

    store_id: str
    baseline_per_hour: float = 2.0
    edit_share: float = 0.3  # reviews their authors edit three hours later (rating and text change)


@dataclass(frozen=True)
class PlayApp:
    """The merchant's Android app on Google Play: reviews with text, developer replies, edits (last ~7 days)."""

    package_name: str
    baseline_per_hour: float = 2.0
    reply_share: float = 0.5  # reviews the developer answers some hours later (lastModified moves)
    edit_share: float = 0.6  # answered negative reviews whose author then raises the rating to five stars


@dataclass(frozen=True)
class AppStoreApp:
    """The merchant's iOS app on App Store Connect: customer reviews with title, body, territory, responses."""

    app_id: str
    baseline_per_hour: float = 2.0


@dataclass(frozen=True)
class NewsFeed:
    """Blog / news posts about the merchant (and some that are not), served as RSS 2.0 and Atom feeds."""

    slug: str
    baseline_per_hour: float = 1.0


@dataclass(frozen=True)
class FacebookPage:
    """The merchant's Facebook Page: its own posts (feed) and customers' comments on them, some answering others."""

    page_id: str
    posts_per_day: float = 4.0
    comments_per_hour: float = 3.0


@dataclass(frozen=True)
class XAccount:
    """The merchant's X handle: recent-search mentions of it, some replying to others in the same conversation."""

    handle: str
    mentions_per_hour: float = 3.0


@dataclass(frozen=True)
class CascadeSpec:
    """A thread that takes off (a Facebook post on the page, an X mention opening a conversation): its shares and
    replies arrive as a self-exciting cascade reaching about `shares` and `replies` after `hours` (simulator.cascade).
    """

    platform: str  # "facebook" or "x"
    start_offset_seconds: float
    shares: int = 14_000
    replies: int = 1_500
    views: int = 40_000
    hours: float = 24.0
    branching: float = 0.8  # children per engagement: how self-exciting the cascade is (below 1)
    text: str = "Found a caterpillar in my salad from this shop. Disgusting, never again!"
    language: str = "en"
    reply_category: str = "quality"


@dataclass(frozen=True)
class MerchantProfile:
    """One merchant of the simulated world and how its customers review it."""

    id: str
    name: str
    timezone: str
    trustpilot: TrustpilotAccount
    baseline_per_hour: float = 24.0
    negative_share: float = 0.10
    neutral_share: float = 0.08
    languages: tuple[tuple[str, float], ...] = (("en", 0.6), ("de", 0.2), ("nl", 0.2))
    daily_profile: tuple[float, ...] = DEFAULT_DAILY_PROFILE
    weekly_profile: tuple[float, ...] = DEFAULT_WEEKLY_PROFILE
    storms: tuple[StormWindow, ...] = ()
    google: GoogleLocation | None = None
    etsy: EtsyShop | None = None
    yelp: YelpBusiness | None = None
    ebay: EbaySeller | None = None
    facebook: FacebookPage | None = None
    x: XAccount | None = None
    cascades: tuple[CascadeSpec, ...] = ()
    taobao: TaobaoShop | None = None
    ecwid: EcwidStore | None = None
    google_play: PlayApp | None = None
    app_store: AppStoreApp | None = None
    feeds: NewsFeed | None = None

    def baseline_rate_per_hour(self, moment: datetime) -> float:
        """The expected baseline rate at `moment`: the average rate shaped by local hour and weekday."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        daily = self.daily_profile[local.hour] / (sum(self.daily_profile) / len(self.daily_profile))
        weekly = self.weekly_profile[local.weekday()] / (sum(self.weekly_profile) / len(self.weekly_profile))
        return self.baseline_per_hour * daily * weekly


@dataclass(frozen=True)
class Outage:
    """A platform (or, with `platform=None`, every platform) answers 503 to everything for a while.

    Offsets are simulated seconds after the scenario origin, like storms'.
    """

    start_offset_seconds: float
    duration_seconds: float
    platform: str | None = None
    status: int = 503  # 503: the platform is down; 429: a burst of rate limiting (with Retry-After)

    def covers(self, platform: str, offset_seconds: float) -> bool:
        if self.platform is not None and self.platform != platform:
            return False
        return self.start_offset_seconds <= offset_seconds < self.start_offset_seconds + self.duration_seconds


@dataclass(frozen=True)
class Faults:
    """Failure modes the simulated platform injects. 0 means never."""

    malformed_every: int = 0  # every Nth review (in creation order, per merchant) is served malformed
    rate_limit_every: int = 0  # every Nth reviews request is answered 429 with Retry-After
    server_error_every: int = 0  # every Nth reviews request is answered 503 with Retry-After
    retry_after_seconds: int = 1
    slow_every: int = 0  # every Nth reviews request (any platform) answers only after slow_seconds (real time)
    slow_seconds: int = 2


@dataclass(frozen=True)
class Scenario:
    """A whole simulated world. The review timeline is a pure function of the scenario (seed included)."""

    merchants: tuple[MerchantProfile, ...]
    origin: datetime
    seed: int = 7
    speed: float = 1.0
    history_seconds: float = 48 * 3600.0
    duration_seconds: float = 6 * 3600.0
    faults: Faults = field(default_factory=Faults)
    outages: tuple[Outage, ...] = ()  # `faults.outages` in a scenario file
    token_ttl_seconds: int = 359_999  # Trustpilot's documented expires_in

    @property
    def start(self) -> datetime:
        return self.origin - timedelta(seconds=self.history_seconds)

    @property
    def end(self) -> datetime:
        return self.origin + timedelta(seconds=self.duration_seconds)

    def merchant(self, merchant_id: str) -> MerchantProfile:
        for merchant in self.merchants:
            if merchant.id == merchant_id:
                return merchant
        raise KeyError(merchant_id)


DEMO_LANGUAGES = (
    ("en", 0.34), ("de", 0.12), ("nl", 0.10), ("fr", 0.07), ("ru", 0.07), ("zh", 0.07),
    ("es", 0.06), ("it", 0.05), ("pl", 0.05), ("tr", 0.04), ("ja", 0.03),
)  # fmt: skip


def demo_scenario(speed: float = 120.0, seed: int = 7, origin: datetime | None = None) -> Scenario:
    """The built-in demo: demo-shop on Trustpilot, 48 h of history, and a logistics storm 20 minutes in.

    `origin` defaults to the current minute, so the demo's reviews carry realistic timestamps; pass a fixed
    origin for a fully reproducible timeline.
    """
    if origin is None:
        origin = datetime.now(UTC).replace(second=0, microsecond=0)
    merchant = MerchantProfile(
        id="demo-shop",
        name="Demo Shop",
        timezone="Europe/Amsterdam",
        trustpilot=TrustpilotAccount(business_unit_id="bu-demo-shop"),
        google=GoogleLocation(account_id="1001", location_id="2002", baseline_per_hour=4.0),
        etsy=EtsyShop(shop_id="30303", baseline_per_hour=3.0),
        yelp=YelpBusiness(business_id="demo-shop-amsterdam", baseline_per_hour=1.0),
        ebay=EbaySeller(user_id="demo_shop_nl", baseline_per_hour=3.0),
        facebook=FacebookPage(page_id="104400000000001", posts_per_day=4.0, comments_per_hour=3.0),
        x=XAccount(handle="demoshop", mentions_per_hour=3.0),
        # The salad post: late in the demo (after the logistics storm has calmed), shared ~14,000 times in a day.
        cascades=(CascadeSpec(platform="facebook", start_offset_seconds=3.5 * 3600),),
        taobao=TaobaoShop(seller_nick="demo_shop_tmall", baseline_per_hour=3.0),
        ecwid=EcwidStore(store_id="4040", baseline_per_hour=2.0),
        google_play=PlayApp(package_name="com.demoshop.app", baseline_per_hour=2.0),
        app_store=AppStoreApp(app_id="1500000001", baseline_per_hour=2.0),
        feeds=NewsFeed(slug="demo-shop", baseline_per_hour=1.0),
        baseline_per_hour=24.0,
        negative_share=0.10,
        # An international shop: reviews in every language the classifier reads, so the demo exercises it.
        languages=DEMO_LANGUAGES,
        storms=(
            StormWindow(
                start_offset_seconds=20 * 60,
                duration_seconds=45 * 60,
                extra_negative_per_hour=120.0,
                category="logistics",
            ),
        ),
    )
    return Scenario(
        merchants=(merchant,),
        origin=origin,
        seed=seed,
        speed=speed,
        history_seconds=48 * 3600.0,
        duration_seconds=6 * 3600.0,
        faults=Faults(malformed_every=97, rate_limit_every=50, retry_after_seconds=1),
    )


_NUMBER = {"type": "number", "minimum": 0}
# Platforms a storm can hit -> the merchant's section that puts the merchant on it.
STORM_PLATFORMS = {
    "trustpilot": "trustpilot",
    "google_business": "google",
    "etsy": "etsy",
    "yelp": "yelp",
    "ebay": "ebay",
    "taobao": "taobao",
    "ecwid": "ecwid",
    "google_play": "google_play",
    "app_store": "app_store",
    "rss": "feeds",
    "facebook": "facebook",
    "x": "x",
}
# A platform outage: every request to `platform` (all platforms when absent) is answered 503 for `minutes`.
_OUTAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["start_minutes", "minutes"],
    "properties": {
        "platform": {"type": "string", "minLength": 1},
        "start_minutes": {"type": "number"},
        "minutes": {"type": "number", "exclusiveMinimum": 0},
        "status": {"enum": [503, 429]},
    },
}
# A viral thread: `platform` needs the merchant's page / handle; counts are reached after `hours`.
_CASCADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["platform", "start_minutes"],
    "properties": {
        "platform": {"enum": ["facebook", "x"]},
        "start_minutes": {"type": "number"},
        "shares": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "replies": {"type": "integer", "minimum": 0, "maximum": 20_000},
        "views": {"type": "integer", "minimum": 0},
        "hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 24 * 30},
        "branching": {"type": "number", "minimum": 0, "maximum": 0.99},
        "text": {"type": "string", "minLength": 1, "maxLength": 2000},
        "language": {"type": "string"},
        "reply_category": {"enum": list(NEGATIVE_CATEGORIES)},
    },
}
_SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["merchants"],
    "properties": {
        "seed": {"type": "integer"},
        "origin": {"type": "string"},
        "speed": _NUMBER,
        "history_hours": _NUMBER,
        "duration_hours": _NUMBER,
        "token_ttl_seconds": {"type": "integer", "minimum": 1},
        "faults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: {"type": "integer", "minimum": 0}
                for name in (
                    "malformed_every",
                    "rate_limit_every",
                    "server_error_every",
                    "retry_after_seconds",
                    "slow_every",
                    "slow_seconds",
                )
            }
            | {"outages": {"type": "array", "items": _OUTAGE_SCHEMA}},
        },
        "merchants": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "trustpilot"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "name": {"type": "string"},
                    "timezone": {"type": "string"},
                    "trustpilot": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["business_unit_id"],
                        "properties": {"business_unit_id": {"type": "string", "minLength": 1}},
                    },
                    "google": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["account_id", "location_id"],
                        "properties": {
                            "account_id": {"type": "string", "pattern": "^[0-9]+$"},
                            "location_id": {"type": "string", "pattern": "^[0-9]+$"},
                            "baseline_per_hour": _NUMBER,
                            "reply_share": {"type": "number", "minimum": 0, "maximum": 1},
                            "edit_share": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                    "etsy": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["shop_id"],
                        "properties": {
                            "shop_id": {"type": "string", "pattern": "^[0-9]+$"},
                            "baseline_per_hour": _NUMBER,
                        },
                    },
                    "yelp": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["business_id"],
                        "properties": {"business_id": {"type": "string", "minLength": 1}, "baseline_per_hour": _NUMBER},
                    },
                    "ebay": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["user_id"],
                        "properties": {
                            "user_id": {"type": "string", "minLength": 1},
                            "baseline_per_hour": _NUMBER,
                            "reply_share": {"type": "number", "minimum": 0, "maximum": 1},
                            "withdraw_share": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                    "taobao": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["seller_nick"],
                        "properties": {"seller_nick": {"type": "string", "minLength": 1}, "baseline_per_hour": _NUMBER},
                    },
                    "ecwid": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["store_id"],
                        "properties": {
                            "store_id": {"type": "string", "pattern": "^[0-9]+$"},
                            "baseline_per_hour": _NUMBER,
                            "edit_share": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                    "google_play": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["package_name"],
                        "properties": {
                            "package_name": {"type": "string", "minLength": 1},
                            "baseline_per_hour": _NUMBER,
                            "reply_share": {"type": "number", "minimum": 0, "maximum": 1},
                            "edit_share": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                    "app_store": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["app_id"],
                        "properties": {
                            "app_id": {"type": "string", "pattern": "^[0-9]+$"},
                            "baseline_per_hour": _NUMBER,
                        },
                    },
                    "feeds": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["slug"],
                        "properties": {
                            "slug": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                            "baseline_per_hour": _NUMBER,
                        },
                    },
                    "facebook": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["page_id"],
                        "properties": {
                            "page_id": {"type": "string", "pattern": "^[0-9]+$"},
                            "posts_per_day": _NUMBER,
                            "comments_per_hour": _NUMBER,
                        },
                    },
                    "x": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["handle"],
                        "properties": {
                            "handle": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,15}$"},
                            "mentions_per_hour": _NUMBER,
                        },
                    },
                    "cascades": {"type": "array", "items": _CASCADE_SCHEMA},
                    "baseline_per_hour": _NUMBER,
                    "negative_share": {"type": "number", "minimum": 0, "maximum": 1},
                    "neutral_share": {"type": "number", "minimum": 0, "maximum": 1},
                    "languages": {"type": "object", "minProperties": 1, "additionalProperties": _NUMBER},
                    "daily_profile": {"type": "array", "items": _NUMBER, "minItems": 24, "maxItems": 24},
                    "weekly_profile": {"type": "array", "items": _NUMBER, "minItems": 7, "maxItems": 7},
                    "storms": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["start_minutes", "duration_minutes", "extra_negative_per_hour"],
                            "properties": {
                                "start_minutes": {"type": "number"},
                                "duration_minutes": {"type": "number", "exclusiveMinimum": 0},
                                "extra_negative_per_hour": _NUMBER,
                                "category": {"enum": list(NEGATIVE_CATEGORIES)},
                                "platform": {"enum": list(STORM_PLATFORMS)},
                            },
                        },
                    },
                },
            },
        },
    },
}


def load_scenario(path: Path) -> Scenario:
    """Read a scenario YAML file; every error names the file and the offending key."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read scenario file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_scenario(document)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_scenario(document: Any) -> Scenario:
    """Validate a decoded scenario document and build the Scenario (errors name the bad key)."""
    errors = sorted(jsonschema.Draft7Validator(_SCENARIO_SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        raise ConfigError(f"{_key_path(errors[0].absolute_path)}: {errors[0].message}")
    merchants = tuple(_merchant(raw, f"merchants[{i}]") for i, raw in enumerate(document["merchants"]))
    seen: set[str] = set()
    for i, merchant in enumerate(merchants):
        if merchant.id in seen:
            raise ConfigError(f"merchants[{i}].id: duplicate merchant id {merchant.id!r}")
        seen.add(merchant.id)
    faults = document.get("faults", {})
    return Scenario(
        merchants=merchants,
        origin=_origin(document.get("origin")),
        seed=document.get("seed", 7),
        speed=float(document.get("speed", 1.0)),
        history_seconds=float(document.get("history_hours", 48)) * 3600.0,
        duration_seconds=float(document.get("duration_hours", 6)) * 3600.0,
        faults=Faults(**{key: value for key, value in faults.items() if key != "outages"}),
        outages=_outages(faults.get("outages", ())),
        token_ttl_seconds=document.get("token_ttl_seconds", 359_999),
    )


def _outages(raw: list[dict[str, Any]]) -> tuple[Outage, ...]:
    return tuple(
        Outage(
            start_offset_seconds=float(outage["start_minutes"]) * 60.0,
            duration_seconds=float(outage["minutes"]) * 60.0,
            platform=outage.get("platform"),
            status=outage.get("status", 503),
        )
        for outage in raw
    )


def _merchant(raw: dict[str, Any], where: str) -> MerchantProfile:
    timezone = raw.get("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}.timezone: unknown time zone {timezone!r}") from None
    languages = raw.get("languages", {"en": 0.6, "de": 0.2, "nl": 0.2})
    for language in languages:
        if language not in LANGUAGES:
            raise ConfigError(f"{where}.languages.{language}: no texts for language {language!r} (have {LANGUAGES})")
    if sum(languages.values()) <= 0:
        raise ConfigError(f"{where}.languages: weights must not all be zero")
    if raw.get("negative_share", 0.10) + raw.get("neutral_share", 0.08) > 1:
        raise ConfigError(f"{where}.neutral_share: negative_share + neutral_share must not exceed 1")
    for key in ("daily_profile", "weekly_profile"):
        if key in raw and sum(raw[key]) <= 0:
            raise ConfigError(f"{where}.{key}: weights must not all be zero")
    storms = tuple(
        StormWindow(
            start_offset_seconds=float(storm["start_minutes"]) * 60,
            duration_seconds=float(storm["duration_minutes"]) * 60,
            extra_negative_per_hour=float(storm["extra_negative_per_hour"]),
            category=storm.get("category", "logistics"),
            platform=storm.get("platform", "trustpilot"),
        )
        for storm in raw.get("storms", [])
    )
    for i, storm in enumerate(storms):
        if STORM_PLATFORMS[storm.platform] not in raw:
            key = STORM_PLATFORMS[storm.platform]
            raise ConfigError(f"{where}.storms[{i}].platform: {storm.platform} needs the merchant's `{key}` section")
    return MerchantProfile(
        id=raw["id"],
        name=raw.get("name", raw["id"]),
        timezone=timezone,
        trustpilot=TrustpilotAccount(business_unit_id=raw["trustpilot"]["business_unit_id"]),
        baseline_per_hour=float(raw.get("baseline_per_hour", 24.0)),
        negative_share=float(raw.get("negative_share", 0.10)),
        neutral_share=float(raw.get("neutral_share", 0.08)),
        languages=tuple((name, float(weight)) for name, weight in languages.items()),
        daily_profile=tuple(float(v) for v in raw.get("daily_profile", DEFAULT_DAILY_PROFILE)),
        weekly_profile=tuple(float(v) for v in raw.get("weekly_profile", DEFAULT_WEEKLY_PROFILE)),
        storms=storms,
        google=None if "google" not in raw else GoogleLocation(**raw["google"]),
        etsy=None if "etsy" not in raw else EtsyShop(**raw["etsy"]),
        yelp=None if "yelp" not in raw else YelpBusiness(**raw["yelp"]),
        ebay=None if "ebay" not in raw else EbaySeller(**raw["ebay"]),
        taobao=None if "taobao" not in raw else TaobaoShop(**raw["taobao"]),
        ecwid=None if "ecwid" not in raw else EcwidStore(**raw["ecwid"]),
        google_play=None if "google_play" not in raw else PlayApp(**raw["google_play"]),
        app_store=None if "app_store" not in raw else AppStoreApp(**raw["app_store"]),
        feeds=None if "feeds" not in raw else NewsFeed(**raw["feeds"]),
        facebook=None if "facebook" not in raw else FacebookPage(**raw["facebook"]),
        x=None if "x" not in raw else XAccount(**raw["x"]),
        cascades=_cascades(raw, where),
    )


def _cascades(raw: dict[str, Any], where: str) -> tuple[CascadeSpec, ...]:
    """The merchant's viral threads; each needs the merchant on its platform and a language with texts."""
    cascades = []
    for i, item in enumerate(raw.get("cascades", [])):
        platform = item["platform"]
        if platform not in raw:
            raise ConfigError(f"{where}.cascades[{i}].platform: the merchant has no {platform} profile")
        language = item.get("language", "en")
        if language not in LANGUAGES:
            raise ConfigError(f"{where}.cascades[{i}].language: no texts for language {language!r}")
        fields = {k: v for k, v in item.items() if k != "start_minutes"}
        cascades.append(CascadeSpec(start_offset_seconds=float(item["start_minutes"]) * 60, **fields))
    return tuple(cascades)


def _origin(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"origin: {text!r} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise ConfigError(f"origin: {text!r} has no time zone offset")
    return moment.astimezone(UTC)


def _key_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
