"""The pure detection entry point: review events in, incident events out, in event time, with checkpointable state.

The service feeds it from Kafka; a backtest can feed it from a file. Nothing here does I/O or reads a clock, so
the same events (in the same order) always give the same incident events, which is what makes replays after a
crash harmless: the alerter deduplicates on (incident_id, version).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.detector.deadlines import Recovery
from services.detector.merchant import MerchantDetector
from services.detector.negativity import Classifier, RatingClassifier
from services.detector.scoring import ScoredReview, score
from services.detector.spike import SpikeRule
from services.detector.state import PartitionState
from services.shared.config import Config, DetectionConfig
from services.shared.events import IncidentEvent, ReviewEvent


class DetectionEngine:
    """Classify, run every rule per merchant, manage incidents. One engine holds the state of one partition."""

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
        self._merchants: dict[str, MerchantDetector] = {}
        # Recoveries (reply, resolution, raised rating after a deadline timer) since the last drain: the service
        # counts them once the batch that caused them is committed.
        self._recoveries: list[tuple[str, Recovery]] = []
        # Merchants whose state changed since the last `take_touched`: what the next checkpoint must write.
        self._touched: set[str] = set()

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
        """Stages 2 and 3: the rules, then the incident lifecycle. Feed events in log (offset) order."""
        merchant_id = review.event.merchant_id
        self._touched.add(merchant_id)
        found = self._merchants.get(merchant_id)
        if found is None:
            found = self._detector(merchant_id)
        return found.process(review, self._recoveries)

    def take_touched(self) -> dict[str, dict[str, Any]]:
        """The state (JSON-able) of every merchant processed since the last call; a merchant's state only changes
        when one of its own events is processed, so these and the header are all a checkpoint must write."""
        merchants = self.state.merchants
        touched = {merchant_id: merchants[merchant_id].to_dict() for merchant_id in self._touched}
        self._touched = set()
        return touched

    def drain_recoveries(self) -> list[tuple[str, Recovery]]:
        """(platform, how) of every recovery since the last call."""
        drained, self._recoveries = self._recoveries, []
        return drained

    def run(self, events: Iterable[ReviewEvent]) -> list[IncidentEvent]:
        """Process a whole stream (a backtest, a test): every incident event, in order."""
        incidents: list[IncidentEvent] = []
        for event in events:
            incidents.extend(self.process(self.score(event)))
        return incidents

    def _detector(self, merchant_id: str) -> MerchantDetector:
        found = self._merchants.get(merchant_id)
        if found is None:
            found = MerchantDetector(
                merchant_id,
                self.merchant_names.get(merchant_id, merchant_id),
                self.config,
                self.rule,
                self.state.merchant(merchant_id),
            )
            self._merchants[merchant_id] = found
        return found


def engine_for(
    config: Config, snapshot: Mapping[str, Any] | None = None, classifier: Classifier | None = None
) -> DetectionEngine:
    """The engine the live service and the backtest both run: one place decides classifier and merchant names.

    With a snapshot the engine continues from it (raises StateMismatch when it cannot).
    """
    names = {merchant.id: merchant.name for merchant in config.merchants}
    if snapshot is None:
        return DetectionEngine(config.detection, classifier=classifier, merchant_names=names)
    return DetectionEngine.restore(config.detection, snapshot, classifier=classifier, merchant_names=names)
