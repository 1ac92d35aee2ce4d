"""Benchmark the live detector (Kafka + PostgreSQL + classification + checkpointing) against the consume floor.

Produces N review events (many merchants, ratings 1-5, texts in 11 languages; 3-star ones need the text model)
to a 4-partition topic on an embedded Tansu broker, then measures, alternating, (a) the floor: a bare aiokafka
consumer that only decodes, and (b) a DetectorApp processing the same topic from the start, until every event
was counted in stormwatch_reviews_processed_total. Every rate is the sustained one: events between the moments
20 % and 90 % of them were done, over that time. Reports events/s, the ratio to the floor and the share of
events that needed the text model; with `--bytewax`, the same run also times a minimal windowed count in Bytewax
on the same topic (bench/stream_processors.py). `--partitions` and `--replicas` (detector apps in one consumer
group, in this process; with `--processes`, as separate `services.cli detector` processes, each with its own
interpreter and core) give the scaling figures. The in-process detectors share one text classifier whose cache already
holds every distinct text (the steady state of a stream whose texts repeat); `--cold` gives each its own, empty
one, so the run also pays for loading the model and embedding each text once. Usage:
`.venv/bin/python -m bench.bench_detector_live [--events 100000] [--runs 3] [--bytewax] [--partitions 4]
[--replicas 1] [--cold] [--processes]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import orjson
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bench.stream_processors import bytewax_windowed_count
from services.detector.app import DetectorApp
from services.detector.text_classifier import TextAwareClassifier
from services.shared import codec, db
from services.shared.config import parse_config
from services.shared.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.shared.events import RatingScale, ReviewEvent, deterministic_id
from services.shared.http import HttpServer
from services.shared.kafka import BatchConsumer, ConsumerSettings, EventProducer, ProducerSettings, ensure_topics
from services.shared.logging import configure_logging
from services.shared.metrics import new_registry
from services.shared.runtime import tune_garbage_collector
from services.shared.settings import Secret, Settings, Topics
from services.simulator.texts import PHRASEBOOKS, compose

MERCHANTS = 200


def make_events(count: int, seed: int = 3, merchants: int = MERCHANTS) -> list[ReviewEvent]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    languages = list(PHRASEBOOKS)
    events = []
    for i in range(count):
        merchant = f"m{i % merchants}"
        stars = rng.choices([1, 2, 3, 4, 5], [8, 4, 8, 25, 55])[0]
        language = rng.choice(languages)
        category = rng.choice(["logistics", "quality", "service"]) if stars <= 2 else None
        text = compose(rng, language, stars, category)
        created = start + timedelta(seconds=i * 7)
        events.append(
            ReviewEvent(
                event_id=deterministic_id("bench", str(i)),
                event_type="review.created",
                merchant_id=merchant,
                platform="trustpilot",
                source_id=f"{merchant}/trustpilot",
                item_id=f"r{i}",
                kind="review",
                created_at=created.isoformat().replace("+00:00", "Z"),
                observed_at=(created + timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
                rating=stars,
                rating_scale=RatingScale(1, 5),
                title=text.title,
                text=text.text,
                language=language,
            )
        )
    return events


async def floor(bootstrap: str, topic: str, count: int, group: str) -> float:
    consumer = BatchConsumer(ConsumerSettings(bootstrap, group_id=group, topics=(topic,), fetch_max_wait_ms=10))
    await consumer.start()
    seen = 0
    samples: list[tuple[float, float]] = []
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                seen += len(records)
            samples.append((time.perf_counter(), seen))
    finally:
        await consumer.stop()
    return sustained_rate(samples, count)


def _total(registries: list[CollectorRegistry], name: str, label: tuple[str, str] | None = None) -> float:
    return sum(
        sample.value
        for registry in registries
        for metric in registry.collect()
        if metric.name == name
        for sample in metric.samples
        if sample.name.endswith("_total") and (label is None or sample.labels.get(label[0]) == label[1])
    )


async def detector(
    settings: Settings,
    count: int,
    group: str,
    replicas: int = 1,
    merchants: int = MERCHANTS,
    text: TextAwareClassifier | None = None,
) -> tuple[float, float]:
    """Events/s of `replicas` detector apps (one consumer group) over `count` events, and the model's share.

    `text`: a classifier whose cache already knows the texts (steady state); None: each app starts cold."""
    config = parse_config({"merchants": [{"id": f"m{i}"} for i in range(merchants)]})
    registries = [new_registry() for _ in range(replicas)]
    apps = [
        DetectorApp(
            replace(settings, consumer_group_prefix=group),
            config,
            registry=registry,
            http=HttpServer(registry, port=0),
            serve_http=False,
            text_classifier=text,
        )
        for registry in registries
    ]
    for app in apps:
        await app.start()
    samples: list[tuple[float, float]] = []
    try:
        while not samples or samples[-1][1] < count:
            await asyncio.sleep(0.05)
            samples.append((time.perf_counter(), _total(registries, "stormwatch_reviews_processed")))
        model = _total(registries, "stormwatch_classifier_items", ("decided_by", "text_model"))
    finally:
        for app in apps:
            await app.stop()
    return sustained_rate(samples, count), model / count


async def detector_processes(
    settings: Settings, count: int, group: str, replicas: int, merchants: int, folder: Path
) -> tuple[float, float]:
    """Events/s of `replicas` detector *processes* (`python -m services.cli detector`, one consumer group), read
    from their /metrics: each process has its own interpreter, so replicas use more than one core.

    Each process starts cold (loads the text model and embeds each distinct text once), so the rate is the
    sustained one, between 20 % and 90 % of the events, when every cache is warm; the same holds for `detector`."""
    config_path = folder / f"{group}.yaml"
    config_path.write_bytes(orjson.dumps({"merchants": [{"id": f"m{i}"} for i in range(merchants)]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_", "STORMWATCH_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": settings.require_kafka(),
        "DATABASE_URL": settings.require_database().reveal(),
        "STORMWATCH_DB_SCHEMA": settings.database_schema,
        "STORMWATCH_TOPIC_REVIEWS": settings.topics.reviews,
        "STORMWATCH_TOPIC_INCIDENTS": settings.topics.incidents,
        "STORMWATCH_TOPIC_DEADLETTER": settings.topics.deadletter,
        "STORMWATCH_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "STORMWATCH_CONSUMER_GROUP_PREFIX": group,
        "STORMWATCH_CONSUMER_SESSION_TIMEOUT_MS": str(settings.consumer_session_timeout_ms),
        "STORMWATCH_FETCH_MAX_WAIT_MS": str(settings.fetch_max_wait_ms),
        "STORMWATCH_LOG_LEVEL": "warning",
        "STORMWATCH_CONFIG": str(config_path),
    }
    ports = [free_port() for _ in range(replicas)]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "detector", "--http-port", str(port), env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        for port in ports
    ]  # fmt: skip
    samples: list[tuple[float, float]] = []
    model = 0.0
    try:
        async with aiohttp.ClientSession() as session:
            while not samples or samples[-1][1] < count:
                await asyncio.sleep(0.1)
                if any(process.returncode is not None for process in processes):
                    raise RuntimeError("a detector process exited during the benchmark")
                texts = [await _scrape(session, port) for port in ports]
                done = sum(_family_total(text, "stormwatch_reviews_processed") for text in texts)
                model = sum(
                    _family_total(text, "stormwatch_classifier_items", ("decided_by", "text_model")) for text in texts
                )
                samples.append((time.perf_counter(), done))
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await process.wait()
    return sustained_rate(samples, count), model / count


def sustained_rate(samples: list[tuple[float, float]], count: int) -> float:
    """Events/s between the moments 20 % and 90 % of `count` were processed (warm-up and tail left out)."""
    low = next(sample for sample in samples if sample[1] >= 0.2 * count)
    high = next(sample for sample in samples if sample[1] >= 0.9 * count)
    if high[0] <= low[0]:
        raise RuntimeError("too few samples for a rate: use more events")
    return (high[1] - low[1]) / (high[0] - low[0])


async def _scrape(session: aiohttp.ClientSession, port: int) -> str:
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            return await response.text()
    except aiohttp.ClientError:
        return ""  # not serving yet


def _family_total(exposition: str, name: str, label: tuple[str, str] | None = None) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == name
        for sample in family.samples
        if sample.name.endswith("_total") and (label is None or sample.labels.get(label[0]) == label[1])
    )


async def main(
    count: int,
    runs: int,
    partitions: int,
    replicas: int,
    with_bytewax: bool,
    merchants: int,
    cold: bool,
    processes: bool,
) -> None:
    configure_logging("json", "warning")
    tune_garbage_collector()  # as the services do (their entry points call it)
    with tempfile.TemporaryDirectory() as folder:
        broker = EmbeddedBroker()
        await broker.start()
        postgres = EmbeddedPostgres(Path(folder) / "pgdata")
        await postgres.start()
        try:
            topics = Topics(reviews="bench.reviews", incidents="bench.incidents", deadletter="bench.deadletter")
            await ensure_topics(
                broker.bootstrap_servers,
                {topics.reviews: partitions, topics.incidents: partitions, topics.deadletter: 1},
            )
            producer = EventProducer(ProducerSettings(broker.bootstrap_servers))
            await producer.start()
            events = make_events(count, merchants=merchants)
            text = None
            if not cold:
                text = TextAwareClassifier()
                text.prepare_sync(events)  # the model reads each distinct text once; the runs then find them cached
            for i in range(0, count, 1000):
                chunk = events[i : i + 1000]
                await producer.send_batch(
                    topics.reviews, [(e.merchant_id.encode(), codec.encode_review(e)) for e in chunk]
                )
            await producer.stop()
            floors, rates, shares, others = [], [], [], []
            for run in range(runs):  # alternating, so a busy moment of the shared machine hits each about equally
                floors.append(await floor(broker.bootstrap_servers, topics.reviews, count, f"floor{run}"))
                if with_bytewax:
                    others.append(
                        await asyncio.to_thread(bytewax_windowed_count, broker.bootstrap_servers, topics.reviews, count)
                    )
                schema = f"bench{run}"
                pool = await db.create_pool(postgres.dsn, schema)
                await pool.close()
                settings = Settings(
                    kafka_bootstrap_servers=broker.bootstrap_servers,
                    database_url=Secret(postgres.dsn),
                    database_schema=schema,
                    topics=topics,
                    topic_partitions=partitions,
                    consumer_session_timeout_ms=6000,
                    fetch_max_wait_ms=10,
                )
                if processes:
                    rate, share = await detector_processes(
                        settings, count, f"det{run}", replicas, merchants, Path(folder)
                    )
                else:
                    rate, share = await detector(settings, count, f"det{run}", replicas, merchants, text)
                rates.append(rate)
                shares.append(share)
            f, r = statistics.median(floors), statistics.median(rates)
            print(f"events {count}, merchants {merchants}, partitions {partitions}, replicas {replicas}, runs {runs}")
            print(f"floor (consume + decode)             median {f:10.0f} ev/s   runs {[round(x) for x in floors]}")
            print(f"detector (classify+store+checkpoint) median {r:10.0f} ev/s   runs {[round(x) for x in rates]}")
            print(f"ratio detector/floor {r / f:.3f}; share needing the text model {statistics.median(shares):.1%}")
            if others:
                b = statistics.median(others)
                print(f"bytewax windowed count               median {b:10.0f} ev/s   runs {[round(x) for x in others]}")
                print(f"ratio bytewax/floor {b / f:.3f}; detector/bytewax {r / b:.3f}")
        finally:
            await postgres.stop()
            await broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--bytewax", action="store_true", help="also time the windowed count in Bytewax")
    parser.add_argument("--merchants", type=int, default=MERCHANTS)
    parser.add_argument("--cold", action="store_true", help="each detector starts with an empty text-model cache")
    parser.add_argument("--processes", action="store_true", help="run the replicas as separate processes (always cold)")
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.events,
            arguments.runs,
            arguments.partitions,
            arguments.replicas,
            arguments.bytewax,
            arguments.merchants,
            arguments.cold,
            arguments.processes,
        )
    )
