"""Rating drop: the rolling average rating of a merchant on a platform falls significantly below its long average.

Two exponentially weighted averages over the normalised ratings (0 worst .. 1 best) of new reviews, in review
order: a short one (the last ~30 reviews) and a long one (~500). A drop opens when the short average is below the
long one by at least MIN_DROP (half a star on five) and by more than Z standard errors of the short average, after
a warm-up, and the gap has then held at least half of MIN_DROP for CONFIRM_SECONDS; it resolves when the gap has
closed to half of MIN_DROP. A drop that a negative spike already explains (a
spike incident of the merchant within the last day) is not paged twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.detector.incident_book import OpenIncident, optional_incident
from services.detector.negativity import DEFAULT_SCALE
from services.detector.playbook import playbook_for
from services.detector.scoring import ScoredReview
from services.shared.events import Evidence, IncidentEvent, IncidentStatus, Severity

SHORT_HALF_LIFE = 30.0  # reviews
LONG_HALF_LIFE = 500.0
_SHORT_DECAY = 2.0 ** (-1.0 / SHORT_HALF_LIFE)
_LONG_DECAY = 2.0 ** (-1.0 / LONG_HALF_LIFE)
WARMUP_REVIEWS = 100
MIN_DROP = 0.125  # of the 0..1 scale: half a star on a 1..5 scale
Z = 4.0
# Reviews older than this behind the merchant's watermark (a backfill) do not move the averages.
LATE_SECONDS = 3600.0
# A spike incident of the merchant this recently explains the drop (and was paged already).
SPIKE_EXPLAINS_SECONDS = 86400.0
# After becoming significant, a drop must hold at least half of MIN_DROP this long (event time) before it opens.
# A storm's first negatives sink the short average within minutes, sometimes just before the spike rule has seen
# enough of them (a storm that straddles a bucket boundary starts the new bucket from zero); waiting one bucket
# lets the spike page the storm and explain the drop (one storm, one incident). A slow slide loses nothing by it.
CONFIRM_SECONDS = 900.0


@dataclass(slots=True)
class RatingState:
    short_sum: float = 0.0
    short_weight: float = 0.0
    long_sum: float = 0.0
    long_sq: float = 0.0
    long_weight: float = 0.0
    count: int = 0
    started: float = 0.0  # event time of the first review of a drop in progress (0: none)
    incident: OpenIncident | None = None

    def add(self, value: float) -> None:
        """One more normalised rating. The long average learns only outside a drop: otherwise a lasting drop
        would soon look normal."""
        self.short_sum = self.short_sum * _SHORT_DECAY + value
        self.short_weight = self.short_weight * _SHORT_DECAY + 1.0
        if self.started == 0.0:
            self.long_sum = self.long_sum * _LONG_DECAY + value
            self.long_sq = self.long_sq * _LONG_DECAY + value * value
            self.long_weight = self.long_weight * _LONG_DECAY + 1.0
        self.count += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "short_sum": self.short_sum,
            "short_weight": self.short_weight,
            "long_sum": self.long_sum,
            "long_sq": self.long_sq,
            "long_weight": self.long_weight,
            "count": self.count,
            "started": self.started,
            "incident": None if self.incident is None else self.incident.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RatingState:
        return cls(
            short_sum=float(data["short_sum"]),
            short_weight=float(data["short_weight"]),
            long_sum=float(data["long_sum"]),
            long_sq=float(data["long_sq"]),
            long_weight=float(data["long_weight"]),
            count=data["count"],
            started=float(data["started"]),
            incident=optional_incident(data["incident"]),
        )


@dataclass(slots=True)
class RatingsState:
    platforms: dict[str, RatingState] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"platforms": {key: p.to_dict() for key, p in sorted(self.platforms.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RatingsState:
        return cls(platforms={key: RatingState.from_dict(raw) for key, raw in data["platforms"].items()})


class RatingWatcher:
    def __init__(self, merchant_id: str, merchant_name: str, state: RatingsState) -> None:
        self.merchant_id = merchant_id
        self.merchant_name = merchant_name
        self.state = state

    def observe(  # noqa: PLR0911 - one return per outcome keeps the lifecycle readable
        self, review: ScoredReview, now: float, last_spike: float | None
    ) -> IncidentEvent | None:
        event = review.event
        if event.event_type != "review.created" or event.kind != "review" or event.rating is None:  # `review.counts`
            return None
        if review.event_time < now - LATE_SECONDS:
            return None  # a backfill of old reviews is history, not a drop happening now
        try:
            value = (event.rating_scale or DEFAULT_SCALE).normalise(event.rating)
        except ValueError:
            return None
        rating = self.state.platforms.get(event.platform)
        if rating is None:
            rating = self.state.platforms[event.platform] = RatingState()
        rating.add(value)
        if rating.count < WARMUP_REVIEWS:
            return None
        short = rating.short_sum / rating.short_weight
        long = rating.long_sum / rating.long_weight
        gap = long - short
        if gap < MIN_DROP / 2 and rating.incident is None:
            rating.started = 0.0
            return None  # the common case, decided without the variance
        variance = max(rating.long_sq / rating.long_weight - long * long, 1e-4)
        # Effective sample size of the short EWMA: (sum w)^2 / sum w^2 = (1 + d) / (1 - d) at equilibrium.
        effective = (1.0 + _SHORT_DECAY) / (1.0 - _SHORT_DECAY)
        significant = gap >= MIN_DROP and gap > Z * math.sqrt(variance / effective)
        explained = last_spike is not None and now - last_spike < SPIKE_EXPLAINS_SECONDS
        if rating.incident is None:
            if significant and rating.started == 0.0:
                rating.started = review.event_time
            elif not significant and gap < MIN_DROP / 2:
                rating.started = 0.0
            # Open once the drop, significant at `started`, has held at least half its size for CONFIRM_SECONDS.
            if rating.started == 0.0 or explained or review.event_time - rating.started < CONFIRM_SECONDS:
                return None
            rating.incident = OpenIncident.start(
                self.merchant_id,
                "rating_drop",
                event.platform,
                started_at=rating.started,
                detected_at=now,
                severity=self._severity(gap),
            )
            return self._emit(rating, event.platform, "open", short=short, long=long, now=now, review=review)
        if gap < MIN_DROP / 2:
            resolved = self._emit(rating, event.platform, "resolved", short=short, long=long, now=now, review=review)
            rating.incident = None
            rating.started = 0.0
            return resolved
        severity = self._severity(gap)
        if severity == rating.incident.severity:
            return None
        rating.incident.severity = severity
        return self._emit(rating, event.platform, "update", short=short, long=long, now=now, review=review)

    @staticmethod
    def _severity(gap: float) -> Severity:
        return "high" if gap >= 2 * MIN_DROP else "warning"

    def _emit(
        self, rating: RatingState, platform: str, status: IncidentStatus, *, short: float, long: float,
        now: float, review: ScoredReview,
    ) -> IncidentEvent:  # fmt: skip
        incident = rating.incident
        assert incident is not None
        stars_short = 1.0 + 4.0 * short
        stars_long = 1.0 + 4.0 * long
        if status == "resolved":
            title = f"Rating of {self.merchant_name} on {platform} has recovered"
        else:
            title = f"Rating of {self.merchant_name} on {platform} is dropping"
        summary = (
            f"Average of the last ~{SHORT_HALF_LIFE:.0f} reviews {stars_short:.2f} stars against "
            f"{stars_long:.2f} over the last ~{LONG_HALF_LIFE:.0f} (on a 1-5 scale)."
        )
        window = max(int(now - rating.started), 0) if rating.started else 0
        evidence = Evidence(
            observed=round(stars_short, 3),
            expected=round(stars_long, 3),
            window_seconds=window,
            rate_per_hour=0.0,
        )
        return incident.emit(
            status,
            kind="rating_drop",
            merchant_id=self.merchant_id,
            title=title,
            summary=summary,
            evidence=evidence,
            value=long - short,
            at=now,
            observed_at=review.event.observed_at,
            review_created_at=review.event.created_at,
            platform=platform,
            playbook=playbook_for(None),
        )
