"""All the rules of one merchant over its state: spikes per scope (one storm, one incident), threads, deadlines, rating.

Order matters and is fixed, so that a replay gives the same incident events: the merchant-level spike first, then
the platform scope, then the category scope, then threads, deadlines and the rating drop.
"""

from __future__ import annotations

from typing import Any

from services.detector.deadlines import DeadlineWatcher, Recovery
from services.detector.incidents import IncidentTracker, sample_item
from services.detector.ratings import RatingWatcher
from services.detector.scoring import ScoredReview
from services.detector.spike import MAX_AHEAD_OF_OBSERVATION_SECONDS, SpikeDetector, SpikeRule
from services.detector.state import MerchantState, ScopeState
from services.detector.threads import ThreadWatcher
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent

_Spike = tuple[SpikeDetector, IncidentTracker]
# Another scope's spike incident that changed this recently (event time) covers a scope that wants to open now.
SAME_STORM_SECONDS = 6 * 3600.0


class MerchantDetector:
    def __init__(
        self, merchant_id: str, name: str, config: DetectionConfig, rule: SpikeRule, state: MerchantState
    ) -> None:
        self.merchant_id = merchant_id
        self.name = name
        self.config = config
        self.rule = rule
        self.state = state
        self.merchant_spike: _Spike = (
            SpikeDetector(rule, state.spike),
            IncidentTracker(merchant_id, name, min_growth=config.min_negative, state=state.incident),
        )
        self.scopes: dict[str, _Spike] = {}
        # The same pairs by platform and by category value: found per event without building the scope key.
        self._platform_scopes: dict[str, _Spike] = {}
        self._category_scopes: dict[str, _Spike] = {}
        threshold = config.viral_reach_thresholds.get(merchant_id, config.viral_reach_threshold)
        self.threads = ThreadWatcher(merchant_id, name, float(threshold), state.threads)
        self.deadlines = DeadlineWatcher(
            merchant_id,
            name,
            reply_hours=config.response_deadline_hours,
            resolve_hours=config.resolution_window_hours,
            warn_before_hours=config.resolution_warn_before_hours,
            state=state.deadlines,
        )
        self.ratings = RatingWatcher(merchant_id, name, state.ratings)

    def process(self, review: ScoredReview, recoveries: list[tuple[str, Recovery]]) -> list[IncidentEvent]:
        state = self.state
        event = review.event
        counts = event.event_type == "review.created"  # `review.counts`
        observed = review.observed_time
        moment = review.event_time if counts else observed
        # Within reach of its observation: only such a counted review moves the spike rule (`SpikeDetector.observe`
        # decides the same, so the scopes call `observe_counted`, which skips that check).
        reachable = moment - observed <= MAX_AHEAD_OF_OBSERVATION_SECONDS
        if reachable and moment > state.watermark:
            state.watermark = moment
        now = state.watermark
        incidents: list[IncidentEvent] = []
        # Replies in a thread are the thread watcher's: counting them as reviews too would page one storm twice.
        if event.thread_id is None and event.parent_id is None:
            # The incident trackers keep the newest counted negatives as samples; nothing else changes them.
            # One item for every scope's tracker: the same dict in each (the trackers never change it).
            sample = sample_item(review) if counts and review.classification.negative else None
            spiking = counts and reachable
            self._spike(self.merchant_spike, review, incidents, sample, spiking)
            if counts and self.config.scope_spikes:
                platform = event.platform
                pair = self._platform_scopes.get(platform)
                if pair is None:
                    pair = self._platform_scopes[platform] = self._scope(f"platform:{platform}")
                self._spike(pair, review, incidents, sample, spiking)
                category = review.classification.category
                if category is not None:
                    pair = self._category_scopes.get(category)
                    if pair is None:
                        pair = self._category_scopes[category] = self._scope(f"category:{category}")
                    self._spike(pair, review, incidents, sample, spiking)
        found = self.threads.observe(review, now)
        if found:
            incidents.extend(found)
        found = self.deadlines.observe(review, now, recoveries)
        if found:
            incidents.extend(found)
        # While negatives pile up in the merchant's open bucket, a storm may be forming: the spike rule pages it and
        # its incident explains the falling average. The rating-drop rule waits meanwhile (one storm, one incident);
        # a slow slide, with few negatives per bucket, is paged by the rating-drop rule alone.
        if self.config.rating_drop:
            storm_forming = self.merchant_spike[0].state.negatives >= self.rule.min_negative
            dropped = self.ratings.observe(review, now, now if storm_forming else state.last_spike)
            if dropped is not None:
                incidents.append(dropped)
        return incidents

    def _spike(
        self, pair: _Spike, review: ScoredReview, out: list[IncidentEvent], sample: dict[str, Any] | None, spiking: bool
    ) -> None:
        spike, tracker = pair
        if sample is not None:
            tracker.add_sample(sample)
        if not spiking:
            return
        signals = spike.observe_counted(review)
        if not signals:
            return
        now = self.state.watermark  # the merchant's event time, as `process` left it
        for signal in signals:
            if signal.phase == "open" and self._storm_covered(tracker.scope, now):
                continue
            incident = tracker.on_signal(signal, review)
            if incident is not None:
                out.append(incident)
                self.state.last_spike = now
                self.state.last_spike_scope = tracker.scope

    def _storm_covered(self, scope: str, now: float) -> bool:
        """One storm, one incident: a scope does not open while another negative_spike of the merchant is open,
        nor within SAME_STORM_SECONDS after another scope's incident last changed (the tail of the same storm, seen
        through a narrower or wider window). A scope's own re-opening is governed by its cooldown."""
        state = self.state
        if state.incident.incident_id is not None:
            return True
        if any(other.incident.incident_id is not None for other in state.scopes.values()):
            return True
        return (
            state.last_spike is not None
            and state.last_spike_scope != scope
            and now - state.last_spike < SAME_STORM_SECONDS
        )

    def _scope(self, key: str) -> _Spike:
        found = self.scopes.get(key)
        if found is None:
            scope = self.state.scopes.get(key)
            if scope is None:
                scope = self.state.scopes[key] = ScopeState()
            kind, value = key.split(":", 1)
            found = (
                SpikeDetector(self.rule, scope.spike),
                IncidentTracker(
                    self.merchant_id,
                    self.name,
                    min_growth=self.config.min_negative,
                    state=scope.incident,
                    scope=key,
                    platform=value if kind == "platform" else None,
                    category=value if kind == "category" else None,
                ),
            )
            self.scopes[key] = found
        return found
