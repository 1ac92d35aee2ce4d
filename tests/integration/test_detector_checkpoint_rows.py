"""The detector checkpoints one row per merchant beside the offset row, and upgrades a state stored whole in the row."""

from __future__ import annotations

import asyncpg
import orjson

from services.shared import metrics
from services.shared.settings import Settings
from tests.integration.test_detector_app import (
    TopicReader,
    detector,
    eventually,
    expected_incidents,
    has_resolved,
    incidents_of,
    keyed,
    produce,
    storm_stream,
)


async def test_a_state_stored_whole_in_the_row_is_continued_and_moved_into_merchant_rows(
    test_settings: Settings, db_pool: asyncpg.Pool, kafka_bootstrap: str, unique: str
) -> None:
    """Stopped mid-storm with its checkpoints turned into the older layout (every merchant inside the checkpoint
    row, no merchant rows), the detector resumes from them with the same incidents as an uninterrupted run, and its
    next checkpoints move the merchants into merchant rows and leave only the header in the row."""
    events = storm_stream()
    reference = expected_incidents(events)
    opened_by = next(n for n in range(len(events)) if expected_incidents(events[: n + 1]))
    split = opened_by + 20
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events[:split]))

    async def checkpointed(offsets: int) -> bool:
        done: int = await db_pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM detector_checkpoints")
        return done == offsets

    async with TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader:
        async with detector(test_settings, metrics.new_registry()):
            await eventually(lambda: checkpointed(split), "the first half was checkpointed")
        merchants = await db_pool.fetch(
            "SELECT partition, merchant_id, state::text AS state FROM detector_merchant_state"
        )
        assert {row["merchant_id"] for row in merchants} == {e.merchant_id for e in events[:split]}
        for row in await db_pool.fetch("SELECT partition, state::text AS state FROM detector_checkpoints"):
            whole = orjson.loads(row["state"])
            assert whole["merchants"] == {}
            whole["merchants"] = {
                m["merchant_id"]: orjson.loads(m["state"]) for m in merchants if m["partition"] == row["partition"]
            }
            await db_pool.execute(
                "UPDATE detector_checkpoints SET state = $1::jsonb WHERE partition = $2",
                orjson.dumps(whole).decode(),
                row["partition"],
            )
        await db_pool.execute("DELETE FROM detector_merchant_state")

        await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events[split:]))
        async with detector(test_settings, metrics.new_registry()):
            values = await reader.read_until(has_resolved)
            await eventually(lambda: checkpointed(len(events)), "everything was checkpointed")

    assert incidents_of(values) == reference
    rows = await db_pool.fetch("SELECT state::text AS state FROM detector_checkpoints")
    assert all(orjson.loads(row["state"])["merchants"] == {} for row in rows)
    stored = {row["merchant_id"] for row in await db_pool.fetch("SELECT merchant_id FROM detector_merchant_state")}
    assert stored == {e.merchant_id for e in events}
