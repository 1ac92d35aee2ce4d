"""Benchmark the detector's state at scale: bytes per merchant for 100,000 merchants, and what a checkpoint writes.

Feeds a rating-only DetectionEngine (the state does not depend on the classifier) `--merchants` merchants, each
with `--events-per-merchant` reviews spread over three days on two platforms (one in ten merchants also gets a
burst of one-star reviews, so some hold an open incident), split over 4 partitions by merchant as Kafka would.
Reports the checkpoint JSON and in-memory bytes per merchant, the whole-state checkpoint a batch used to write per
partition (and the time to encode it), and what a batch of 2,000 events writes now (only the merchants it touched).
Usage: `.venv/bin/python -m bench.bench_detector_scale [--merchants 100000] [--events-per-merchant 6]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import zlib
from datetime import UTC, datetime, timedelta

import orjson

from bench.bench_detector import deep_size
from services.detector.engine import DetectionEngine
from services.shared.config import DetectionConfig
from services.shared.events import RatingScale, ReviewEvent, deterministic_id

PARTITIONS = 4
BATCH = 2000
START = datetime(2026, 11, 1, tzinfo=UTC)


def events_for(merchant: str, count: int, rng: random.Random) -> list[ReviewEvent]:
    stormy = rng.random() < 0.1
    events = []
    for i in range(count):
        created = START + timedelta(seconds=rng.uniform(0, 3 * 86400))
        stars = 1 if stormy and i >= count // 2 else rng.choices([1, 2, 3, 4, 5], [8, 4, 8, 25, 55])[0]
        stamp = created.isoformat().replace("+00:00", "Z")
        events.append(
            ReviewEvent(
                event_id=deterministic_id("scale", merchant, str(i)),
                event_type="review.created",
                merchant_id=merchant,
                platform=("trustpilot", "google_business")[i % 2],
                source_id=f"{merchant}/{i % 2}",
                item_id=f"{merchant}-{i}",
                kind="review",
                created_at=stamp,
                observed_at=stamp,
                rating=stars,
                rating_scale=RatingScale(1, 5),
                text="",
            )
        )
    return events


def main(merchants: int, per_merchant: int) -> None:
    rng = random.Random(11)
    streams: list[list[ReviewEvent]] = [[] for _ in range(PARTITIONS)]
    for m in range(merchants):
        merchant = f"m{m}"
        streams[zlib.crc32(merchant.encode()) % PARTITIONS].extend(events_for(merchant, per_merchant, rng))
    engines = []
    began = time.perf_counter()
    for stream in streams:
        stream.sort(key=lambda e: e.created_at)
        engine = DetectionEngine(DetectionConfig())
        engine.run(stream)
        engines.append(engine)
    processed = sum(len(s) for s in streams)
    rate = processed / (time.perf_counter() - began)

    sizes: list[int] = []
    snapshot_bytes, encode_seconds, memory_bytes = [], [], 0
    for engine in engines:
        engine.take_touched()
        started = time.perf_counter()
        whole = orjson.dumps(engine.snapshot())
        encode_seconds.append(time.perf_counter() - started)
        snapshot_bytes.append(len(whole))
        sizes.extend(len(orjson.dumps(state.to_dict())) for state in engine.state.merchants.values())
        memory_bytes += deep_size(engine.state)
    # A batch of BATCH events of one partition, from merchants at random (the worst case: all distinct).
    engine = engines[0]
    batch_merchants = rng.sample(sorted(engine.state.merchants), min(BATCH, len(engine.state.merchants)))
    batch_bytes = sum(len(orjson.dumps(engine.state.merchants[m].to_dict())) for m in batch_merchants)

    print(f"merchants {merchants:,}, events {processed:,} ({per_merchant} per merchant), {PARTITIONS} partitions")
    print(f"engine, rating-only classifier: {rate:,.0f} events/s")
    print(
        f"checkpoint JSON per merchant: median {statistics.median(sizes):,.0f} B, mean {statistics.mean(sizes):,.0f} B,"
        f" max {max(sizes):,} B; in memory {memory_bytes / merchants:,.0f} B per merchant"
    )
    print(
        f"whole-state checkpoint per partition (what every batch wrote before merchant rows):"
        f" {statistics.mean(snapshot_bytes) / 1e6:,.1f} MB, encoded in {statistics.mean(encode_seconds) * 1000:,.0f} ms"
    )
    print(f"a batch of {BATCH} events touching {len(batch_merchants)} merchants now writes {batch_bytes / 1e6:,.2f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--merchants", type=int, default=100_000)
    parser.add_argument("--events-per-merchant", type=int, default=6)
    arguments = parser.parse_args()
    main(arguments.merchants, arguments.events_per_merchant)
