"""Per-merchant negative-spike detection over event-time buckets: EWMA baseline, Poisson bound, hold-down, cooldown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.detector.poisson import poisson_upper_quantile
from services.detector.scoring import ScoredReview
from services.shared.config import DetectionConfig

# Significance of the Poisson bound and the minimum observed/expected ratio per sensitivity preset. The ratio guards
# high-volume merchants, where a statistically significant excess (140 against 100) is still no storm.
PRESET_ALPHA = {"sensitive": 1e-3, "balanced": 1e-4, "strict": 1e-6}
PRESET_MIN_RATIO = {"sensitive": 1.5, "balanced": 2.0, "strict": 3.0}
# No alerting before this many closed buckets of history: a baseline of two buckets is a guess.
WARMUP_BUCKETS = 8
# A late event older than this weight (in EWMA decay) no longer moves the baseline measurably.
_NEGLIGIBLE_WEIGHT = 1e-9
# created_at this far after observed_at is a broken timestamp: it would move the merchant's event clock ahead and
# make every real review "late". Generous, because a sped-up simulation legitimately runs hours ahead of the poller.
MAX_AHEAD_OF_OBSERVATION_SECONDS = 7 * 86400

SpikePhase = Literal["open", "progress", "resolve"]

# Seasonality: a multiplicative profile per hour of day (24) and day of week (7), learned from the volume of all
# classified reviews (many more than the negatives, so far less noisy) and applied to the negatives' level.
# Gains per closed bucket of that hour (4 a day at 15 min) and of that weekday (96 a day): about half learned in two
# days, and a weekday's shape in one week.
DAILY_GAIN = 0.1
WEEKLY_GAIN = 0.01
# One bucket's volume against its expectation moves the profile by at most this factor (a sale day is no season).
_MAX_SEASONAL_RATIO = 3.0
_MIN_PROFILE = 0.05
_EPOCH_MONDAY_OFFSET_DAYS = 3  # 1970-01-01 was a Thursday
# A profile that has not learned anything yet (every factor exactly 1) is written as integer ones: half the bytes
# of `1.0` in JSON, and read back by this and every earlier version alike (each factor goes through float()).
# Most scopes of a merchant seen for the first time are such; their state is what a busy merchant base writes most.
_UNLEARNED_DAILY = [1.0] * 24
_UNLEARNED_WEEKLY = [1.0] * 7
# The languages and categories of an empty bucket (read only).
_NOTHING: Mapping[str, int] = {}


def _hour_and_weekday(bucket: int, bucket_seconds: int) -> tuple[int, int]:
    start = bucket * bucket_seconds
    return (start // 3600) % 24, (start // 86400 + _EPOCH_MONDAY_OFFSET_DAYS) % 7


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The rule's parameters, derived once from the detection config."""

    bucket_seconds: int
    alpha: float
    min_ratio: float
    min_negative: int
    decay: float  # per-bucket EWMA decay factor, 2 ** (-1 / half-life)
    resolve_after: int
    cooldown_buckets: int
    warmup_buckets: int = WARMUP_BUCKETS
    seasonal: bool = True

    @classmethod
    def from_config(cls, config: DetectionConfig) -> SpikeRule:
        return cls(
            bucket_seconds=config.bucket_seconds,
            alpha=PRESET_ALPHA[config.preset],
            min_ratio=PRESET_MIN_RATIO[config.preset],
            min_negative=config.min_negative,
            decay=2.0 ** (-1.0 / config.baseline_half_life_buckets),
            resolve_after=config.resolve_after_quiet_buckets,
            # As long as the hold-down: a storm that flares up again right after it resolved is the same storm.
            cooldown_buckets=config.resolve_after_quiet_buckets,
            seasonal=config.seasonality,
        )

    def threshold(self, expected: float) -> float:
        """The largest negative count per bucket that is not a spike, for a baseline expectation."""
        return max(
            float(poisson_upper_quantile(expected, self.alpha)),
            self.min_ratio * expected,
            float(self.min_negative - 1),
        )


@dataclass(slots=True)
class Episode:
    """A spike in progress: the closed buckets since its first spike bucket, and the quiet ones at its end."""

    start_bucket: int
    observed: int = 0
    expected: float = 0.0
    total: int = 0
    quiet: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_bucket": self.start_bucket,
            "observed": self.observed,
            "expected": self.expected,
            "total": self.total,
            "quiet": self.quiet,
            "languages": dict(self.languages),
            "categories": dict(self.categories),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Episode:
        # float(): a JSON round trip through PostgreSQL may print a large whole float without its decimal point.
        return cls(
            start_bucket=data["start_bucket"],
            observed=data["observed"],
            expected=float(data["expected"]),
            total=data["total"],
            quiet=data["quiet"],
            languages=dict(data["languages"]),
            categories=dict(data["categories"]),
        )


