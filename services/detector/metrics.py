"""The detector's Prometheus metrics, built on the injected registry (shared with other apps in `stormwatch run`)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry

from services.detector.state import PartitionState
from services.shared import metrics

# Seconds to process one partition's batch (decode, store, detect, produce, checkpoint).
TRACKED_KINDS = ("merchant", "scope", "thread", "timer")
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DetectorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reviews_processed = metrics.counter(
            registry,
            "stormwatch_reviews_processed_total",
            "Review events stored and run through detection (duplicates excluded), by platform and polarity.",
            ["platform", "polarity"],
        )
        self.incidents = metrics.counter(
            registry,
            "stormwatch_incidents_total",
            "Incident events emitted, by incident kind, severity and status (open, update, resolved).",
            ["kind", "severity", "status"],
        )
        self.recoveries = metrics.counter(
            registry,
            "stormwatch_recoveries_total",
            "Negative reviews whose response timer was closed by a merchant reply, a resolution or a raised rating.",
            ["platform", "how"],
        )
        self.duplicates = metrics.counter(
            registry,
            "stormwatch_detector_duplicates_total",
            "Review events dropped because an event with the same event_id was already stored.",
        )
        self.consumer_lag = metrics.gauge(
            registry,
            "stormwatch_consumer_lag",
            "Records between a consumer group's position and the end of a partition.",
            ["group", "topic", "partition"],
        )
        self.batch_seconds = metrics.histogram(
            registry,
            "stormwatch_detector_batch_seconds",
            "Time to process one partition's batch: decode, store, detect, produce incidents, checkpoint.",
            buckets=BATCH_BUCKETS,
        )
        self.state_bytes = metrics.gauge(
            registry,
            "stormwatch_detector_state_bytes",
            "Size of an assigned partition's detection state as last checkpointed (JSON bytes in PostgreSQL): what "
            "moves to another replica on a rebalance.",
            ["partition"],
        )
        self.tracked_keys = metrics.gauge(
            registry,
            "stormwatch_detector_tracked_keys",
            "Keys an assigned partition's detection state holds, by kind: merchant, scope (merchant x platform or "
            "category), thread (viral-thread candidates), timer (open response deadlines).",
            ["partition", "kind"],
        )

    def report_state(self, partition: int, state: PartitionState, state_bytes: int) -> None:
        """Set the state gauges of one partition after a checkpoint (or a load)."""
        label = str(partition)
        merchants = state.merchants.values()
        counts = {
            "merchant": len(state.merchants),
            "scope": sum(len(m.scopes) for m in merchants),
            "thread": sum(len(m.threads.threads) for m in merchants),
            "timer": sum(len(m.deadlines.timers) for m in merchants),
        }
        self.state_bytes.labels(label).set(state_bytes)
        for kind, count in counts.items():
            self.tracked_keys.labels(label, kind).set(count)

    def forget_state(self, partition: int) -> None:
        """Drop a revoked partition's state gauges: another replica reports it now."""
        label = str(partition)
        with contextlib.suppress(KeyError):
            self.state_bytes.remove(label)
        for kind in TRACKED_KINDS:
            with contextlib.suppress(KeyError):
                self.tracked_keys.remove(label, kind)
