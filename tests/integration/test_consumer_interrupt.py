"""A stop does not wait out the consumer's poll: `BatchConsumer.interrupt()` ends a waiting `getmany` at once.

aiokafka's getmany ignores its timeout while the group is joining (on Tansu about half the session timeout), so
before `interrupt()` an alerter stopped soon after it started held its stop until the join had finished.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from services.shared.kafka import BatchConsumer, ConsumerSettings
from services.shared.settings import Settings, Topics
from tests.conftest import TEST_SESSION_TIMEOUT_MS
from tests.integration.test_alerter_support import alerter_config, running_alerter


def _consumer(bootstrap: str, topic: str, group: str) -> BatchConsumer:
    return BatchConsumer(
        ConsumerSettings(
            bootstrap,
            group_id=group,
            topics=(topic,),
            session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=TEST_SESSION_TIMEOUT_MS // 3,
            fetch_max_wait_ms=20,
        )
    )


async def test_interrupt_ends_a_poll_that_waits_for_the_group_join(
    kafka_bootstrap: str, topics: Topics, unique: str
) -> None:
    """A getmany waiting for the first assignment returns nothing when interrupted, before the join completes;
    later calls return nothing at once."""
    consumer = _consumer(kafka_bootstrap, topics.incidents, f"interrupt-join-{unique}")
    await consumer.start()
    try:
        poll = asyncio.ensure_future(consumer.getmany(timeout_ms=120_000))
        await asyncio.sleep(0.2)  # let the poll reach aiokafka's wait for the assignment
        assert not poll.done()
        consumer.interrupt()
        assert await poll == {}
        assert consumer.assignment() == set(), "the poll returned only after the join: interrupt did not cut it"
        assert await consumer.getmany(timeout_ms=120_000) == {}
    finally:
        await consumer.stop()


async def test_alerter_stop_ends_the_intake_without_waiting_for_the_group_join(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """Stopping an alerter whose consumer is still joining its group ends the intake loop through its stop flag
    (not by cancellation at the shutdown timeout) while the consumer has no assignment yet."""
    config = alerter_config([{"name": "console", "type": "log"}])
    async with running_alerter(test_settings, config, registry) as running:
        app = running.app
        consumer, intake = app._consumer, app._intake_task
        assert consumer is not None and intake is not None
        assert consumer.assignment() == set()  # still joining: the intake's poll is waiting for the join
        await app._before_stop()
        assert intake.done() and not intake.cancelled() and intake.exception() is None
        assert consumer.assignment() == set(), "the intake ended only after the join"
