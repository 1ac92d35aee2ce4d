"""The seasonal profiles in a checkpoint: an unlearned one written compactly, every form read back to the same state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from services.detector.engine import DetectionEngine
from services.detector.synthetic import Segment, generate, review_event
from services.shared.config import DetectionConfig

CONFIG = DetectionConfig()
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def first_review_only() -> DetectionEngine:
    engine = DetectionEngine(CONFIG)
    engine.process(engine.score(review_event(merchant_id="m1", item_id="r1", created=T0, rating=1.0)))
    return engine


def test_an_unlearned_profile_is_written_as_integer_ones_and_read_back_as_floats() -> None:
    """A merchant seen once has learned no seasonality: its profiles are written as integer ones (half the bytes
    of `1.0`), and a restored engine holds float factors of exactly 1.0 and writes the same checkpoint again."""
    engine = first_review_only()
    written = engine.take_touched()["m1"]
    for spike in (written["spike"], *(scope["spike"] for scope in written["scopes"].values())):
        assert spike["daily"] == [1] * 24
        assert spike["weekly"] == [1] * 7
        assert all(type(factor) is int for factor in spike["daily"] + spike["weekly"])
    snapshot = orjson.loads(orjson.dumps(engine.snapshot()))
    restored = DetectionEngine.restore(CONFIG, snapshot)
    profile = restored.state.merchants["m1"].spike.daily + restored.state.merchants["m1"].spike.weekly
    assert all(type(factor) is float and factor == 1.0 for factor in profile)
    assert orjson.dumps(restored.snapshot()) == orjson.dumps(engine.snapshot())


def test_the_previous_form_of_an_unlearned_profile_still_loads() -> None:
    """A checkpoint written before (profiles as lists of `1.0`) restores to the same state and carries on the
    same: the same incidents and the same snapshot as an engine that never stopped."""
    engine = first_review_only()
    snapshot = orjson.loads(orjson.dumps(engine.snapshot()))
    merchant = snapshot["merchants"]["m1"]
    for spike in (merchant["spike"], *(scope["spike"] for scope in merchant["scopes"].values())):
        spike["daily"], spike["weekly"] = [1.0] * 24, [1.0] * 7
    restored = DetectionEngine.restore(CONFIG, snapshot)
    assert orjson.dumps(restored.snapshot()) == orjson.dumps(engine.snapshot())
    later = generate([Segment(T0 + timedelta(hours=1), 30.0, 12.0, 0.1)], merchant_id="m1", seed=4)
    assert restored.run(later) == engine.run(later)
    assert orjson.dumps(restored.snapshot()) == orjson.dumps(engine.snapshot())


def test_a_learned_profile_is_written_as_before() -> None:
    """Once the profile has learned, its factors are written as floats, exactly the values held in memory."""
    engine = DetectionEngine(CONFIG)
    engine.run(generate([Segment(T0, 30.0, 12.0, 0.1)], merchant_id="m1", seed=4))
    spike = engine.state.merchants["m1"].spike
    assert spike.daily != [1.0] * 24
    written = engine.take_touched()["m1"]["spike"]
    assert written["daily"] == spike.daily
    assert all(type(factor) is float for factor in written["daily"] + written["weekly"])
