"""The detector's Prometheus metrics, built on the injected registry (shared with other apps in `stormwatch run`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.shared import metrics

# Seconds to process one partition's batch (decode, store, detect, produce, checkpoint).
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
            "Incident events emitted, by incident kind and status (open, update, resolved).",
            ["kind", "status"],
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
