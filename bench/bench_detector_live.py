"""Benchmark the live detector (Kafka + PostgreSQL + classification + checkpointing) against the consume floor.

Produces N review events (many merchants, ratings 1-5, texts in 11 languages; 3-star ones need the text model)
to a 4-partition topic on an embedded Tansu broker, then measures, alternating, (a) the floor: a bare aiokafka
consumer that only decodes, and (b) a DetectorApp processing the same topic from the start, until every event
was counted in stormwatch_reviews_processed_total. Reports events/s, the ratio to the floor and the share of
events that needed the text model; with `--bytewax`, the same run also times a minimal windowed count in Bytewax
on the same topic (bench/stream_processors.py). `--partitions` and `--replicas` (detector apps in one consumer
group, in this process) give the scaling figures. The detectors share one text classifier whose cache already
holds every distinct text (the steady state of a stream whose texts repeat); `--cold` gives each its own, empty
one, so the run also pays for loading the model and embedding each text once. Usage:
`.venv/bin/python -m bench.bench_detector_live [--events 100000] [--runs 3] [--bytewax] [--partitions 4]
[--replicas 1] [--cold]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from bench.stream_processors import bytewax_windowed_count
from services.detector.app import DetectorApp
from services.detector.text_classifier import TextAwareClassifier
from services.shared import codec, db
from services.shared.config import parse_config
from services.shared.embedded import EmbeddedBroker, EmbeddedPostgres
from services.shared.events import RatingScale, ReviewEvent, deterministic_id
from services.shared.http import HttpServer
from services.shared.kafka import BatchConsumer, ConsumerSettings, EventProducer, ProducerSettings, ensure_topics
from services.shared.logging import configure_logging
from services.shared.metrics import new_registry
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
    began = None
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500)
            if batch and began is None:
                began = time.perf_counter()
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                seen += len(records)
    finally:
        await consumer.stop()
    assert began is not None
    return count / (time.perf_counter() - began)


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
    began = None
    try:
        while True:
            done = _total(registries, "stormwatch_reviews_processed")
            if done and began is None:
                began = time.perf_counter()
            if done >= count:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - (began or time.perf_counter())
        model = _total(registries, "stormwatch_classifier_items", ("decided_by", "text_model"))
    finally:
        for app in apps:
            await app.stop()
    return count / elapsed, model / count


async def main(
    count: int, runs: int, partitions: int, replicas: int, with_bytewax: bool, merchants: int, cold: bool
) -> None:
    configure_logging("json", "warning")
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
        )
    )
