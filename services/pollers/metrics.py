"""The pollers' Prometheus metrics, built once on the injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.shared import metrics

# A poll is one or a few HTTP calls, or a long backfill; buckets from 10 ms to 5 minutes.
POLL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True)
class PollerMetrics:
    published: Counter
    polls: Counter
    items: Counter
    errors: Counter
    duration: Histogram
    last_success: Gauge
    rate_limit_waits: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> PollerMetrics:
        return cls(
            published=metrics.counter(
                registry,
                "stormwatch_reviews_published_total",
                "Review events published to Kafka and acknowledged, by platform.",
                ["platform"],
            ),
            polls=metrics.counter(
                registry,
                "stormwatch_polls_total",
                "Polls of a source, by platform and outcome.",
                ["platform", "outcome"],
            ),
            items=metrics.counter(
                registry,
                "stormwatch_poll_items_total",
                "Items read from platforms, by platform and outcome (published, dead_lettered, unchanged).",
                ["platform", "outcome"],
            ),
            errors=metrics.counter(
                registry,
                "stormwatch_poll_errors_total",
                "Failed platform calls and failed polls, by platform and reason (every failed attempt counts once).",
                ["platform", "reason"],
            ),
            duration=metrics.histogram(
                registry,
                "stormwatch_poll_duration_seconds",
                "Duration of one poll of a source, by platform.",
                ["platform"],
                buckets=POLL_BUCKETS,
            ),
            last_success=metrics.gauge(
                registry,
                "stormwatch_source_last_success_timestamp_seconds",
                "Unix time of the last successful poll, by platform and configured source.",
                ["platform", "source"],
            ),
            rate_limit_waits=metrics.counter(
                registry,
                "stormwatch_rate_limit_waits_total",
                "Times a poller waited for a rate limit (its own token bucket or a platform's 429), by platform.",
                ["platform"],
            ),
        )
