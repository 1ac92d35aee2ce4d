"""The detector's state gauges: per partition, the checkpoint size and the keys held by kind; forgotten on revoke."""

from __future__ import annotations

from services.detector.metrics import TRACKED_KINDS, DetectorMetrics
from services.detector.state import PartitionState, ScopeState
from services.shared import metrics


def test_report_counts_keys_by_kind_and_forget_removes_every_series() -> None:
    """Two merchants with three narrower scopes give merchant=2, scope=3 (no threads, no timers) and the reported
    byte size; after forget_state the revoked partition has no series left, another partition keeps its own."""
    registry = metrics.new_registry()
    detector = DetectorMetrics(registry)
    state = PartitionState(bucket_seconds=900)
    state.merchant("m1").scopes.update({"platform:trustpilot": ScopeState(), "category:logistics": ScopeState()})
    state.merchant("m2").scopes["platform:etsy"] = ScopeState()
    detector.report_state(3, state, 1234)
    detector.report_state(4, PartitionState(bucket_seconds=900), 56)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("stormwatch_detector_state_bytes", partition="3") == 1234
    counts = {kind: value("stormwatch_detector_tracked_keys", partition="3", kind=kind) for kind in TRACKED_KINDS}
    assert counts == {"merchant": 2, "scope": 3, "thread": 0, "timer": 0}

    detector.forget_state(3)
    detector.forget_state(3)  # a second revoke of the same partition is harmless
    assert value("stormwatch_detector_state_bytes", partition="3") is None
    assert all(value("stormwatch_detector_tracked_keys", partition="3", kind=k) is None for k in TRACKED_KINDS)
    assert value("stormwatch_detector_state_bytes", partition="4") == 56
