"""A detector never moves a checkpoint across records it did not process: when the records it is handed begin past
its checkpoint, it reads again from the checkpoint; only when they still begin past it after that (offsets that
really skip) does it go on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.detector.app import DetectorApp
from services.detector.synthetic import bucketed
from services.shared import codec, metrics
from services.shared.http import HttpServer
from services.shared.settings import Settings
from tests.integration.test_detector_app import CONFIG, eventually, keyed, produce

T0 = datetime(2026, 11, 18, tzinfo=UTC)


@dataclass(frozen=True)
class _Record:
    offset: int
    value: bytes


async def test_records_that_begin_past_the_checkpoint_are_read_again_from_it(
    test_settings: Settings, db_pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    events = bucketed([(0, 30)], start=T0)  # one merchant: one partition, offsets 0..29
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events))
    later = bucketed([(0, 5)], start=T0 + timedelta(days=1), merchant_id="m2")  # what a consumer read ahead
    registry = metrics.new_registry()
    app = DetectorApp(test_settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    async with app:

        async def checkpointed() -> bool:
            total: int = await db_pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM detector_checkpoints")
            return total == len(events)

        await eventually(checkpointed, "the first 30 events were checkpointed")
        tp = next(tp for tp, partition in app._partitions.items() if partition.next_offset == len(events))
        consumer = app._consumer
        assert consumer is not None
        ahead = {tp: [_Record(35 + i, codec.encode_review(e)) for i, e in enumerate(later)]}  # 30..34 never seen

        # First time: not processed, the consumer reads again from the checkpoint, which stays where it was.
        assert await app._process(ahead) == {}
        assert await consumer._consumer.position(tp) == len(events)
        stored = "SELECT count(*) FROM reviews"
        assert await db_pool.fetchval(stored) == len(events)
        assert (
            await db_pool.fetchval("SELECT next_offset FROM detector_checkpoints WHERE partition = $1", tp.partition)
            == 30
        )

        # Read again from the checkpoint and still past it: the offsets really skip there, so it goes on.
        assert await app._process(ahead) == {tp: 40}
        assert await db_pool.fetchval(stored) == len(events) + len(later)
