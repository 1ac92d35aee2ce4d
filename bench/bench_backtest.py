"""Backtest speed for BENCHMARKS.md: events/s of the backtest against merely reading and decoding the same file.

Run: `.venv/bin/python -m bench.bench_backtest [--merchants 40 --days 7]` (medians of --repeats runs; one core).
The ratio (backtest events/s / read+decode events/s) is the figure that matters; the aim is above 0.5.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.detector.backtest import BacktestStats, backtest
from services.detector.engine import engine_for
from services.detector.synthetic import Segment, generate
from services.shared import codec
from services.shared.config import Config

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def write_events(path: Path, merchants: int, days: int) -> int:
    """A week of ordinary traffic for many merchants, with a storm for every fifth one; returns the event count."""
    events = []
    for index in range(merchants):
        segments = [Segment(T0, days * 24.0, 20.0 + index % 7 * 5, 0.1)]
        if index % 5 == 0:
            segments.append(Segment(T0 + timedelta(days=days - 2, hours=index % 24), 1.0, 150.0, 0.9))
        events.extend(generate(segments, merchant_id=f"m{index}", seed=index))
    events.sort(key=lambda e: e.created_at)
    with path.open("wb") as sink:
        for event in events:
            sink.write(codec.encode_review(event, validate=False) + b"\n")
    return len(events)


def read_and_decode(path: Path) -> int:
    count = 0
    with path.open("rb") as source:
        for line in source:
            codec.decode_review(line)
            count += 1
    return count


def run_backtest(path: Path) -> int:
    stats = BacktestStats()
    with path.open("rb") as source:
        for _incident in backtest(source, engine_for(Config(merchants=())), stats=stats):
            pass
    return stats.events


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--merchants", type=int, default=40)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the backtest's 15 hottest functions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        count = write_events(path, args.merchants, args.days)
        size = path.stat().st_size
        decode = median_seconds(lambda: read_and_decode(path), args.repeats)
        full = median_seconds(lambda: run_backtest(path), args.repeats)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(run_backtest, path)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)
    print(f"{count} events, {size / 1e6:.1f} MB, {args.merchants} merchants, {args.days} days")
    print("| step | events/s |")
    print("|---|---|")
    print(f"| read + decode (orjson + schema + dataclass) | {count / decode:,.0f} |")
    print(f"| backtest (decode + classify + detect + write) | {count / full:,.0f} |")
    print(f"| ratio | {decode / full:.2f} |")


if __name__ == "__main__":
    main()