@dataclass(slots=True)
class SpikeState:
    """Everything the rule remembers about one merchant: O(1) in the length of the history."""

    bucket: int | None = None  # the open bucket (event time // bucket_seconds)
    first_bucket: int | None = None
    negatives: int = 0  # in the open bucket
    total: int = 0  # classified reviews in the open bucket
    languages: dict[str, int] = field(default_factory=dict)  # of the open bucket's negatives
    categories: dict[str, int] = field(default_factory=dict)  # of the open bucket's negatives
    threshold: float = 0.0  # the open bucket's bound (read it through `bound()`); the baseline moves on close
    neg_sum: float = 0.0  # EWMA of negatives per bucket, bias-free: the mean is neg_sum / weight
    weight: float = 0.0
    share_neg: float = 0.0  # EWMA of negatives and classified reviews of non-spike buckets: the usual share
    share_total: float = 0.0
    history: int = 0  # closed buckets seen
    cooldown: int = 0  # closed buckets left during which no new episode opens
    episode: Episode | None = None
    volume_sum: float = 0.0  # EWMA of deseasonalised classified reviews per bucket (weight: `weight`)
    daily: list[float] = field(default_factory=lambda: [1.0] * 24)  # multiplicative profile per hour of day (UTC)
    weekly: list[float] = field(default_factory=lambda: [1.0] * 7)  # per day of week, Monday first
    # Not state: `threshold` is computed on first use, from the expectation the open bucket had when it opened
    # (`rule.threshold(pending_expected)`, the same call and value as computing it right away). Almost every bucket
    # closes with too few negatives to need its Poisson bound; a checkpoint computes the ones it writes.
    pending_rule: SpikeRule | None = field(default=None, repr=False, compare=False)
    pending_expected: float = field(default=0.0, repr=False, compare=False)
    # `pending_expected` not taken yet (read it through `expectation()`): it is taken on first use, before anything
    # moves what it is computed from (the levels and the profiles: the next close, a late event), so the same value
    # as taking it when the bucket opened. Most buckets close without a negative and never need it.
    expectation_due: bool = field(default=False, repr=False, compare=False)

    def expectation(self) -> float:
        """What the baseline expected of the open bucket when it opened (taken now when it was deferred)."""
        if self.expectation_due:
            self.expectation_due = False
            rule = self.pending_rule
            assert rule is not None and self.bucket is not None
            # `SpikeDetector.expected_at(bucket)`, written out.
            if self.weight > 0:
                if rule.seasonal:
                    start = self.bucket * rule.bucket_seconds
                    hour = (start // 3600) % 24
                    season = self.daily[hour] * self.weekly[(start // 86400 + _EPOCH_MONDAY_OFFSET_DAYS) % 7]
                else:
                    season = 1.0
                self.pending_expected = self.neg_sum / self.weight * season
            else:
                self.pending_expected = 0.0
        return self.pending_expected

    def bound(self) -> float:
        """The open bucket's threshold (computed now when it was deferred)."""
        rule = self.pending_rule
        if rule is not None:
            self.threshold = rule.threshold(self.expectation())
            self.pending_rule = None
        return self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "first_bucket": self.first_bucket,
            "negatives": self.negatives,
            "total": self.total,
            "languages": dict(self.languages),
            "categories": dict(self.categories),
            "threshold": self.bound(),
            "neg_sum": self.neg_sum,
            "weight": self.weight,
            "share_neg": self.share_neg,
            "share_total": self.share_total,
            "history": self.history,
            "cooldown": self.cooldown,
            "episode": None if self.episode is None else self.episode.to_dict(),
            "volume_sum": self.volume_sum,
            "daily": [1] * 24 if self.daily == _UNLEARNED_DAILY else list(self.daily),
            "weekly": [1] * 7 if self.weekly == _UNLEARNED_WEEKLY else list(self.weekly),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpikeState:
        episode = data["episode"]
        return cls(
            bucket=data["bucket"],
            first_bucket=data["first_bucket"],
            negatives=data["negatives"],
            total=data["total"],
            languages=dict(data["languages"]),
            categories=dict(data["categories"]),
            threshold=float(data["threshold"]),
            neg_sum=float(data["neg_sum"]),
            weight=float(data["weight"]),
            share_neg=float(data["share_neg"]),
            share_total=float(data["share_total"]),
            history=data["history"],
            cooldown=data["cooldown"],
            episode=None if episode is None else Episode.from_dict(episode),
            volume_sum=float(data["volume_sum"]),
            daily=[float(x) for x in data["daily"]],
            weekly=[float(x) for x in data["weekly"]],
        )


@dataclass(frozen=True, slots=True)
class SpikeSignal:
    """What the rule says about an episode at one moment of event time; the incident tracker turns it into events."""

    phase: SpikePhase
    started_at: int  # epoch seconds: start of the episode's first spike bucket
    at: float  # event time of this state (for `resolve`: the end of the last quiet bucket)
    observed: int  # negatives from started_at to at
    expected: float  # what the baseline expects over the same span
    total: int  # classified reviews over the same span
    threshold: float  # the current bucket's bound
    languages: Mapping[str, int]
    categories: Mapping[str, int] = field(default_factory=dict)


class SpikeDetector:
    """One merchant's negative-spike rule over its state. Pure: event time only, deterministic, no I/O.

    Buckets close when event time moves past their end; the closed count is compared with a bound from the EWMA
    baseline of earlier buckets (and from the usual negative share, so more traffic with the usual share is no
    spike). The open bucket is checked on every negative so a storm opens an episode while it is still small.
    """

    def __init__(self, rule: SpikeRule, state: SpikeState) -> None:
        self.rule = rule
        self.state = state

    def expected(self) -> float:
        """Negatives the baseline expects in the open bucket (level times the bucket's seasonal factor)."""
        bucket = self.state.bucket
        return self.expected_at(bucket) if bucket is not None else 0.0

    def expected_at(self, bucket: int) -> float:
        state = self.state
        return state.neg_sum / state.weight * self.season(bucket) if state.weight > 0 else 0.0

    def season(self, bucket: int) -> float:
        """The multiplicative seasonal factor of a bucket: 1 without seasonality or before it was learned."""
        if not self.rule.seasonal:
            return 1.0
        hour, weekday = _hour_and_weekday(bucket, self.rule.bucket_seconds)
        return self.state.daily[hour] * self.state.weekly[weekday]

    def observe(self, review: ScoredReview) -> list[SpikeSignal]:
        if (
            review.event.event_type != "review.created"  # not `review.counts`
            or review.event_time - review.observed_time > MAX_AHEAD_OF_OBSERVATION_SECONDS
        ):
            return []
        return self.observe_counted(review)

    def observe_counted(self, review: ScoredReview) -> list[SpikeSignal]:
        """`observe` of a review the caller already knows counts and is not too far ahead of its observation."""
        state = self.state
        rule = self.rule
        bucket = int(review.event_time // rule.bucket_seconds)
        open_bucket = state.bucket
        signals: list[SpikeSignal]
        if open_bucket is None:
            state.bucket = state.first_bucket = bucket
            state.threshold = rule.threshold(0.0)
            state.pending_rule = None
            signals = []
        elif bucket > open_bucket:
            signals = self._advance_to(bucket)
        elif bucket < open_bucket:
            self._fold_late(bucket, review)
            return []
        else:
            signals = []

        classification = review.classification
        if classification.polarity == "unknown":
            return signals
        state.total += 1
        if not classification.negative:
            return signals
        state.negatives += 1
        language = classification.language or "unknown"
        state.languages[language] = state.languages.get(language, 0) + 1
        if classification.category is not None:
            state.categories[classification.category] = state.categories.get(classification.category, 0) + 1
        if state.episode is not None:
            signals.append(self._progress("progress", review.event_time))
        elif state.cooldown == 0 and self._is_spike(state.negatives, state.total):
            state.episode = Episode(start_bucket=bucket)  # the open bucket
            signals.append(self._progress("open", review.event_time))
        return signals

    def _is_spike(self, negatives: int, total: int) -> bool:
        state = self.state
        rule = self.rule
        if state.history < rule.warmup_buckets:
            return False
        if state.pending_rule is not None:
            # The bound is the largest of three terms; below the two cheap ones the Poisson term cannot matter.
            expected = state.expectation()
            if negatives <= rule.min_ratio * expected or negatives <= float(rule.min_negative - 1):
                return False
        if negatives <= state.bound():
            return False
        if state.share_total > 0:
            # Conditioned on this bucket's own volume: a sale day doubles the negatives with the usual share.
            share = state.share_neg / state.share_total
            if negatives <= poisson_upper_quantile(share * total, rule.alpha):
                return False
        return True

    def _advance_to(self, bucket: int) -> list[SpikeSignal]:  # noqa: PLR0912, PLR0915 - the hot path, written out
        """Close the open bucket, and the empty ones after it, then open `bucket`.

        Each closed bucket goes into the baselines. A spike bucket enters the count baseline only up to the bound and
        the share baseline not at all: otherwise a long storm would soon look normal. Counts enter the levels
        deseasonalised (divided by the bucket's seasonal factor), so the level follows growth, not the clock.
        Empty buckets are closed one by one while they can end an episode or a cooldown, then all at once.

        The hot path of the detector (every closed bucket of every scope): the plain `_close`, `_fold`,
        `_learn_season` and `_fold_zeros` written out here as one loop over the closing buckets, with the same
        operations in the same order (tests/unit/test_rules_fast_path.py holds them to that plain form)."""
        state = self.state
        rule = self.rule
        decay = rule.decay
        closing = state.bucket
        assert closing is not None
        empty = bucket - closing - 1
        signals: list[SpikeSignal] = []
        negatives = state.negatives
        total = state.total
        languages: Mapping[str, int] = state.languages
        categories: Mapping[str, int] = state.categories
        if state.episode is not None and state.expectation_due:
            state.expectation()  # an episode's end reads the bound, maybe after a fold has moved the level
        while True:
            # No negatives is never a spike: the bound is at least its Poisson term, which is at least 0.
            spike = negatives > 0 and self._is_spike(negatives, total)
            episode = state.episode
            if episode is None:
                if state.cooldown > 0:
                    state.cooldown -= 1
            else:
                resolved = self._close_episode(
                    episode, closing, negatives, total, languages=languages, categories=categories, spike=spike
                )
                if resolved is not None:
                    signals.append(resolved)
            if rule.seasonal:
                start = closing * rule.bucket_seconds
                hour = (start // 3600) % 24
                weekday = (start // 86400 + _EPOCH_MONDAY_OFFSET_DAYS) % 7
                daily = state.daily
                weekly = state.weekly
                season = daily[hour] * weekly[weekday]  # `season(bucket)`, its slots kept for learning
                volume_sum = state.volume_sum
                weight = state.weight
                if not spike and state.history >= rule.warmup_buckets and volume_sum > 0 and weight > 0:
                    # Move the hour-of-day and day-of-week factors toward this bucket's volume against the level.
                    # min()/max() written as the comparisons they make: `min(a, b)` is `b if b < a else a`,
                    # `max(a, b)` is `b if b > a else a`.
                    ratio = total / (volume_sum / weight * season)
                    ratio = _MAX_SEASONAL_RATIO if ratio > _MAX_SEASONAL_RATIO else ratio
                    excess = ratio - 1.0
                    moved = daily[hour] * (1.0 + DAILY_GAIN * excess)
                    daily[hour] = moved if moved > _MIN_PROFILE else _MIN_PROFILE
                    moved = weekly[weekday] * (1.0 + WEEKLY_GAIN * excess)
                    weekly[weekday] = moved if moved > _MIN_PROFILE else _MIN_PROFILE
                    # Keep both profiles at mean 1, so the level stays a per-bucket average. (Exactly these divisions:
                    # a running sum or a lazy scale would change the stored factors in their last bits.)
                    # The lists written out, element by element: the same divisions as `[x / mean for x in daily]`
                    # without the comprehension's call and loop (a third of the renormalisation's time).
                    mean = sum(daily) / 24.0
                    # fmt: off
                    (h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11,
                     h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23) = daily
                    state.daily = [
                        h0 / mean, h1 / mean, h2 / mean, h3 / mean, h4 / mean, h5 / mean, h6 / mean, h7 / mean,
                        h8 / mean, h9 / mean, h10 / mean, h11 / mean, h12 / mean, h13 / mean, h14 / mean, h15 / mean,
                        h16 / mean, h17 / mean, h18 / mean, h19 / mean, h20 / mean, h21 / mean, h22 / mean, h23 / mean,
                    ]
                    # fmt: on
                    mean = sum(weekly) / 7.0
                    w0, w1, w2, w3, w4, w5, w6 = weekly
                    state.weekly = [w0 / mean, w1 / mean, w2 / mean, w3 / mean, w4 / mean, w5 / mean, w6 / mean]
            else:
                season = 1.0
            counted = min(float(negatives), state.bound()) if spike else float(negatives)
            state.neg_sum = state.neg_sum * decay + counted / season
            state.volume_sum = state.volume_sum * decay + (0.0 if spike else total / season)
            state.weight = state.weight * decay + 1.0
            state.share_neg = state.share_neg * decay + (0 if spike else negatives)
            state.share_total = state.share_total * decay + (0 if spike else total)
            state.history += 1
            if empty > 0 and (state.episode is not None or state.cooldown > 0):
                closing += 1
                empty -= 1
                negatives = total = 0
                languages = categories = _NOTHING
                continue
            break
        if empty > 0:
            # Fold the empty buckets in O(1): the geometric series of the EWMA weights.
            factor = decay**empty
            state.neg_sum *= factor
            state.volume_sum *= factor
            state.share_neg *= factor
            state.share_total *= factor
            state.weight = state.weight * factor + (1.0 - factor) / (1.0 - decay)
            state.history += empty
        state.bucket = bucket
        state.negatives = state.total = 0
        if state.languages:
            state.languages = {}
        if state.categories:
            state.categories = {}
        # `rule.threshold(self.expected())`, deferred (see `SpikeState.bound` and `SpikeState.expectation`).
        state.pending_rule = rule
        state.expectation_due = True
        return signals

    def _close_episode(
        self,
        episode: Episode,
        bucket: int,
        negatives: int,
        total: int,
        *,
        languages: Mapping[str, int],
        categories: Mapping[str, int],
        spike: bool,
    ) -> SpikeSignal | None:
        """A closed bucket of an episode, before its fold: the episode's sums, and its end after enough quiet."""
        state = self.state
        rule = self.rule
        episode.observed += negatives
        episode.total += total
        episode.expected += self.expected_at(bucket)
        for language, count in languages.items():
            episode.languages[language] = episode.languages.get(language, 0) + count
        for category, count in categories.items():
            episode.categories[category] = episode.categories.get(category, 0) + count
        episode.quiet = 0 if spike else episode.quiet + 1
        if episode.quiet < rule.resolve_after:
            return None
        resolved = self._resolve(episode, (bucket + 1) * rule.bucket_seconds)
        state.episode = None
        state.cooldown = rule.cooldown_buckets
        return resolved

    def _fold_late(self, bucket: int, review: ScoredReview) -> None:
        """An event for an already closed bucket joins the baseline with that bucket's weight, never an alert.

        A second source's backfill or a page delivered out of order arrives this way; counting it in the open
        bucket instead would fake a spike.
        """
        state = self.state
        assert state.bucket is not None and state.first_bucket is not None
        if bucket < state.first_bucket or review.classification.polarity == "unknown":
            return
        weight = self.rule.decay ** (state.bucket - 1 - bucket)
        if weight < _NEGLIGIBLE_WEIGHT:
            return
        if state.expectation_due:
            state.expectation()  # taken before this moves the level
        state.share_total += weight
        season = self.season(bucket)
        state.volume_sum += weight / season
        if review.classification.negative:
            state.neg_sum += weight / season
            state.share_neg += weight

    def _progress(self, phase: SpikePhase, at: float) -> SpikeSignal:
        state = self.state
        episode = state.episode
        assert episode is not None and state.bucket is not None
        bucket_start = state.bucket * self.rule.bucket_seconds
        # The open bucket's expectation grows with the part of it that has passed.
        elapsed = min(max(at - bucket_start, 0.0), float(self.rule.bucket_seconds))
        languages = dict(episode.languages)
        for language, count in state.languages.items():
            languages[language] = languages.get(language, 0) + count
        categories = dict(episode.categories)
        for category, count in state.categories.items():
            categories[category] = categories.get(category, 0) + count
        return SpikeSignal(
            phase=phase,
            started_at=episode.start_bucket * self.rule.bucket_seconds,
            at=at,
            observed=episode.observed + state.negatives,
            expected=episode.expected + self.expected() * elapsed / self.rule.bucket_seconds,
            total=episode.total + state.total,
            threshold=state.bound(),
            languages=languages,
            categories=categories,
        )

    def _resolve(self, episode: Episode, at: int) -> SpikeSignal:
        return SpikeSignal(
            phase="resolve",
            started_at=episode.start_bucket * self.rule.bucket_seconds,
            at=float(at),
            observed=episode.observed,
            expected=episode.expected,
            total=episode.total,
            threshold=self.state.bound(),
            languages=dict(episode.languages),
            categories=dict(episode.categories),
        )
