"""The rules' fast path against the plain form it replaced: the same incidents and the same state, to the last bit.

`services/detector/spike.py` writes the spike rule's hot path out (seasonal slot and learning inside `_fold`, the
open bucket's Poisson bound computed on first use, min/max as comparisons) and `merchant.py` routes reviews to
their scopes without building keys and skips the incident trackers' no-op sampling. `PlainSpikeDetector` and
`PlainMerchantDetector` below are the methods as they were before (commit 539cc25), copied unchanged; an engine
built from them must agree with the product engine on every incident event, every checkpoint and every snapshot,
compared as JSON bytes (floats by their shortest repr, so equal means bit for bit).
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.detector.deadlines import Recovery
from services.detector.engine import DetectionEngine
from services.detector.merchant import MerchantDetector, _Spike
from services.detector.negativity import Classification
from services.detector.poisson import poisson_upper_quantile
from services.detector.scenarios import SCENARIOS, ScenarioClassifier
from services.detector.scoring import ScoredReview
from services.detector.spike import (
    _MAX_SEASONAL_RATIO,
    _MIN_PROFILE,
    DAILY_GAIN,
    MAX_AHEAD_OF_OBSERVATION_SECONDS,
    WARMUP_BUCKETS,
    WEEKLY_GAIN,
    Episode,
    SpikeDetector,
    SpikeRule,
    SpikeSignal,
    SpikeState,
    _hour_and_weekday,
)
from services.detector.state import PartitionState
from services.detector.synthetic import review_event
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent, ReviewEvent


class PlainSpikeDetector(SpikeDetector):
    """The spike rule's methods as written before the fast path (they set `threshold` eagerly, never a pending one)."""

    def observe(self, review: ScoredReview) -> list[SpikeSignal]:
        if not review.counts or review.event_time - review.observed_time > MAX_AHEAD_OF_OBSERVATION_SECONDS:
            return []
        state = self.state
        rule = self.rule
        bucket = int(review.event_time // rule.bucket_seconds)
        signals: list[SpikeSignal] = []
        if state.bucket is None:
            state.bucket = state.first_bucket = bucket
            state.threshold = rule.threshold(0.0)
        elif bucket < state.bucket:
            self._fold_late(bucket, review)
            return []
        elif bucket > state.bucket:
            signals.extend(self._advance_to(bucket))

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
            state.episode = Episode(start_bucket=state.bucket)
            signals.append(self._progress("open", review.event_time))
        return signals

    def _is_spike(self, negatives: int, total: int) -> bool:
        state = self.state
        if state.history < self.rule.warmup_buckets or negatives <= state.threshold:
            return False
        if state.share_total > 0:
            # Conditioned on this bucket's own volume: a sale day doubles the negatives with the usual share.
            share = state.share_neg / state.share_total
            if negatives <= poisson_upper_quantile(share * total, self.rule.alpha):
                return False
        return True

    def _advance_to(self, bucket: int) -> list[SpikeSignal]:
        state = self.state
        assert state.bucket is not None
        signals = self._close(state.bucket, state.negatives, state.total, state.languages, state.categories)
        empty = bucket - state.bucket - 1
        closing = state.bucket + 1
        # Empty buckets one by one while they can end an episode or a cooldown, then all at once.
        while empty > 0 and (state.episode is not None or state.cooldown > 0):
            signals.extend(self._close(closing, 0, 0, {}, {}))
            closing += 1
            empty -= 1
        if empty > 0:
            self._fold_zeros(empty)
        state.bucket = bucket
        state.negatives = state.total = 0
        state.languages = {}
        state.categories = {}
        state.threshold = self.rule.threshold(self.expected())
        return signals

    def _close(
        self,
        bucket: int,
        negatives: int,
        total: int,
        languages: Mapping[str, int],
        categories: Mapping[str, int],
    ) -> list[SpikeSignal]:
        state = self.state
        rule = self.rule
        spike = self._is_spike(negatives, total)
        signals: list[SpikeSignal] = []
        episode = state.episode
        if episode is not None:
            episode.observed += negatives
            episode.total += total
            episode.expected += self.expected_at(bucket)
            for language, count in languages.items():
                episode.languages[language] = episode.languages.get(language, 0) + count
            for category, count in categories.items():
                episode.categories[category] = episode.categories.get(category, 0) + count
            episode.quiet = 0 if spike else episode.quiet + 1
            if episode.quiet >= rule.resolve_after:
                signals.append(self._resolve(episode, (bucket + 1) * rule.bucket_seconds))
                state.episode = None
                state.cooldown = rule.cooldown_buckets
        elif state.cooldown > 0:
            state.cooldown -= 1
        self._fold(bucket, negatives, total, spike)
        return signals

    def _fold(self, bucket: int, negatives: int, total: int, spike: bool) -> None:
        """Add a closed bucket to the baselines. A spike bucket enters the count baseline only up to the bound
        and the share baseline not at all: otherwise a long storm would soon look normal. Counts enter the levels
        deseasonalised (divided by the bucket's seasonal factor), so the level follows growth, not the clock."""
        state = self.state
        decay = self.rule.decay
        if self.rule.seasonal:
            hour, weekday = _hour_and_weekday(bucket, self.rule.bucket_seconds)
            season = state.daily[hour] * state.weekly[weekday]  # `season(bucket)`, its slots kept for learning
            if not spike:
                self._learn_season(hour, weekday, total, season)
        else:
            season = 1.0
        counted = min(float(negatives), state.threshold) if spike else float(negatives)
        state.neg_sum = state.neg_sum * decay + counted / season
        state.volume_sum = state.volume_sum * decay + (0.0 if spike else total / season)
        state.weight = state.weight * decay + 1.0
        state.share_neg = state.share_neg * decay + (0 if spike else negatives)
        state.share_total = state.share_total * decay + (0 if spike else total)
        state.history += 1

    def _learn_season(self, hour: int, weekday: int, total: int, season: float) -> None:
        """Move the hour-of-day and day-of-week factors of a closed bucket toward its volume against the level."""
        state = self.state
        if state.history < self.rule.warmup_buckets or state.volume_sum <= 0 or state.weight <= 0:
            return
        expected = state.volume_sum / state.weight * season
        ratio = min(total / expected, _MAX_SEASONAL_RATIO)
        daily = state.daily
        weekly = state.weekly
        daily[hour] = max(_MIN_PROFILE, daily[hour] * (1.0 + DAILY_GAIN * (ratio - 1.0)))
        weekly[weekday] = max(_MIN_PROFILE, weekly[weekday] * (1.0 + WEEKLY_GAIN * (ratio - 1.0)))
        # Keep both profiles at mean 1, so the level stays a per-bucket average.
        daily_mean = sum(daily) / 24.0
        weekly_mean = sum(weekly) / 7.0
        state.daily = [x / daily_mean for x in daily]
        state.weekly = [x / weekly_mean for x in weekly]

    def _fold_zeros(self, count: int) -> None:
        """Fold `count` empty buckets in O(1): the geometric series of the EWMA weights."""
        state = self.state
        decay = self.rule.decay
        factor = decay**count
        state.neg_sum *= factor
        state.volume_sum *= factor
        state.share_neg *= factor
        state.share_total *= factor
        state.weight = state.weight * factor + (1.0 - factor) / (1.0 - decay)
        state.history += count


class PlainMerchantDetector(MerchantDetector):
    """The merchant's rules as routed before the fast path, over `PlainSpikeDetector`s."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.merchant_spike = (PlainSpikeDetector(self.rule, self.state.spike), self.merchant_spike[1])

    def process(self, review: ScoredReview, recoveries: list[tuple[str, Recovery]]) -> list[IncidentEvent]:
        state = self.state
        moment = review.event_time if review.event.event_type == "review.created" else review.observed_time
        if moment - review.observed_time <= MAX_AHEAD_OF_OBSERVATION_SECONDS and moment > state.watermark:
            state.watermark = moment
        now = state.watermark
        incidents: list[IncidentEvent] = []
        event = review.event
        # Replies in a thread are the thread watcher's: counting them as reviews too would page one storm twice.
        in_thread = event.thread_id is not None or event.parent_id is not None
        if not in_thread:
            self._plain_spike(self.merchant_spike, review, incidents, now)
        if self.config.scope_spikes and review.counts and not in_thread:
            self._plain_spike(self._scope(f"platform:{review.event.platform}"), review, incidents, now)
            category = review.classification.category
            if category is not None:
                self._plain_spike(self._scope(f"category:{category}"), review, incidents, now)
        incidents.extend(self.threads.observe(review, now))
        incidents.extend(self.deadlines.observe(review, now, recoveries))
        # While negatives pile up in the merchant's open bucket, a storm may be forming: the spike rule pages it and
        # its incident explains the falling average. The rating-drop rule waits meanwhile (one storm, one incident);
        # a slow slide, with few negatives per bucket, is paged by the rating-drop rule alone.
        storm_forming = self.merchant_spike[0].state.negatives >= self.rule.min_negative
        if self.config.rating_drop:
            explained_since = now if storm_forming else state.last_spike
            dropped = self.ratings.observe(review, now, explained_since)
            if dropped is not None:
                incidents.append(dropped)
        return incidents

    def _plain_spike(self, pair: _Spike, review: ScoredReview, out: list[IncidentEvent], now: float) -> None:
        spike, tracker = pair
        tracker.observe(review)
        for signal in spike.observe(review):
            if signal.phase == "open" and self._storm_covered(tracker.scope, now):
                continue
            incident = tracker.on_signal(signal, review)
            if incident is not None:
                out.append(incident)
                self.state.last_spike = now
                self.state.last_spike_scope = tracker.scope

    def _scope(self, key: str) -> _Spike:
        found = self.scopes.get(key)
        if found is None:
            spike, tracker = super()._scope(key)
            found = self.scopes[key] = (PlainSpikeDetector(self.rule, spike.state), tracker)
        return found


class PlainEngine(DetectionEngine):
    """The product engine with the plain merchant detectors."""

    def _detector(self, merchant_id: str) -> MerchantDetector:
        found = self._merchants.get(merchant_id)
        if found is None:
            found = PlainMerchantDetector(
                merchant_id,
                self.merchant_names.get(merchant_id, merchant_id),
                self.config,
                self.rule,
                self.state.merchant(merchant_id),
            )
            self._merchants[merchant_id] = found
        return found


# --- comparing the two engines -----------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _incidents(events: list[IncidentEvent]) -> bytes:
    return _json([event.to_dict() for event in events])


def assert_same_run(
    config: DetectionConfig, reviews: list[ScoredReview], *, checkpoint_every: int = 7, restart_at: int | None = None
) -> list[IncidentEvent]:
    """Feed both engines the same reviews; compare every incident event, every checkpoint, the final snapshot.

    At `restart_at` both continue from the plain engine's snapshot after a JSON round trip: the fast engine reads a
    checkpoint written by the plain code (the state of the version before it) and must go on exactly like it."""
    fast, plain = DetectionEngine(config), PlainEngine(config)
    emitted: list[IncidentEvent] = []
    for n, review in enumerate(reviews):
        if n == restart_at:
            snapshot = orjson.loads(orjson.dumps(plain.snapshot()))
            fast = DetectionEngine.restore(config, snapshot)
            plain = PlainEngine(config, state=PartitionState.from_dict(snapshot, config.bucket_seconds))
        got, want = fast.process(review), plain.process(review)
        assert _incidents(got) == _incidents(want), f"review {n}"
        emitted.extend(got)
        if n % checkpoint_every == 0:
            assert _json(fast.take_touched()) == _json(plain.take_touched()), f"checkpoint after review {n}"
    assert _json(fast.snapshot()) == _json(plain.snapshot())
    return emitted


T0 = datetime(2026, 11, 2, 5, tzinfo=UTC)
CATEGORIES = (None, None, "logistics", "quality")
PLATFORMS = ("trustpilot", "google")


@dataclasses.dataclass(frozen=True)
class Segment:
    """A run of one merchant's reviews: `count` of them `spacing` seconds apart, a `negative` share."""

    merchant: int
    count: int
    spacing: int
    negative: float
    late: bool = False  # each review dated up to 3 hours before its observation moment (a backfill)


def stream(segments: list[Segment], seed: int) -> list[ScoredReview]:
    """Scored reviews in log order: segments one after another in event time, each review classified directly
    (polarity, category, language), some unrated, some edits, a few dated far ahead of their observation."""
    rng = random.Random(seed)
    moment = T0
    reviews = []
    for s, segment in enumerate(segments):
        for i in range(segment.count):
            moment += timedelta(seconds=segment.spacing)
            created = moment - timedelta(seconds=rng.randrange(10_800)) if segment.late else moment
            roll = rng.random()
            if roll < 0.03:
                created = moment + timedelta(seconds=MAX_AHEAD_OF_OBSERVATION_SECONDS + 60)
            negative = rng.random() < segment.negative
            polarity = "negative" if negative else rng.choice(("positive", "positive", "neutral", "unknown"))
            event: ReviewEvent = review_event(
                merchant_id=f"m{segment.merchant}",
                item_id=f"s{s}-{i}",
                created=created,
                observed=moment,
                rating=None if polarity == "unknown" else (1.0 if negative else 5.0),
                platform=rng.choice(PLATFORMS),
                text="Where is my parcel?" if negative else "Fine.",
                language=rng.choice(("en", "de", None)),
            )
            if roll > 0.97:
                event = dataclasses.replace(event, event_type="review.updated")
            classification = Classification(
                negativity=None if polarity == "unknown" else (0.9 if negative else 0.1),
                negative=negative,
                polarity=polarity,  # type: ignore[arg-type]
                category=rng.choice(CATEGORIES) if negative else None,
                language=event.language,
            )
            reviews.append(ScoredReview(event, classification, created.timestamp(), moment.timestamp()))
    return reviews


def history(merchant: int, hours: int = 30) -> Segment:
    """Steady traffic long enough to warm the rule up and to teach it a seasonal profile."""
    return Segment(merchant, count=hours * 12, spacing=300, negative=0.05)


def storm(merchant: int) -> Segment:
    return Segment(merchant, count=80, spacing=20, negative=0.8)


# --- the tests ---------------------------------------------------------------------------------------------------


def test_scenarios_give_the_same_incidents_and_state_as_the_plain_rules() -> None:
    """Every detector scenario (storms, slow burn, sale day, seasonality, threads) under every preset: the fast
    engine emits the same incident events and writes the same checkpoints and snapshot as the plain one."""
    built = [build() for build in SCENARIOS]
    spikes = 0
    for preset in ("sensitive", "balanced", "strict"):
        config = DetectionConfig(preset=preset)
        for scenario in built:
            classifier = ScenarioClassifier()
            reviews = [DetectionEngine(config, classifier=classifier).score(event) for event in scenario.events]
            emitted = assert_same_run(config, reviews, checkpoint_every=101, restart_at=len(reviews) // 2)
            spikes += sum(1 for incident in emitted if incident.kind == "negative_spike")
    assert spikes > 0  # the comparison covered open, update and resolve of spike incidents


def test_storms_in_every_scope_give_the_same_incidents_and_state() -> None:
    """Three merchants with history, storms on both platforms and in categories, a quiet gap of days, backfilled
    (late) reviews and edits: same incidents and state, and the spike rule did open and resolve incidents."""
    segments = [
        history(0),
        history(1),
        storm(0),
        Segment(2, count=50, spacing=600, negative=0.1),
        Segment(1, count=20, spacing=3600, negative=0.0, late=True),
        storm(1),
        Segment(0, count=10, spacing=86_400, negative=0.2),
        history(2, hours=12),
        storm(2),
        Segment(0, count=100, spacing=240, negative=0.1, late=True),
    ]
    emitted = assert_same_run(DetectionConfig(), stream(segments, seed=5), restart_at=900)
    statuses = {(incident.kind, incident.status) for incident in emitted}
    assert ("negative_spike", "open") in statuses
    assert ("negative_spike", "resolved") in statuses


def test_a_busy_merchant_where_the_ratio_bounds_the_spike_gives_the_same() -> None:
    """Hundreds of reviews per bucket, a fifth negative, then twice and three times that share: the bound is set
    by the minimum ratio, not the Poisson term (the fast path's cheap pre-check decides right at its edge)."""
    segments = [
        Segment(0, count=6000, spacing=5, negative=0.2),
        Segment(0, count=400, spacing=5, negative=0.42),
        Segment(0, count=400, spacing=5, negative=0.2),
        Segment(0, count=400, spacing=5, negative=0.6),
        Segment(0, count=2000, spacing=5, negative=0.2),
    ]
    emitted = assert_same_run(DetectionConfig(), stream(segments, seed=3), checkpoint_every=50)
    assert any(incident.kind == "negative_spike" for incident in emitted)


def test_without_seasonality_or_scopes_the_same() -> None:
    """The branches without seasonality and without scope spikes (and another bucket size) agree too."""
    segments = [history(0), storm(0), Segment(0, count=200, spacing=400, negative=0.1), storm(0)]
    reviews = stream(segments, seed=11)
    for config in (
        DetectionConfig(seasonality=False),
        DetectionConfig(scope_spikes=False, bucket_seconds=600, min_negative=3),
        DetectionConfig(seasonality=False, scope_spikes=False, rating_drop=False, bucket_seconds=420),
    ):
        assert_same_run(config, reviews, restart_at=len(reviews) // 3)


segments_strategy = st.lists(
    st.builds(
        Segment,
        merchant=st.integers(0, 2),
        count=st.integers(1, 120),
        spacing=st.sampled_from((5, 30, 120, 300, 900, 1400, 7200, 90_000)),
        negative=st.sampled_from((0.0, 0.05, 0.2, 0.9)),
        late=st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(
    segments=segments_strategy,
    seed=st.integers(0, 1000),
    preset=st.sampled_from(("sensitive", "balanced", "strict")),
    seasonality=st.booleans(),
    bucket_seconds=st.sampled_from((300, 900, 3600)),
    min_negative=st.integers(1, 5),
    restart=st.floats(0.0, 1.0),
)
def test_random_streams_give_the_same_incidents_and_state(
    segments: list[Segment],
    seed: int,
    preset: str,
    seasonality: bool,
    bucket_seconds: int,
    min_negative: int,
    restart: float,
) -> None:
    """Random streams (a day of history first, then random runs of traffic, storms, gaps, late reviews) under
    random settings: the same incident events, checkpoints and snapshots from the fast and the plain engine, also
    across a restart from the plain engine's checkpoint."""
    config = DetectionConfig(
        preset=preset, seasonality=seasonality, bucket_seconds=bucket_seconds, min_negative=min_negative
    )
    reviews = stream([history(seed % 3, hours=24), *segments], seed)
    assert_same_run(config, reviews, checkpoint_every=5, restart_at=int(restart * len(reviews)))


def deferred(engine: DetectionEngine) -> bool:
    return engine.state.merchants["m0"].spike.pending_rule is not None


def test_a_checkpoint_taken_with_the_bound_deferred_holds_the_bound() -> None:
    """Right after a bucket closes the open bucket's Poisson bound is not computed yet; the checkpoint computes
    it, the same value the plain rule computed when the bucket opened, and a restored engine carries it."""
    reviews = stream([history(0), Segment(0, count=1, spacing=3 * 900, negative=0.0)], seed=2)
    fast, plain = DetectionEngine(DetectionConfig()), PlainEngine(DetectionConfig())
    for review in reviews:
        fast.process(review)
        plain.process(review)
    assert deferred(fast)
    written = fast.take_touched()["m0"]["spike"]
    assert written["threshold"] == plain.state.merchants["m0"].spike.threshold
    assert not deferred(fast)
    restored = DetectionEngine.restore(DetectionConfig(), orjson.loads(orjson.dumps(fast.snapshot())))
    assert restored.state.merchants["m0"].spike.bound() == written["threshold"]


@settings(max_examples=300, deadline=None)
@given(
    expected=st.floats(0.0, 400.0),
    negatives=st.integers(0, 1000),
    total=st.integers(0, 2000),
    share=st.floats(0.0, 1.0),
    preset=st.sampled_from(("sensitive", "balanced", "strict")),
    min_negative=st.integers(1, 8),
)
def test_the_pre_check_before_the_deferred_bound_decides_like_the_bound(
    expected: float, negatives: int, total: int, share: float, preset: str, min_negative: int
) -> None:
    """Whether a count is a spike, with the open bucket's bound deferred (the fast path first compares with the
    bound's two cheap terms) or computed (the plain rule): the same answer for any expectation, also for those
    a float step either side of `count = min_ratio * expected`, where a pre-check off by a little would err."""
    rule = SpikeRule.from_config(DetectionConfig(preset=preset, min_negative=min_negative))
    edge = negatives / rule.min_ratio
    below, above = math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)
    for mean in (expected, edge, below, math.nextafter(below, -math.inf), above, math.nextafter(above, math.inf)):
        state = SpikeState(history=WARMUP_BUCKETS, share_neg=share * 10.0, share_total=10.0)
        state.pending_rule, state.pending_expected = rule, mean
        plain = PlainSpikeDetector(rule, SpikeState(history=WARMUP_BUCKETS, share_neg=share * 10.0, share_total=10.0))
        plain.state.threshold = rule.threshold(mean)
        for count in {negatives, min_negative - 1, min_negative}:
            assert SpikeDetector(rule, state)._is_spike(count, total) == plain._is_spike(count, total), (mean, count)
