"""The detector reports the size of each assigned partition's state (what a rebalance moves) and the keys it tracks,
and counts incidents by kind, severity and status."""

from __future__ import annotations

import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.detector.app import DetectorApp
from services.shared import metrics
from services.shared.http import HttpServer
from services.shared.settings import Settings
from tests.integration.test_alerter_support import wait_until
from tests.integration.test_detector_app import (
    CONFIG,
    TopicReader,
    has_resolved,
    incidents_of,
    keyed,
    produce,
    sample,
    storm_stream,
)


async def gauges_match_checkpoints(pool: asyncpg.Pool, registry: CollectorRegistry, records: int) -> bool:
    """Whether every stored checkpoint has consumed the whole stream and its size is what the gauge says."""
    # One snapshot of both tables: a checkpoint committed between two separate reads would pair a partition's
    # merchant rows with a header list that does not have it yet.
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read", readonly=True):
        rows = await connection.fetch("SELECT partition, next_offset, state::text AS state FROM detector_checkpoints")
        # A partition's state is its checkpoint row (the header) and one row per merchant beside it.
        merchant_rows = await connection.fetch("SELECT partition, state::text AS state FROM detector_merchant_state")
    consumed = sum(row["next_offset"] for row in rows)  # offsets start at 0 in every partition
    stored = {row["partition"]: len(orjson.dumps(orjson.loads(row["state"]))) for row in rows}
    for row in merchant_rows:
        stored[row["partition"]] += len(orjson.dumps(orjson.loads(row["state"])))
    return consumed == records and all(
        sample(registry, "stormwatch_detector_state_bytes", {"partition": str(partition)}) == size
        for partition, size in stored.items()
    )


async def test_state_gauges_match_the_stored_checkpoint(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str, unique: str
) -> None:
    """After a storm, stormwatch_detector_state_bytes of each checkpointed partition is the byte size of the state
    stored in PostgreSQL, each merchant of the stream is one tracked merchant key, and every emitted incident state
    is counted under its own kind, severity and status."""
    events = storm_stream()
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events))
    app = DetectorApp(test_settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    async with TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader, app:
        values = await reader.read_until(has_resolved)
        # The last batches may still be in hand when the resolved state is read: wait for the final checkpoint.
        await wait_until(
            lambda: gauges_match_checkpoints(db_pool, registry, len(events)), "state gauges = stored checkpoints"
        )
        partitions = [str(r["partition"]) for r in await db_pool.fetch("SELECT partition FROM detector_checkpoints")]
        merchants = sum(
            sample(registry, "stormwatch_detector_tracked_keys", {"partition": p, "kind": "merchant"})
            for p in partitions
        )
        assert merchants == len({e.merchant_id for e in events})

    incidents = incidents_of(values)
    counted: dict[tuple[str, str, str], int] = {}
    for incident in incidents:
        key = (incident.kind, incident.severity, incident.status)
        counted[key] = counted.get(key, 0) + 1
    for (kind, severity, status), count in counted.items():
        labels = {"kind": kind, "severity": severity, "status": status}
        assert sample(registry, "stormwatch_incidents_total", labels) == count


async def test_a_replica_taking_over_reports_the_state_it_loaded(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str, unique: str
) -> None:
    """What moves on a rebalance is visible at once: a detector that takes over partitions with stored checkpoints
    (and no new records to process) reports each one's state size and tracked merchants as soon as it loads them."""
    events = storm_stream()
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events))
    first = DetectorApp(test_settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    async with TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader, first:
        await reader.read_until(has_resolved)
        await wait_until(lambda: gauges_match_checkpoints(db_pool, registry, len(events)), "all checkpointed")

    fresh = metrics.new_registry()
    second = DetectorApp(test_settings, CONFIG, registry=fresh, http=HttpServer(fresh, port=0), serve_http=False)
    async with second:
        await wait_until(lambda: gauges_match_checkpoints(db_pool, fresh, len(events)), "loaded state reported")
        partitions = [str(r["partition"]) for r in await db_pool.fetch("SELECT partition FROM detector_checkpoints")]
        merchants = sum(
            sample(fresh, "stormwatch_detector_tracked_keys", {"partition": p, "kind": "merchant"}) for p in partitions
        )
        assert merchants == len({e.merchant_id for e in events})
        assert (
            sample(fresh, "stormwatch_reviews_processed_total", {"platform": "trustpilot", "polarity": "negative"}) == 0
        )
