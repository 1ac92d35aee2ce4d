"""The detector's tables on real PostgreSQL: deduplicated review inserts, exact and fenced checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from services.detector.engine import DetectionEngine
from services.detector.store import CheckpointConflict, insert_reviews, load_checkpoint, save_checkpoint
from services.detector.synthetic import bucketed
from services.shared.config import DetectionConfig

T0 = datetime(2026, 11, 18, tzinfo=UTC)


async def test_insert_returns_only_new_event_ids(db_pool: asyncpg.Pool) -> None:
    """A batch insert reports which events were new; stored ones (a re-poll, a replay) are dropped silently."""
    engine = DetectionEngine(DetectionConfig())
    reviews = [engine.score(e) for e in bucketed([(2, 3)], start=T0)]
    async with db_pool.acquire() as connection:
        first = await insert_reviews(connection, reviews[:3])
        second = await insert_reviews(connection, reviews)
    assert first == {r.event.event_id for r in reviews[:3]}
    assert second == {r.event.event_id for r in reviews[3:]}
    negative = next(r for r in reviews if r.classification.negative)
    row = await db_pool.fetchrow(
        "SELECT negative, polarity, negativity, rating FROM reviews WHERE event_id = $1", negative.event.event_id
    )
    assert row is not None
    assert dict(row) == {"negative": True, "polarity": "negative", "negativity": 1.0, "rating": 1.0}


async def test_checkpoint_round_trips_exactly_and_is_fenced(db_pool: asyncpg.Pool) -> None:
    """State survives jsonb exactly (awkward floats included); a writer that did not continue from the stored
    offset is refused, so a member that lost its partition cannot overwrite the new owner's progress."""
    engine = DetectionEngine(DetectionConfig())
    engine.run(bucketed([(2, 8)] * 20, start=T0))
    state = engine.snapshot()
    state["merchants"]["m1"]["spike"]["neg_sum"] = 1e-300
    state["merchants"]["m1"]["spike"]["share_total"] = 1e20
    state["merchants"]["m1"]["spike"]["threshold"] = 0.1 + 0.2
    async with db_pool.acquire() as connection:
        assert await load_checkpoint(connection, group="g", topic="t", partition=0) is None
        await save_checkpoint(
            connection, group="g", topic="t", partition=0, previous_offset=0, next_offset=200, state=state
        )
        loaded = await load_checkpoint(connection, group="g", topic="t", partition=0)
        assert loaded is not None and loaded.next_offset == 200
        assert DetectionEngine.restore(DetectionConfig(), loaded.state).snapshot() == state

        await save_checkpoint(
            connection, group="g", topic="t", partition=0, previous_offset=200, next_offset=250, state=state
        )
        with pytest.raises(CheckpointConflict):
            await save_checkpoint(
                connection, group="g", topic="t", partition=0, previous_offset=200, next_offset=260, state=state
            )
        loaded = await load_checkpoint(connection, group="g", topic="t", partition=0)
        assert loaded is not None and loaded.next_offset == 250
