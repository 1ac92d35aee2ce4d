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
from services.shared.config import SourceConfig
from services.shared.logging import configure_logging
from services.shared.settings import Secret
from services.shared.timeutil import ManualClock
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import (
    EbaySeller,
    EtsyShop,
    Faults,
    GoogleLocation,
    MerchantProfile,
    Scenario,
    TrustpilotAccount,
    YelpBusiness,
)

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PLATFORMS = 5  # Trustpilot, Google Business Profile, Etsy, eBay, Yelp: one source each per merchant


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


def _scenario(merchants: int, hours: float) -> Scenario:
    profiles = tuple(
        MerchantProfile(
            f"m{i}",
            f"M{i}",
            "UTC",
            TrustpilotAccount(f"bu-m{i}"),
            baseline_per_hour=6,
            google=GoogleLocation(str(1000 + i), str(5000 + i), baseline_per_hour=6),
            etsy=EtsyShop(str(9000 + i), baseline_per_hour=6),
            ebay=EbaySeller(f"seller{i}", baseline_per_hour=6),
            yelp=YelpBusiness(f"biz-{i}", baseline_per_hour=6),
        )
        for i in range(merchants)
    )
    return Scenario(
        merchants=profiles,
        origin=ORIGIN,
        history_seconds=hours * 3600,
        duration_seconds=60,
        faults=Faults(malformed_every=97),
    )


def _sources(sim: SimulatorApp, merchants: int) -> list[SourceConfig]:
    sources = []
    for i in range(merchants):
        key, secret = sim.credentials_for(f"m{i}")
        client_id, client_secret, refresh = sim.google_credentials_for(f"m{i}")
        common: dict[str, Any] = {"merchant_id": f"m{i}", "base_url": sim.url, "backfill_hours": 1000.0}
        sources.append(
            SourceConfig(
                id=f"m{i}/tp",
                platform="trustpilot",
                credentials={"api_key": Secret(key), "api_secret": Secret(secret)},
                options={"business_unit_id": f"bu-m{i}"},
                **common,
            )
        )
        sources.append(
            SourceConfig(
                id=f"m{i}/g",
                platform="google_business",
                credentials={
                    "client_id": Secret(client_id),
                    "client_secret": Secret(client_secret),
                    "refresh_token": Secret(refresh),
                },
                options={"account_id": str(1000 + i), "location_id": str(5000 + i)},
                **common,
            )
        )
        sources.append(
            SourceConfig(
                id=f"m{i}/etsy",
                platform="etsy",
                credentials={"api_key": Secret(sim.etsy_api_key_for(f"m{i}"))},
                options={"shop_id": str(9000 + i)},
                **common,
            )
        )
        ebay_id, ebay_secret, ebay_refresh = sim.ebay_credentials_for(f"m{i}")
        sources.append(
            SourceConfig(
                id=f"m{i}/ebay",
                platform="ebay",
                credentials={
                    "client_id": Secret(ebay_id),
                    "client_secret": Secret(ebay_secret),
                    "refresh_token": Secret(ebay_refresh),
                },
                options={"user_id": f"seller{i}"},
                **common,
            )
        )
        sources.append(
            SourceConfig(
                id=f"m{i}/yelp",
                platform="yelp",
                credentials={"api_key": Secret(sim.yelp_api_key_for(f"m{i}"))},
                options={"business_id": f"biz-{i}"},
                **common,
            )
        )
    return sources


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
