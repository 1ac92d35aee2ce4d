"""Every incident state the detector emits, of every kind, carries the created_at and observed_at of the review
that caused it (the two starts of the end-to-end latency histograms)."""

from __future__ import annotations

from services.detector.scenarios import SCENARIOS, evaluate
from services.shared.config import DetectionConfig


def test_every_incident_state_carries_its_reviews_created_and_observed_times() -> None:
    """Across all labelled scenarios (spikes, viral threads, rating drops), each incident state's
    (review_created_at, observed_at) is the pair of one review event of the scenario: the one that triggered it."""
    kinds: set[str] = set()
    for build in SCENARIOS:
        scenario = build()
        pairs = {(event.created_at, event.observed_at) for event in scenario.events}
        _result, incidents = evaluate(scenario, DetectionConfig(preset="balanced"))
        for incident in incidents:
            assert incident.review_created_at is not None, (scenario.name, incident.kind)
            assert (incident.review_created_at, incident.observed_at) in pairs, (scenario.name, incident.kind)
            kinds.add(incident.kind)
    assert {"negative_spike", "viral_thread"} <= kinds
