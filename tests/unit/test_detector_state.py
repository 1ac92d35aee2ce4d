"""Checkpointable detector state: an exact JSON round trip, and a restored engine continues like the original."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.detector.engine import DetectionEngine
from services.detector.state import StateMismatch
from services.detector.synthetic import Segment, bucketed, generate
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent, ReviewEvent

T0 = datetime(2026, 11, 18, tzinfo=UTC)
CONFIG = DetectionConfig()


def mixed_stream() -> list[ReviewEvent]:
    """Two merchants interleaved in event time: m1 has a storm, m2 is steady and random."""
    storm = bucketed([(2, 8)] * 16 + [(60, 8)] + [(2, 8)] * 6, start=T0)
    steady = generate([Segment(T0, 6.0, 30.0, 0.1)], merchant_id="m2", seed=7)
    return sorted([*storm, *steady], key=lambda e: e.created_at)


STREAM = mixed_stream()
UNINTERRUPTED = DetectionEngine(CONFIG).run(STREAM)


def run_with_restart(split: int, roundtrip: str) -> list[IncidentEvent]:
    first = DetectionEngine(CONFIG)
    incidents = first.run(STREAM[:split])
    snapshot = first.snapshot()
    restored_data = json.loads(json.dumps(snapshot)) if roundtrip == "json" else orjson.loads(orjson.dumps(snapshot))
    second = DetectionEngine.restore(CONFIG, restored_data)
    return incidents + second.run(STREAM[split:])


def test_stream_has_a_full_incident() -> None:
    """The fixture stream opens, updates and resolves an incident (so the restart tests below mean something)."""
    assert UNINTERRUPTED[0].status == "open"
    assert UNINTERRUPTED[-1].status == "resolved"


def test_snapshot_round_trips_exactly_mid_storm() -> None:
    """Mid-storm (an incident open, a bucket half full) the snapshot survives JSON unchanged, floats included."""
    engine = DetectionEngine(CONFIG)
    opened_at = next(n for n in range(len(STREAM)) if engine.process(engine.score(STREAM[n])))
    engine.run(STREAM[opened_at + 1 : opened_at + 10])
    snapshot = engine.snapshot()
    assert snapshot["merchants"]["m1"]["spike"]["episode"] is not None
    assert snapshot["merchants"]["m1"]["incident"]["incident_id"] is not None
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert orjson.loads(orjson.dumps(snapshot)) == snapshot
    assert DetectionEngine.restore(CONFIG, snapshot).snapshot() == snapshot


@settings(max_examples=40, deadline=None)
@given(split=st.integers(min_value=0, max_value=len(STREAM)), roundtrip=st.sampled_from(["json", "orjson"]))
def test_restart_anywhere_gives_the_same_incidents(split: int, roundtrip: str) -> None:
    """Stopping after any event and continuing from the serialised state emits exactly the uninterrupted events."""
    assert run_with_restart(split, roundtrip) == UNINTERRUPTED


def test_state_does_not_grow_with_history() -> None:
    """Memory is bounded: a week of history takes no more state than a day."""
    day = DetectionEngine(CONFIG)
    day.run(generate([Segment(T0, 24.0, 24.0, 0.1)], seed=3))
    week = DetectionEngine(CONFIG)
    week.run(generate([Segment(T0, 24.0 * 7, 24.0, 0.1)], seed=3))
    assert len(orjson.dumps(week.snapshot())) <= len(orjson.dumps(day.snapshot())) + 200


def test_incompatible_snapshot_is_rejected() -> None:
    """A snapshot taken with another bucket size or format cannot be continued from."""
    snapshot = DetectionEngine(CONFIG).snapshot()
    with pytest.raises(StateMismatch, match="bucket_seconds"):
        DetectionEngine.restore(DetectionConfig(bucket_seconds=600), snapshot)
    with pytest.raises(StateMismatch, match="format"):
        DetectionEngine.restore(CONFIG, {**snapshot, "format": 99})


def test_touched_merchants_are_those_processed_since_the_last_checkpoint() -> None:
    """`take_touched` hands out the state of exactly the merchants processed since the previous call (what a
    checkpoint writes), and header plus those states, merged over the last checkpoint, is the whole snapshot."""
    engine = DetectionEngine(CONFIG)
    events = STREAM
    half = len(events) // 2
    engine.run(events[:half])
    first = engine.take_touched()
    assert set(first) == {e.merchant_id for e in events[:half]}
    assert engine.take_touched() == {}
    only_m2 = [e for e in events[half:] if e.merchant_id == "m2"]
    engine.run(only_m2)
    second = engine.take_touched()
    assert set(second) == {"m2"}
    merged = {**engine.state.header(), "merchants": {**first, **second}}
    assert merged == engine.snapshot()
