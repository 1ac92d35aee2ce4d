"""The shared Kafka and PostgreSQL building blocks work against the real broker and database."""

from __future__ import annotations

import asyncpg

from services.shared import db
from services.shared.kafka import BatchConsumer, ConsumerSettings, EventProducer, ProducerSettings
from services.shared.settings import Topics
from tests.conftest import TEST_SESSION_TIMEOUT_MS


async def test_produce_then_consume_with_manual_commit(kafka_bootstrap: str, topics: Topics, unique: str) -> None:
    """A batch acknowledged by the broker is consumed in full, and a committed offset is where a new member resumes."""
    producer = EventProducer(ProducerSettings(kafka_bootstrap))
    await producer.start()
    try:
        await producer.send_batch(topics.reviews, [(b"m1", b"a"), (b"m1", b"b"), (b"m1", b"c")])
    finally:
        await producer.stop()

    settings = ConsumerSettings(
        kafka_bootstrap,
        group_id=f"g{unique}",
        topics=(topics.reviews,),
        session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=1000,
        fetch_max_wait_ms=20,
    )
    consumer = BatchConsumer(settings)
    await consumer.start()
    seen: list[bytes] = []
    try:
        while len(seen) < 3:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                seen.extend(r.value for r in records)
                # Commit only the first record: the next member must resume at the second.
                await consumer.commit({tp: records[0].offset + 1})
                break
    finally:
        await consumer.stop()
    assert seen[:3] == [b"a", b"b", b"c"]

    again = BatchConsumer(settings)
    await again.start()
    try:
        resumed: list[bytes] = []
        while len(resumed) < 2:
            for records in (await again.getmany(timeout_ms=500)).values():
                resumed.extend(r.value for r in records)
    finally:
        await again.stop()
    assert resumed == [b"b", b"c"]


async def test_migrations_apply_once(db_pool: asyncpg.Pool) -> None:
    """Migrations are recorded, and applying them again changes nothing."""
    versions = await db_pool.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in versions] == [m.version for m in db.load_migrations()]
    assert await db.apply_migrations(db_pool) == []
    ok, _detail = await db.database_ready(db_pool)
    assert ok
