"""The alerter observes the end-to-end latency histograms at delivery: review created on the platform -> delivered
and review observed by a poller -> delivered, per receiver type, from the timestamps the incident state carries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from services.shared.settings import Settings
from services.shared.timeutil import format_rfc3339
from tests.integration.test_alerter_support import (
    alerter_config,
    make_incident,
    metric,
    produce_incidents,
    running_alerter,
    wait_until,
)

CREATED = "stormwatch_review_created_to_delivered_seconds"
OBSERVED = "stormwatch_review_observed_to_delivered_seconds"


async def test_delivery_observes_both_end_to_end_latencies_per_notifier(
    test_settings: Settings, registry: CollectorRegistry, tmp_path: Path
) -> None:
    """A state whose review was created 10 minutes ago and observed 2 minutes ago is delivered by the file receiver:
    each histogram gets one observation labelled notifier="file", at least as large as the age of its timestamp
    (so above the 300 s bucket for created and above the 60 s bucket for observed)."""
    now = datetime.now(UTC)
    incident = dataclasses.replace(
        make_incident("e2e-latency", 1, "open"),
        review_created_at=format_rfc3339(now - timedelta(minutes=10)),
        observed_at=format_rfc3339(now - timedelta(minutes=2)),
    )
    config = alerter_config([{"name": "archive", "type": "file", "path": str(tmp_path / "n.jsonl")}])
    async with running_alerter(test_settings, config, registry):
        await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [incident])
        await wait_until(lambda: metric(registry, f"{CREATED}_count", notifier="file") >= 1, "the delivery")

    assert metric(registry, f"{CREATED}_count", notifier="file") == 1
    assert metric(registry, f"{CREATED}_sum", notifier="file") >= 600
    assert metric(registry, f"{CREATED}_bucket", notifier="file", le="300.0") == 0
    assert metric(registry, f"{OBSERVED}_count", notifier="file") == 1
    assert metric(registry, f"{OBSERVED}_sum", notifier="file") >= 120
    assert metric(registry, f"{OBSERVED}_bucket", notifier="file", le="60.0") == 0


async def test_a_state_without_review_created_at_feeds_only_the_observed_latency(
    test_settings: Settings, registry: CollectorRegistry, tmp_path: Path
) -> None:
    """A state from a producer that predates review_created_at (the field is optional) is delivered normally and
    observed in the observed-to-delivered histogram only."""
    incident = make_incident("e2e-no-created", 1, "open")
    assert incident.review_created_at is None
    config = alerter_config([{"name": "archive", "type": "file", "path": str(tmp_path / "n.jsonl")}])
    async with running_alerter(test_settings, config, registry):
        await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [incident])
        await wait_until(lambda: metric(registry, f"{OBSERVED}_count", notifier="file") >= 1, "the delivery")
        await wait_until(
            lambda: metric(registry, "stormwatch_notifications_total", notifier="file", outcome="delivered") >= 1,
            "the delivery is counted",
        )

    assert metric(registry, f"{CREATED}_count", notifier="file") == 0
    assert metric(registry, f"{OBSERVED}_count", notifier="file") == 1
