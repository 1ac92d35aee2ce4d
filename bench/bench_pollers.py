"""Benchmark the pollers: 1,000 sources over every implemented platform, polled against the simulator.

Each source backfills its history through the real adapter, PlatformClient (aiohttp over loopback), normaliser,
edit tracking (in-memory fingerprints) and schema-validated encoding; Kafka and PostgreSQL are replaced by
in-memory fakes so the figure is the pollers' own cost. The simulator runs in the same process, so the CPU
figure includes serving the fake APIs (an upper bound on the pollers' CPU).
Usage: `.venv/bin/python -m bench.bench_pollers [--sources 1000] [--hours 6] > /dev/null` (figures on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import PollOptions, RateLimit
from services.pollers.adapters.http import PlatformClient
from services.pollers.adapters.registry import build_adapter
from services.pollers.app import MAX_CONCURRENT_POLLS
from services.pollers.fingerprints import MemoryFingerprints
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import SourcePoller
from services.pollers.ratelimit import TokenBucket
from services.shared.config import SourceConfig, parse_config
from services.shared.logging import configure_logging
from services.shared.timeutil import ManualClock
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import (
    AppStoreApp,
    EbaySeller,
    EcwidStore,
    EtsyShop,
    FacebookPage,
    Faults,
    GoogleLocation,
    MerchantProfile,
    NewsFeed,
    PlayApp,
    Scenario,
    TaobaoShop,
    TrustpilotAccount,
    XAccount,
    YelpBusiness,
)
from services.simulator.sources import simulated_sources

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# Every polled platform, one source each per merchant: Trustpilot, Google Business Profile, Etsy, eBay, Yelp,
# Facebook, X, Taobao, Ecwid, Google Play, App Store, RSS/Atom.
PLATFORMS = 12


class _CountingProducer:
    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0

    async def send_batch(self, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
        self.records += len(records)
        self.bytes += sum(len(v) for _k, v in records)


class _Cursors:
    def __init__(self) -> None:
        self.rows: dict[str, Any] = {}

    async def load(self, source_id: str) -> Any:
        return self.rows.get(source_id)

    async def save(self, source_id: str, platform: str, cursor: Any, *, succeeded_at: Any = None) -> None:
        self.rows[source_id] = cursor


class _DeadLetters:
    def __init__(self) -> None:
        self.count = 0

    async def publish(self, **_record: Any) -> None:
        self.count += 1


def _merchant(i: int) -> MerchantProfile:
    """Merchant i on every platform, about 6 reviews an hour on each review platform."""
    return MerchantProfile(
        f"m{i}",
        f"Merchant {i}",
        "UTC",
        TrustpilotAccount(f"bu-m{i}"),
        baseline_per_hour=6,
        google=GoogleLocation(str(1000 + i), str(5000 + i), baseline_per_hour=6),
        etsy=EtsyShop(str(9000 + i), baseline_per_hour=6),
        ebay=EbaySeller(f"seller{i}", baseline_per_hour=6),
        yelp=YelpBusiness(f"biz-{i}", baseline_per_hour=6),
        facebook=FacebookPage(str(104400000000000 + i), posts_per_day=4.0, comments_per_hour=6.0),
        x=XAccount(f"merchant{i}", mentions_per_hour=6.0),
        taobao=TaobaoShop(f"shop{i}", baseline_per_hour=6),
        ecwid=EcwidStore(str(4000 + i), baseline_per_hour=6),
        google_play=PlayApp(f"com.merchant{i}.app", baseline_per_hour=6),
        app_store=AppStoreApp(str(1500000000 + i), baseline_per_hour=6),
        feeds=NewsFeed(f"merchant-{i}", baseline_per_hour=6),
    )


def _scenario(merchants: int, hours: float) -> Scenario:
    return Scenario(
        merchants=tuple(_merchant(i) for i in range(merchants)),
        origin=ORIGIN,
        history_seconds=hours * 3600,
        duration_seconds=60,
        faults=Faults(malformed_every=97),
    )


def _sources(sim: SimulatorApp, merchants: int) -> list[SourceConfig]:
    """The sources of every merchant, through the same config parsing as a user's file."""
    documents = [
        source
        for i in range(merchants)
        for source in simulated_sources(sim, f"m{i}", backfill_hours=1000.0, poll_interval_seconds=60.0)
    ]
    config = parse_config(
        {"merchants": [{"id": f"m{i}", "name": f"Merchant {i}"} for i in range(merchants)], "sources": documents}
    )
    return list(config.sources)


async def _poll_all(pollers: list[SourcePoller]) -> None:
    async def until_caught_up(poller: SourcePoller) -> None:
        while (await poller.poll_once()).more:
            pass

    await asyncio.gather(*(until_caught_up(p) for p in pollers))


async def main(sources: int, hours: float) -> dict[str, float]:
    merchants = sources // PLATFORMS
    scenario = _scenario(merchants, hours)
    registry = CollectorRegistry()
    async with SimulatorApp(scenario, registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        connector = aiohttp.TCPConnector(limit=MAX_CONCURRENT_POLLS)
        async with aiohttp.ClientSession(connector=connector) as session:
            producer, cursors, dead, fingerprints = (
                _CountingProducer(),
                _Cursors(),
                _DeadLetters(),
                MemoryFingerprints(),
            )
            metrics = PollerMetrics.create(registry)
            semaphore = asyncio.Semaphore(MAX_CONCURRENT_POLLS)
            pollers = []
            for index, source in enumerate(_sources(sim, merchants)):
                adapter = build_adapter(source, index)
                bucket = TokenBucket(10_000, 10_000)
                pollers.append(
                    SourcePoller(
                        source,
                        adapter,
                        PlatformClient(session, adapter.platform, bucket),
                        producer=cast(Any, producer),
                        deadletters=cast(Any, dead),
                        cursors=cast(Any, cursors),
                        topic="reviews",
                        metrics=metrics,
                        semaphore=semaphore,
                        options=PollOptions(rate_limit=RateLimit(10_000, 10_000), max_pages_per_poll=50),
                        clock=ManualClock(ORIGIN),
                        fingerprints=fingerprints,
                    )
                )
            wall, cpu = time.perf_counter(), time.process_time()
            await _poll_all(pollers)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            # A second round at the same simulated moment: every source polls, nothing is new (steady state cost).
            wall2, cpu2 = time.perf_counter(), time.process_time()
            await _poll_all(pollers)
            wall2, cpu2 = time.perf_counter() - wall2, time.process_time() - cpu2
    items = producer.records + dead.count
    return {
        "sources": float(len(pollers)),
        "items": float(items),
        "items_per_s": items / wall,
        "cpu_s_per_1000_items": cpu / items * 1000,
        "backfill_wall_s": wall,
        "idle_round_wall_s": wall2,
        "idle_round_cpu_s": cpu2,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    # One JSON line per poll on stdout is part of the pollers' cost, as in production; figures go to stderr.
    configure_logging("json", "info")
    results = asyncio.run(main(args.sources, args.hours))
    for name, value in results.items():
        print(f"{name:>24}: {value:,.2f}", file=sys.stderr)
