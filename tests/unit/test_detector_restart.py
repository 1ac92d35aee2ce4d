"""Crash at random points: the detector restored from its last checkpoint, replaying the events since, emits the
same incident events as an uninterrupted run (repeats are identical, so the alerter's (id, version) dedup holds)."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import orjson
import pytest

from services.detector.engine import DetectionEngine
from services.detector.scenarios import ScenarioClassifier, logistics_spike, thread_turns_positive
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent, MerchantReply, ReviewEvent
from services.shared.timeutil import format_rfc3339, parse_rfc3339

CONFIG = DetectionConfig(response_deadline_hours={"*": 2.0}, resolution_window_hours={"*/amazon": 72.0})


def _with_replies(events: list[ReviewEvent]) -> list[ReviewEvent]:
    """Every other one-star review gets a merchant reply 1 to 5 hours later (a review.updated event)."""
    rng = random.Random(5)
    out = list(events)
    for index, event in enumerate(events):
        if event.rating == 1.0 and index % 2 == 0:
            at = format_rfc3339(parse_rfc3339(event.created_at) + timedelta(hours=rng.uniform(1, 5)))
            out.append(
                dataclasses.replace(
                    event,
                    event_id=f"{index:032x}",
                    event_type="review.updated",
                    observed_at=at,
                    merchant_reply=MerchantReply("We are sorry.", at),
                )
            )
    return sorted(out, key=lambda e: (e.observed_at, e.event_id))


STREAM = sorted(
    [*_with_replies(logistics_spike().events), *thread_turns_positive().events],
    key=lambda e: (e.observed_at, e.event_id),
)


def _engine(snapshot: dict[str, object] | None = None) -> DetectionEngine:
    if snapshot is None:
        return DetectionEngine(CONFIG, classifier=ScenarioClassifier())
    return DetectionEngine.restore(CONFIG, snapshot, classifier=ScenarioClassifier())


UNINTERRUPTED = _engine().run(STREAM)


def test_stream_exercises_every_rule() -> None:
    """The long stream opens spikes or drops, a viral thread and SLA breaches: the restarts below mean something."""
    kinds = {i.kind for i in UNINTERRUPTED if i.status == "open"}
    assert {"viral_thread", "sla_breach"} <= kinds
    assert kinds & {"negative_spike", "rating_drop"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crashes_at_random_points_change_no_incident(seed: int) -> None:
    """Checkpoints at random intervals, crashes (in-memory state discarded) at random points: after deduplicating
    on (incident_id, version) the incident events equal the uninterrupted run's, and every repeat is identical."""
    rng = random.Random(seed)
    crashes = set(rng.sample(range(len(STREAM)), 12))
    emitted: list[IncidentEvent] = []
    engine = _engine()
    checkpoint = (0, orjson.loads(orjson.dumps(engine.snapshot())))
    position = 0
    while position < len(STREAM):
        if position in crashes:
            crashes.discard(position)
            position, state = checkpoint
            engine = _engine(orjson.loads(orjson.dumps(state)))
            continue
        emitted.extend(engine.process(engine.score(STREAM[position])))
        position += 1
        if rng.random() < 1 / 200:
            checkpoint = (position, engine.snapshot())
    first: dict[tuple[str, int], IncidentEvent] = {}
    for incident in emitted:
        key = (incident.incident_id, incident.version)
        assert first.setdefault(key, incident) == incident
    assert list(first.values()) == UNINTERRUPTED
    assert len(emitted) >= len(UNINTERRUPTED)
