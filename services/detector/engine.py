"""The pure detection entry point: review events in, incident events out, in event time, with checkpointable state.

The service feeds it from Kafka; a backtest can feed it from a file. Nothing here does I/O or reads a clock, so
the same events (in the same order) always give the same incident events, which is what makes replays after a
crash harmless: the alerter deduplicates on (incident_id, version).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.detector.incidents import IncidentTracker
from services.detector.negativity import Classifier, RatingClassifier
from services.detector.scoring import ScoredReview, score
from services.detector.spike import SpikeDetector, SpikeRule
from services.detector.state import PartitionState
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent, ReviewEvent


class DetectionEngine:
    """Classify, detect spikes per merchant, manage incidents. One engine holds the state of one partition."""

    def __init__(
        self,
        config: DetectionConfig,
        *,
        classifier: Classifier | None = None,
        merchant_names: Mapping[str, str] | None = None,
        state: PartitionState | None = None,
    ) -> None:
        self.config = config
        self.rule = SpikeRule.from_config(config)
        self.classifier: Classifier = classifier or RatingClassifier()
        self.merchant_names = dict(merchant_names or {})
        self.state = state or PartitionState(bucket_seconds=config.bucket_seconds)
        self._merchants: dict[str, tuple[SpikeDetector, IncidentTracker]] = {}

    @classmethod
    def restore(
        cls,
        config: DetectionConfig,
        snapshot: Mapping[str, Any],
        *,
        classifier: Classifier | None = None,
        merchant_names: Mapping[str, str] | None = None,
    ) -> DetectionEngine:
        """Continue from a snapshot; raises StateMismatch when it was taken with another bucket size or format."""
        state = PartitionState.from_dict(snapshot, config.bucket_seconds)
        return cls(config, classifier=classifier, merchant_names=merchant_names, state=state)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data; `restore` of it continues exactly where this engine is."""
        return self.state.to_dict()

    def score(self, event: ReviewEvent) -> ScoredReview:
        """Stage 1: classify. Raises ValueError for an unusable created_at (the caller dead-letters the event)."""
        return score(event, self.classifier)

    def process(self, review: ScoredReview) -> list[IncidentEvent]:
        """Stages 2 and 3: the spike rule, then the incident lifecycle. Feed events in log (offset) order."""
        spike, tracker = self._detectors(review.event.merchant_id)
        tracker.observe(review)
        incidents = []
        for signal in spike.observe(review):
            incident = tracker.on_signal(signal, review)
            if incident is not None:
                incidents.append(incident)
        return incidents

    def run(self, events: Iterable[ReviewEvent]) -> list[IncidentEvent]:
        """Process a whole stream (a backtest, a test): every incident event, in order."""
        incidents: list[IncidentEvent] = []
        for event in events:
            incidents.extend(self.process(self.score(event)))
        return incidents

    def _detectors(self, merchant_id: str) -> tuple[SpikeDetector, IncidentTracker]:
        found = self._merchants.get(merchant_id)
        if found is None:
            merchant = self.state.merchant(merchant_id)
            found = (
                SpikeDetector(self.rule, merchant.spike),
                IncidentTracker(
                    merchant_id,
                    self.merchant_names.get(merchant_id, merchant_id),
                    min_growth=self.config.min_negative,
                    state=merchant.incident,
                ),
            )
            self._merchants[merchant_id] = found
        return found
