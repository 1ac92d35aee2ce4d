"""Benchmark the live detector's latency at fixed input rates: review produced -> its batch committed.

A separate producer process sends review events at a fixed rate (every 10 ms a slice of the second's events,
each carrying its send time in `attributes.sent_at`) to a 4-partition topic on an embedded Tansu broker; a
DetectorApp (classification, PostgreSQL, checkpoints) consumes it. When a partition's batch is committed (reviews,
incident events acknowledged by Kafka, state and offsets in one transaction), every event of the batch gets its
latency = commit time - send time. An incident is produced inside that transaction, so this is also the bound on
review -> incident emitted. A rate is sustained when the detector has processed everything two seconds after the
producer stopped. Prints p50 / p99 / max per rate. Usage:
`.venv/bin/python -m bench.bench_detector_latency [--rates 1000 5000 8000] [--seconds 20] [--fetch-wait-ms 50]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from bench.bench_detector_live import MERCHANTS, make_events
from services.detector.app import DetectorApp
from services.shared import codec, db
from services.shared.config import parse_config
from services.shared.embedded import EmbeddedBroker, EmbeddedPostgres
from services.shared.events import deterministic_id
from services.shared.http import HttpServer
from services.shared.kafka import EventProducer, ProducerSettings, ensure_topics
from services.shared.logging import configure_logging
from services.shared.metrics import new_registry
from services.shared.runtime import tune_garbage_collector
from services.shared.settings import Secret, Settings, Topics

TICK_SECONDS = 0.01
SUSTAIN_GRACE_SECONDS = 2.0
WARM_RATE = 1000
WARM_SECONDS = 4


async def produce(bootstrap: str, topic: str, rate: int, seconds: float, tag: str) -> None:
    """The producer process: `rate` events/s for `seconds`, each stamped with its send time (wall clock)."""
    events = make_events(int(rate * seconds), seed=rate)
    producer = EventProducer(ProducerSettings(bootstrap, linger_ms=5))
    await producer.start()
    try:
        per_tick = max(1, round(rate * TICK_SECONDS))
        began = time.perf_counter()
        for tick, start in enumerate(range(0, len(events), per_tick)):
            delay = began + tick * TICK_SECONDS - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at = time.time()
            chunk = [
                replace(e, event_id=deterministic_id(tag, str(start + i)), attributes={"sent_at": sent_at})
                for i, e in enumerate(events[start : start + per_tick])
            ]
            await producer.send_batch(topic, [(e.merchant_id.encode(), codec.encode_review(e)) for e in chunk])
    finally:
        await producer.stop()


class LatencyProbe:
    """Wraps the app's per-partition step: when a batch is committed, each of its events' latency is recorded."""

    def __init__(self, app: DetectorApp) -> None:
        self.latencies: list[float] = []
        self.processed = 0
        inner = app._process_partition  # the bench measures the service's own step, unchanged

        async def measured(tp: Any, partition: Any, records: list[Any]) -> None:
            await inner(tp, partition, records)
            now = time.time()
            for record in records:
                self.latencies.append(now - orjson.loads(record.value)["attributes"]["sent_at"])
            self.processed += len(records)

        app._process_partition = measured  # type: ignore[method-assign]


async def one_rate(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres, rate: int, seconds: float, fetch_wait_ms: int
) -> tuple[list[float], bool]:
    topics = Topics(reviews=f"lat{rate}.reviews", incidents=f"lat{rate}.incidents", deadletter="lat.deadletter")
    await ensure_topics(broker.bootstrap_servers, {topics.reviews: 4, topics.incidents: 4, topics.deadletter: 1})
    schema = f"lat{rate}"
    pool = await db.create_pool(postgres.dsn, schema)
    await pool.close()
    settings = Settings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        database_url=Secret(postgres.dsn),
        database_schema=schema,
        topics=topics,
        consumer_session_timeout_ms=6000,
        fetch_max_wait_ms=fetch_wait_ms,
        consumer_group_prefix=f"lat{rate}",
    )
    registry = new_registry()
    config = parse_config({"merchants": [{"id": f"m{i}"} for i in range(MERCHANTS)]})
    app = DetectorApp(settings, config, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    probe = LatencyProbe(app)
    await app.start()
    try:
        # Warm-up: the group joins, the text model loads and meets most of the phrasebook's middle-rating texts
        # (the measured traffic reuses them: with texts never seen before, the model's ~25 ms per text adds up).
        await produce(broker.bootstrap_servers, topics.reviews, WARM_RATE, WARM_SECONDS, f"warm{rate}")
        await wait_until(lambda: probe.processed >= WARM_RATE * WARM_SECONDS)
        probe.latencies.clear()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bench_detector_latency",
            "--produce",
            broker.bootstrap_servers,
            topics.reviews,
            str(rate),
            str(seconds),
        )
        await child.wait()
        expected = int(rate * seconds)
        deadline = time.perf_counter() + SUSTAIN_GRACE_SECONDS
        await wait_until(lambda: len(probe.latencies) >= expected or time.perf_counter() > deadline)
        sustained = len(probe.latencies) >= expected
        await wait_until(lambda: len(probe.latencies) >= expected)  # finish anyway: every event's latency counts
        return probe.latencies, sustained
    finally:
        await app.stop()


async def wait_until(condition: Callable[[], bool]) -> None:
    while True:
        if condition():
            return
        await asyncio.sleep(0.05)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(rates: list[int], seconds: float, fetch_wait_ms: int) -> None:
    configure_logging("json", "warning")
    tune_garbage_collector()  # as the services do
    with tempfile.TemporaryDirectory() as folder:
        broker = EmbeddedBroker()
        await broker.start()
        postgres = EmbeddedPostgres(Path(folder) / "pgdata")
        await postgres.start()
        try:
            print(f"fetch_max_wait_ms {fetch_wait_ms}, {seconds:.0f} s per rate, 4 partitions, {MERCHANTS} merchants")
            for rate in rates:
                latencies, sustained = await one_rate(broker, postgres, rate, seconds, fetch_wait_ms)
                print(
                    f"rate {rate:6d}/s  events {len(latencies):7d}  p50 {statistics.median(latencies) * 1000:8.1f} ms"
                    f"  p99 {percentile(latencies, 0.99) * 1000:8.1f} ms  max {max(latencies) * 1000:8.1f} ms"
                    f"  {'sustained' if sustained else 'NOT sustained (fell behind)'}"
                )
        finally:
            await postgres.stop()
            await broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fetch-wait-ms", type=int, default=50)
    parser.add_argument("--produce", nargs=4, metavar=("BOOTSTRAP", "TOPIC", "RATE", "SECONDS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.produce:
        bootstrap, topic, rate, duration = arguments.produce
        asyncio.run(produce(bootstrap, topic, int(rate), float(duration), f"r{rate}"))
    else:
        asyncio.run(main(arguments.rates, arguments.seconds, arguments.fetch_wait_ms))
