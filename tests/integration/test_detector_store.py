"""The detector's tables on real PostgreSQL: deduplicated review inserts, exact and fenced checkpoints."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from services.detector.engine import DetectionEngine
from services.detector.store import CheckpointConflict, insert_reviews, load_checkpoint, save_checkpoint
from services.detector.synthetic import bucketed
from services.shared.codec import encode_review
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


async def test_the_row_holds_the_events_own_fields_read_from_its_payload(db_pool: asyncpg.Pool) -> None:
    """PostgreSQL reads the columns from the payload as it arrived (json_to_record): unicode merchant ids,
    timestamps with offsets and an escaped NUL in the text land exactly as the event says; the payload stays JSON."""
    engine = DetectionEngine(DetectionConfig())
    base = next(iter(bucketed([(1, 0)], start=T0)))
    events = [
        replace(
            base, event_id="a" * 32, merchant_id="магазин-😀", item_id="r/1", created_at="2026-11-18T02:30:00+02:00"
        ),
        replace(base, event_id="b" * 32, platform="ebay", event_type="review.updated", text="bad\x00 parcel"),
    ]
    reviews = [engine.score(e) for e in events]
    payloads = [encode_review(e) for e in events]
    async with db_pool.acquire() as connection:
        assert await insert_reviews(connection, reviews, payloads) == {"a" * 32, "b" * 32}
    rows = {
        r["event_id"]: r
        for r in await db_pool.fetch(
            "SELECT event_id, merchant_id, platform, item_id, event_type, created_at, observed_at, payload, "
            "payload->>'text' AS text FROM reviews WHERE event_id = ANY($1::text[])",
            [e.event_id for e in events],
        )
    }
    for event in events:
        row = rows[event.event_id]
        assert (row["merchant_id"], row["platform"], row["item_id"], row["event_type"]) == (
            event.merchant_id,
            event.platform,
            event.item_id,
            event.event_type,
        )
        assert row["created_at"] == datetime.fromisoformat(event.created_at)
        assert row["observed_at"] == datetime.fromisoformat(event.observed_at)
    assert rows["a" * 32]["created_at"] == datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
    assert orjson.loads(rows["a" * 32]["payload"]) == orjson.loads(payloads[0])
    assert rows["b" * 32]["text"] == "bad parcel"


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


async def test_a_checkpoint_the_database_lost_is_a_conflict_not_a_fresh_start(db_pool: asyncpg.Pool) -> None:
    """The detector commits asynchronously, so a database crash can lose its first checkpoint of a partition.
    The next save continues from an offset the database never saw: it is refused (starting the row there would
    skip the lost batch's reviews) and the stored state stays empty; a save from offset 0 still starts the row,
    and a second member starting from 0 once the row exists is refused too."""
    state = DetectionEngine(DetectionConfig()).snapshot()
    async with db_pool.acquire() as connection:
        with pytest.raises(CheckpointConflict):
            await save_checkpoint(
                connection, group="g", topic="t", partition=1, previous_offset=300, next_offset=400, state=state
            )
        assert await load_checkpoint(connection, group="g", topic="t", partition=1) is None
        await save_checkpoint(
            connection, group="g", topic="t", partition=1, previous_offset=0, next_offset=300, state=state
        )
        with pytest.raises(CheckpointConflict):
            await save_checkpoint(
                connection, group="g", topic="t", partition=1, previous_offset=0, next_offset=100, state=state
            )
        loaded = await load_checkpoint(connection, group="g", topic="t", partition=1)
        assert loaded is not None and loaded.next_offset == 300


async def test_merchant_rows_complete_the_checkpoint_and_a_rewrite_replaces_them(db_pool: asyncpg.Pool) -> None:
    """A checkpoint stores the header in its row and upserts only the merchants it is given; loading merges them
    into the whole state. A rewrite drops merchant rows it does not repeat, and a state stored whole in the row
    (as before merchant rows) loads whole and is flagged so the next checkpoint rewrites it."""
    engine = DetectionEngine(DetectionConfig())
    engine.run(bucketed([(2, 8)] * 4, start=T0, merchant_id="m1"))
    engine.run(bucketed([(1, 5)] * 4, start=T0, merchant_id="m2"))
    header = engine.state.header()
    first = engine.take_touched()

    def encoded(states: dict[str, dict[str, object]]) -> dict[str, bytes]:
        return {key: orjson.dumps(value) for key, value in states.items()}

    async with db_pool.acquire() as connection:
        written = await save_checkpoint(
            connection, group="g", topic="t", partition=1, previous_offset=0, next_offset=8,
            state=header, merchants=encoded(first),
        )  # fmt: skip
        assert written == len(orjson.dumps(header)) + sum(len(v) for v in encoded(first).values())
        engine.run(bucketed([(3, 8)], start=T0 + timedelta(hours=2), merchant_id="m2"))
        second = engine.take_touched()
        assert set(second) == {"m2"}
        await save_checkpoint(
            connection, group="g", topic="t", partition=1, previous_offset=8, next_offset=9,
            state=header, merchants=encoded(second),
        )  # fmt: skip
        loaded = await load_checkpoint(connection, group="g", topic="t", partition=1)
        assert loaded is not None and not loaded.whole_in_row
        assert loaded.state == engine.snapshot()

        await save_checkpoint(
            connection, group="g", topic="t", partition=1, previous_offset=9, next_offset=10,
            state=header, merchants=encoded({"m2": second["m2"]}), replace_merchants=True,
        )  # fmt: skip
        loaded = await load_checkpoint(connection, group="g", topic="t", partition=1)
        assert loaded is not None and set(loaded.state["merchants"]) == {"m2"}

        whole = engine.snapshot()
        await save_checkpoint(
            connection, group="g", topic="t", partition=2, previous_offset=0, next_offset=5, state=whole
        )
        loaded = await load_checkpoint(connection, group="g", topic="t", partition=2)
        assert loaded is not None and loaded.whole_in_row and loaded.state == whole
