"""The labelled evaluation suite: synthetic scenarios with the moments a responder wants to be paged, and scoring.

Each scenario is a stream of review events in log order plus page windows (merchant, earliest, latest, kinds): an
incident of one of those kinds opened for that merchant inside the window is a detection (its delay counts from
the window's start); any other incident opened is a false alarm. Settings are the presets, never tuned per
scenario. Reply sentiment comes from `ScenarioClassifier` (rating, else a few keywords), standing in for the text
classifier that plugs into the engine's Classifier seam.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.detector.engine import DetectionEngine
from services.detector.negativity import Classification, RatingClassifier
from services.detector.synthetic import STARS
from services.shared.config import DetectionConfig
from services.shared.events import Engagement, IncidentEvent, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

T0 = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday, midnight UTC
HISTORY_DAYS = 7
_NEGATIVE_WORDS = ("disgusting", "awful", "never again", "same here", "scandal", "worst")
_POSITIVE_WORDS = ("cute", "love", "adorable", "hero", "thanks")


class ScenarioClassifier:
    """Ratings as in production; unrated items (replies) by a handful of keywords."""

    def __init__(self) -> None:
        self._rating = RatingClassifier()

    def classify(self, event: ReviewEvent) -> Classification:
        found = self._rating.classify(event)
        if found.polarity != "unknown" or not event.text:
            return found
        text = event.text.lower()
        if any(word in text for word in _NEGATIVE_WORDS):
            return Classification(negativity=0.9, negative=True, polarity="negative", language=event.language)
        if any(word in text for word in _POSITIVE_WORDS):
            return Classification(negativity=0.1, negative=False, polarity="positive", language=event.language)
        return found


@dataclass(frozen=True)
class PageWindow:
    merchant_id: str
    earliest: datetime
    latest: datetime
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    events: list[ReviewEvent]
    pages: tuple[PageWindow, ...]
    merchant_days: float
    friendly_after: datetime | None = None  # a viral thread turns friendly here: expect a de-escalation after it


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    expected_pages: int
    detected: int
    delays_seconds: tuple[float, ...]
    false_alarms: int
    merchant_days: float
    deescalated: bool | None

    @property
    def false_alarms_per_merchant_day(self) -> float:
        return self.false_alarms / self.merchant_days


# --- generators --------------------------------------------------------------------------------------------------


def _review(
    merchant_id: str, platform: str, index: int, *, created: datetime, rating: float, text: str, prefix: str
) -> ReviewEvent:
    item_id = f"{merchant_id}-{platform}-{prefix}{index}"
    return ReviewEvent(
        event_id=deterministic_id(platform, item_id, "review.created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=platform,
        source_id=f"{merchant_id}/{platform}",
        item_id=item_id,
        kind="review",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(created + timedelta(seconds=60)),
        rating=rating,
        rating_scale=STARS,
        text=text,
        language="en",
        url=f"https://reviews.example/{platform}/{item_id}",
    )


def reviews(  # noqa: PLR0917 - reads like a Segment: who, where, when, how many
    merchant_id: str,
    platform: str,
    start: datetime,
    hours: float,
    rate: Callable[[float], float],
    negative_share: Callable[[float], float],
    *,
    seed: int,
    prefix: str = "r",
) -> list[ReviewEvent]:
    """Reviews as an inhomogeneous Poisson process (thinning): rate(h) per hour and negative_share(h) at hour h."""
    rng = random.Random(f"{merchant_id}:{platform}:{prefix}:{seed}")  # noqa: S311 - reproducible test data
    peak = max(rate(h / 4) for h in range(int(hours * 4) + 1)) * 1.2 + 1e-9
    out: list[ReviewEvent] = []
    moment = 0.0
    while True:
        moment += rng.expovariate(peak)
        if moment >= hours:
            break
        if rng.random() * peak > rate(moment):
            continue
        negative = rng.random() < negative_share(moment)
        rating = rng.choice((1.0, 2.0)) if negative else rng.choice((3.0, 4.0, 5.0, 5.0, 5.0))
        text = "Parcel late and nobody answers." if negative else "Good service."
        created = (start + timedelta(hours=moment)).replace(microsecond=0)
        out.append(_review(merchant_id, platform, len(out), created=created, rating=rating, text=text, prefix=prefix))
    return out


def seasonal_rate(base: float, *, night: float = 0.25, weekend: float = 1.0) -> Callable[[float], float]:
    """A daily cycle (low at night UTC, peak mid-afternoon) and a weekend factor; hours counted from a Monday
    midnight (every scenario segment starts on one)."""

    def rate(hour: float) -> float:
        day = int(hour // 24) % 7
        daily = night + (1 - night) * 0.5 * (1 - math.cos(2 * math.pi * ((hour % 24) - 3) / 24))
        return base * 2 * daily / (1 + night) * (weekend if day >= 5 else 1.0)

    return rate


def thread(
    merchant_id: str,
    platform: str,
    post_id: str,
    start: datetime,
    hours: float,
    *,
    replies_total: int,
    shares_total: int,
    views_total: int,
    tau_hours: float,
    shape: float,
    reply_text: Callable[[float], str],
    seed: int,
) -> list[ReviewEvent]:
    """A post whose engagement follows 1 - (1 + t/tau)^-shape (a power-law decaying rate, as cascades do), with
    snapshots every 5 minutes and one event per reply (distinct authors, text by reply_text(hour))."""
    rng = random.Random(f"{merchant_id}:{post_id}:{seed}")  # noqa: S311 - reproducible test data

    def share_of(t: float) -> float:
        return float((1 - (1 + t / tau_hours) ** -shape) / (1 - (1 + hours / tau_hours) ** -shape))

    url = f"https://{platform}.example/{post_id}"
    base = ReviewEvent(
        event_id="",
        event_type="thread.snapshot",
        merchant_id=merchant_id,
        platform=platform,
        source_id=f"{merchant_id}/{platform}",
        item_id=post_id,
        kind="post",
        created_at=format_rfc3339(start),
        observed_at=format_rfc3339(start),
        thread_id=post_id,
        text="Look what I found in my salad from this shop. Disgusting.",
        language="en",
        url=url,
    )
    events = []
    steps = int(hours * 12)
    limit = 1 - (1 + hours / tau_hours) ** -shape
    reply_times = sorted(tau_hours * ((1 - rng.random() * limit) ** (-1 / shape) - 1) for _ in range(replies_total))
    for step in range(1, steps + 1):
        t = step / 12
        seen = sum(1 for r in reply_times if r <= t)
        engagement = Engagement(
            views=round(views_total * share_of(t)), likes=None, shares=round(shares_total * share_of(t)), replies=seen
        )
        observed = format_rfc3339(start + timedelta(hours=t))
        events.append(
            replace(
                base,
                event_id=deterministic_id(platform, post_id, "thread.snapshot", str(step)),
                observed_at=observed,
                engagement=engagement,
            )
        )
    for index, t in enumerate(reply_times):
        created = (start + timedelta(hours=t)).replace(microsecond=0)
        item_id = f"{post_id}-c{index}"
        events.append(
            ReviewEvent(
                event_id=deterministic_id(platform, item_id, "review.created"),
                event_type="review.created",
                merchant_id=merchant_id,
                platform=platform,
                source_id=f"{merchant_id}/{platform}",
                item_id=item_id,
                kind="comment",
                created_at=format_rfc3339(created),
                observed_at=format_rfc3339(created + timedelta(seconds=30)),
                thread_id=post_id,
                parent_id=post_id,
                text=reply_text(t),
                author=f"user{index}",
                language="en",
                url=f"{url}#c{index}",
            )
        )
    return events


def _in_log_order(events: Sequence[ReviewEvent]) -> list[ReviewEvent]:
    """Sorted by when a poller saw them (observed_at), as they would enter the reviews topic."""
    return sorted(events, key=lambda e: (e.observed_at, e.event_id))


def _history(
    merchant_id: str, platform: str = "trustpilot", per_hour: float = 20.0, seed: int = 1
) -> list[ReviewEvent]:
    return reviews(
        merchant_id, platform, T0, HISTORY_DAYS * 24.0, seasonal_rate(per_hour), lambda _h: 0.1, seed=seed, prefix="h"
    )


def _after(days: float, hours: float = 0.0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


# --- the scenarios -----------------------------------------------------------------------------------------------


def blog_post_storm() -> Scenario:
    start = _after(HISTORY_DAYS, 10)
    events = _history("blogshop") + reviews(
        "blogshop", "trustpilot", _after(HISTORY_DAYS), 72.0, seasonal_rate(20.0), lambda _h: 0.1, seed=2
    )
    events += thread(
        "blogshop", "blog", "angry-post", start, 72.0, replies_total=6000, shares_total=900, views_total=60000,
        tau_hours=3.0, shape=0.5, reply_text=lambda _t: "Same here, awful treatment, never again.", seed=1,
    )  # fmt: skip
    return Scenario(
        "blog-post storm",
        "an angry blog post gathers 6,000 co-complainants over three days",
        _in_log_order(events),
        (PageWindow("blogshop", start, start + timedelta(hours=1), ("viral_thread",)),),
        merchant_days=HISTORY_DAYS + 3,
    )


def salad_video() -> Scenario:
    start = _after(HISTORY_DAYS, 18)
    events = _history("saladbar") + reviews(
        "saladbar", "google", _after(HISTORY_DAYS), 48.0, seasonal_rate(20.0), lambda _h: 0.1, seed=2
    )
    events += thread(
        "saladbar", "twitter", "salad-video", start, 24.0, replies_total=800, shares_total=14000, views_total=40000,
        tau_hours=2.0, shape=0.6, reply_text=lambda _t: "Disgusting, worst salad ever.", seed=2,
    )  # fmt: skip
    return Scenario(
        "salad video",
        "a caterpillar-in-the-salad video: 40,000 views and 14,000 shares in 24 h",
        _in_log_order(events),
        (PageWindow("saladbar", start, start + timedelta(hours=1), ("viral_thread",)),),
        merchant_days=HISTORY_DAYS + 2,
    )


def logistics_spike() -> Scenario:
    start = _after(HISTORY_DAYS, 22)
    events = _history("multishop") + _history("multishop", "amazon", per_hour=8.0, seed=3)
    events += reviews(
        "multishop", "trustpilot", _after(HISTORY_DAYS), 48.0, seasonal_rate(20.0), lambda _h: 0.1, seed=4
    )
    events += reviews(
        "multishop", "amazon", _after(HISTORY_DAYS), 48.0, seasonal_rate(8.0),
        lambda _h: 0.1, seed=5,
    )  # fmt: skip
    events += reviews("multishop", "amazon", start, 8.0, lambda _h: 12.0, lambda _h: 1.0, seed=6, prefix="late")
    return Scenario(
        "logistics spike on one marketplace",
        "one-star reviews on Amazon jump overnight (late deliveries); Trustpilot stays normal",
        _in_log_order(events),
        (PageWindow("multishop", start, start + timedelta(hours=2), ("negative_spike", "rating_drop")),),
        merchant_days=HISTORY_DAYS + 2,
    )


def slow_burn() -> Scenario:
    start = _after(HISTORY_DAYS)
    events = _history("burnshop") + reviews(
        "burnshop",
        "trustpilot",
        start,
        5 * 24.0,
        seasonal_rate(20.0),
        lambda h: 0.1 + 0.35 * min(h / 72.0, 1.0),
        seed=2,
    )
    return Scenario(
        "slow burn over days",
        "the negative share creeps from 10 % to 45 % over three days",
        _in_log_order(events),
        (PageWindow("burnshop", start, start + timedelta(days=3), ("negative_spike", "rating_drop")),),
        merchant_days=HISTORY_DAYS + 5,
    )


def sale_day() -> Scenario:
    events = _history("saleshop") + reviews(
        "saleshop", "trustpilot", _after(HISTORY_DAYS), 48.0,
        lambda h: seasonal_rate(20.0)(h) * (2.0 if 8 <= h < 32 else 1.0), lambda _h: 0.1, seed=2,
    )  # fmt: skip
    return Scenario(
        "sale day (no page)",
        "volume doubles for a day with the usual share of complaints",
        _in_log_order(events),
        (),
        merchant_days=HISTORY_DAYS + 2,
    )


def seasonality() -> Scenario:
    rate = seasonal_rate(30.0, night=0.1, weekend=1.8)
    events = reviews("seasonshop", "trustpilot", T0, 21 * 24.0, rate, lambda _h: 0.1, seed=1)
    return Scenario(
        "weekend and night seasonality (no page)",
        "three weeks: nights at a tenth of the day's volume, weekends 1.8 times the weekdays",
        _in_log_order(events),
        (),
        merchant_days=21,
    )


def quiet_merchant() -> Scenario:
    events = reviews("quietshop", "trustpilot", T0, 30 * 24.0, lambda _h: 2 / 24, lambda _h: 0.05, seed=1)
    bad_day = _after(20, 9)
    for index in range(3):
        created = bad_day + timedelta(hours=3 * index)
        events.append(
            _review("quietshop", "trustpilot", index, created=created, rating=1.0, text="Terrible, late.", prefix="bad")
        )
    return Scenario(
        "quiet merchant, one bad day (no page)",
        "two reviews a day for a month, one day with three one-star reviews",
        _in_log_order(events),
        (),
        merchant_days=30,
    )


def thread_turns_positive() -> Scenario:
    start = _after(HISTORY_DAYS, 12)

    def mood(hour: float) -> str:
        return "Disgusting, never again." if hour < 2.0 else "So cute, we love the caterpillar, hero!"

    events = _history("cafe") + thread(
        "cafe", "facebook", "caterpillar", start, 24.0, replies_total=1500, shares_total=5000, views_total=30000,
        tau_hours=1.5, shape=0.6, reply_text=mood, seed=3,
    )  # fmt: skip
    events += reviews("cafe", "trustpilot", _after(HISTORY_DAYS), 48.0, seasonal_rate(20.0), lambda _h: 0.1, seed=2)
    return Scenario(
        "viral thread that turns positive",
        "a negative video goes viral, then the replies turn into a pro-caterpillar movement",
        _in_log_order(events),
        (PageWindow("cafe", start, start + timedelta(hours=1), ("viral_thread",)),),
        merchant_days=HISTORY_DAYS + 2,
        friendly_after=start + timedelta(hours=2),
    )


def ordinary_thread() -> Scenario:
    start = _after(HISTORY_DAYS, 9)
    events = _history("chatty") + thread(
        "chatty", "facebook", "question", start, 24.0, replies_total=60, shares_total=15, views_total=2000,
        tau_hours=2.0, shape=1.0, reply_text=lambda _t: "Awful, same here.", seed=4,
    )  # fmt: skip
    return Scenario(
        "ordinary complaint thread (no page)",
        "a complaint post with 60 replies and 15 shares over a day",
        _in_log_order(events),
        (),
        merchant_days=HISTORY_DAYS + 1,
    )


SCENARIOS: tuple[Callable[[], Scenario], ...] = (
    blog_post_storm,
    salad_video,
    logistics_spike,
    slow_burn,
    sale_day,
    seasonality,
    quiet_merchant,
    thread_turns_positive,
    ordinary_thread,
)


# --- scoring -----------------------------------------------------------------------------------------------------


def evaluate(scenario: Scenario, config: DetectionConfig) -> tuple[ScenarioResult, list[IncidentEvent]]:
    incidents = DetectionEngine(config, classifier=ScenarioClassifier()).run(scenario.events)
    opened = [i for i in incidents if i.status == "open"]
    delays = []
    matched: set[str] = set()
    for window in scenario.pages:
        hits = [
            i
            for i in opened
            if i.merchant_id == window.merchant_id
            and i.kind in window.kinds
            and window.earliest - timedelta(minutes=15) <= parse_rfc3339(i.detected_at) <= window.latest
        ]
        if hits:
            first = min(hits, key=lambda i: i.detected_at)
            matched.update(i.incident_id for i in hits)
            delays.append(max((parse_rfc3339(first.detected_at) - window.earliest).total_seconds(), 0.0))
    # An incident that a page window covers is no false alarm, nor is a later incident of the same storm kind.
    covered = {
        i.incident_id
        for i in opened
        for w in scenario.pages
        if i.merchant_id == w.merchant_id and i.kind in w.kinds and parse_rfc3339(i.detected_at) >= w.earliest
    }
    false_alarms = sum(1 for i in opened if i.incident_id not in matched | covered)
    deescalated = None
    friendly_after = scenario.friendly_after
    if friendly_after is not None:
        deescalated = any(
            i.kind == "viral_thread" and i.status == "update" and i.severity == "info"
            and parse_rfc3339(i.observed_at or i.detected_at) >= friendly_after
            for i in incidents
        )  # fmt: skip
    result = ScenarioResult(
        name=scenario.name,
        expected_pages=len(scenario.pages),
        detected=len(delays),
        delays_seconds=tuple(delays),
        false_alarms=false_alarms,
        merchant_days=scenario.merchant_days,
        deescalated=deescalated,
    )
    return result, incidents


def evaluate_all(preset: str) -> list[ScenarioResult]:
    config = DetectionConfig(preset=preset)
    return [evaluate(build(), config)[0] for build in SCENARIOS]
