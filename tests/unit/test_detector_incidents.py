"""Incident events from the spike rule: deterministic ids, content responders need, updates only on real change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.detector.engine import DetectionEngine
from services.detector.incidents import IncidentState, IncidentTracker, severity_of
from services.detector.playbook import CATEGORY_STEPS, GENERAL_STEPS, playbook_for
from services.detector.spike import SpikeSignal
from services.detector.synthetic import bucketed, review_event
from services.shared import codec
from services.shared.config import DetectionConfig
from services.shared.events import ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

T0 = datetime(2026, 11, 18, tzinfo=UTC)
STORM_START = T0 + timedelta(seconds=16 * 900)


def storm_stream() -> list[ReviewEvent]:
    return bucketed([(2, 8)] * 16 + [(60, 8)] + [(2, 8)] * 6, start=T0)


def test_same_events_give_the_same_incident_events() -> None:
    """Detection is deterministic: two engines fed the same events emit identical incident events, byte for byte."""
    first = DetectionEngine(DetectionConfig()).run(storm_stream())
    second = DetectionEngine(DetectionConfig()).run(storm_stream())
    assert first
    assert [codec.encode_incident(i) for i in first] == [codec.encode_incident(i) for i in second]


def test_incident_id_is_derived_from_merchant_kind_scope_and_start() -> None:
    """incident_id = deterministic_id(merchant, kind, scope, start of the spike bucket)."""
    opened = DetectionEngine(DetectionConfig()).run(storm_stream())[0]
    started_at = format_rfc3339(STORM_START)
    assert opened.started_at == started_at
    assert opened.incident_id == deterministic_id("m1", "negative_spike", "merchant", started_at)


def test_every_incident_event_is_schema_valid_and_complete() -> None:
    """Each version validates against incident-event.v1 and carries evidence, samples, languages and the playbook."""
    events = storm_stream()
    observed_at = {e.created_at: e.observed_at for e in events}
    incidents = DetectionEngine(DetectionConfig(), merchant_names={"m1": "Demo Shop"}).run(events)
    for incident in incidents:
        assert codec.decode_incident(codec.encode_incident(incident)) == incident
        assert incident.kind == "negative_spike"
        assert incident.merchant_id == "m1"
        assert "Demo Shop" in incident.title
        assert incident.playbook == GENERAL_STEPS
        assert incident.evidence.window_seconds >= 60
        assert incident.evidence.observed > incident.evidence.expected
        assert incident.evidence.languages == {"en": int(incident.evidence.observed)}
        samples = incident.evidence.sample_items
        assert 1 <= len(samples) <= 5
        assert all(s.rating == 1.0 and s.url and s.text and s.language == "en" for s in samples)
    opened = incidents[0]
    # The open version is caused by the review that pushed the count over the bound.
    assert opened.observed_at == observed_at[opened.detected_at]
    assert opened.evidence.sample_items[0].item_id.startswith("m1-b16-")
    assert incidents[-1].resolved_at is not None
    assert all(i.resolved_at is None for i in incidents[:-1])


def test_severity_grows_with_size_and_ratio() -> None:
    """6 against 1 is a warning, 20 against 2 high, 60 against 2 critical; 140 against 100 is only a warning."""
    assert severity_of(6, 1.0) == "warning"
    assert severity_of(20, 2.0) == "high"
    assert severity_of(60, 2.0) == "critical"
    assert severity_of(140, 100.0) == "warning"
    assert severity_of(800, 200.0) == "critical"


def _signal(phase: str, observed: int, expected: float = 1.0) -> SpikeSignal:
    return SpikeSignal(
        phase=phase,  # type: ignore[arg-type]
        started_at=int(STORM_START.timestamp()),
        at=STORM_START.timestamp() + 300,
        observed=observed,
        expected=expected,
        total=observed + 5,
        threshold=5.0,
        languages={"en": observed},
    )


def test_updates_only_when_a_responder_would_care() -> None:
    """After the open: no update for +2 reviews, an update at +50 % (and at least min_negative more), an update
    whenever the severity rises; severity never falls within an incident."""
    review = DetectionEngine(DetectionConfig()).score(
        review_event(merchant_id="m1", item_id="x", created=STORM_START, rating=1.0)
    )
    tracker = IncidentTracker("m1", "m1", min_growth=5, state=IncidentState())
    opened = tracker.on_signal(_signal("open", 6), review)
    assert opened is not None and opened.version == 1 and opened.severity == "warning"
    assert tracker.on_signal(_signal("progress", 8), review) is None
    grown = tracker.on_signal(_signal("progress", 11), review)
    assert grown is not None and (grown.status, grown.version) == ("update", 2)
    assert tracker.on_signal(_signal("progress", 12), review) is None
    escalated = tracker.on_signal(_signal("progress", 16), review)  # 16 against 1: high
    assert escalated is not None and escalated.severity == "high"
    assert tracker.on_signal(_signal("progress", 17, expected=10.0), review) is None  # would be a warning now
    resolved = tracker.on_signal(_signal("resolve", 17, expected=10.0), review)
    assert resolved is not None and (resolved.status, resolved.version, resolved.severity) == ("resolved", 4, "high")
    assert tracker.on_signal(_signal("progress", 40), review) is None  # nothing open any more


def test_playbook_per_category() -> None:
    """Every playbook starts with the general steps; known categories add their own."""
    assert playbook_for(None) == GENERAL_STEPS
    assert playbook_for("logistics") == GENERAL_STEPS + CATEGORY_STEPS["logistics"]
    assert playbook_for("price") == GENERAL_STEPS
