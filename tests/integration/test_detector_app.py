"""The detector service on the real broker and PostgreSQL: incidents, dead letters, duplicates, restarts."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.detector.app import DetectorApp
from services.detector.engine import DetectionEngine
from services.detector.store import insert_incidents
from services.detector.synthetic import bucketed
from services.detector.text_classifier import TextAwareClassifier
from services.shared import codec, metrics
from services.shared.config import parse_config
from services.shared.events import IncidentEvent, ReviewEvent
from services.shared.http import HttpServer
from services.shared.kafka import BatchConsumer, ConsumerSettings, EventProducer, ProducerSettings
from services.shared.settings import Settings
from tests.conftest import TEST_SESSION_TIMEOUT_MS

T0 = datetime(2026, 11, 18, tzinfo=UTC)
CONFIG = parse_config(
    {"merchants": [{"id": "m1", "name": "Shop One"}, {"id": "m2"}], "detection": {"bucket_seconds": 900}}
)
# Long enough for a consumer group to form on Tansu and a few hundred events to flow; never reached when green.
WAIT_SECONDS = 25.0


def storm_stream() -> list[ReviewEvent]:
    """m1: 4 hours of history, a storm of 60 negatives in 15 minutes, 90 quiet minutes; m2: steady throughout."""
    m1 = bucketed([(2, 8)] * 16 + [(60, 8)] + [(2, 8)] * 6, start=T0)
    m2 = bucketed([(1, 9)] * 23, start=T0, merchant_id="m2")
    return sorted([*m1, *m2], key=lambda e: e.created_at)


def expected_incidents(events: list[ReviewEvent]) -> list[IncidentEvent]:
    """What the pure engine says, with the same (text-aware) classifier the live service uses."""
    classifier = TextAwareClassifier()
    try:
        engine = DetectionEngine(CONFIG.detection, classifier=classifier, merchant_names={"m1": "Shop One", "m2": "m2"})
        return engine.run(events)
    finally:
        classifier.close()


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = EventProducer(ProducerSettings(bootstrap))
    await producer.start()
    try:
        await producer.send_batch(topic, records)
    finally:
        await producer.stop()


def keyed(events: list[ReviewEvent]) -> list[tuple[bytes, bytes]]:
    return [(e.merchant_id.encode(), codec.encode_review(e)) for e in events]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll until the check holds; fail with `what` after WAIT_SECONDS (a bound, not a timing assertion)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not await check():  # noqa: ASYNC110 - polls PostgreSQL and metrics: there is no event to await
            await asyncio.sleep(0.1)
    assert await check(), what


class TopicReader:
    """Reads a topic from the start in its own consumer group and keeps every value it has seen."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.values: list[bytes] = []
        self._consumer = BatchConsumer(
            ConsumerSettings(
                bootstrap,
                group_id=group,
                topics=(topic,),
                session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=1000,
                fetch_max_wait_ms=20,
            )
        )

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._consumer.stop()

    async def read_until(self, done: Callable[[list[bytes]], bool]) -> list[bytes]:
        async with asyncio.timeout(WAIT_SECONDS):
            while not done(self.values):
                for records in (await self._consumer.getmany(timeout_ms=200)).values():
                    self.values.extend(r.value for r in records)
        return self.values


def incidents_of(values: list[bytes]) -> list[IncidentEvent]:
    return [codec.decode_incident(v) for v in values]


def has_resolved(values: list[bytes]) -> bool:
    return any(i.status == "resolved" for i in incidents_of(values))


def detector(settings: Settings, registry: CollectorRegistry) -> DetectorApp:
    return DetectorApp(settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False)


def sample(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float:
    return registry.get_sample_value(name, labels or {}) or 0.0


async def test_storm_opens_and_resolves_one_incident(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str, unique: str
) -> None:
    """History, a storm and quiet time flow through Kafka: exactly the pure engine's incident events come out
    (one incident, open to resolved, versions 1..n), every review is stored once, metrics and readiness agree."""
    events = storm_stream()
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events))
    http = HttpServer(registry, port=0)
    app = DetectorApp(test_settings, CONFIG, registry=registry, http=http, serve_http=False)
    async with TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader, app:
        values = await reader.read_until(has_resolved)
        results = await http.readiness()
        assert [(r.name, r.ok) for r in results] == [("detector", True)]

    incidents = incidents_of(values)
    assert incidents == expected_incidents(events)
    assert {i.incident_id for i in incidents} == {incidents[0].incident_id}
    assert [i.version for i in incidents] == list(range(1, len(incidents) + 1))
    assert (incidents[0].status, incidents[-1].status) == ("open", "resolved")

    assert await db_pool.fetchval("SELECT count(*) FROM reviews") == len(events)
    # Every stored review carries the four classified fields.
    unclassified = await db_pool.fetchval(
        "SELECT count(*) FROM reviews WHERE negativity IS NULL OR polarity IS NULL OR language IS NULL"
        " OR category IS NULL"
    )
    assert unclassified == 0
    assert await db_pool.fetchval("SELECT count(*) FROM detector_incidents") == len(incidents)
    processed = sum(
        sample(registry, "stormwatch_reviews_processed_total", {"platform": "trustpilot", "polarity": p})
        for p in ("negative", "neutral", "positive", "unknown")
    )
    assert processed == len(events)
    opened = {"kind": "negative_spike", "severity": incidents[0].severity, "status": "open"}
    assert sample(registry, "stormwatch_incidents_total", opened) == 1
    assert sample(registry, "stormwatch_detector_batch_seconds_count") >= 1


async def test_bad_input_is_dead_lettered_and_processing_goes_on(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str, unique: str
) -> None:
    """A non-JSON message and a schema-invalid one land in the dead-letter topic with their reason, original bytes
    and position; the valid reviews around them are stored and the partition's checkpoint moves past all four."""
    first, last = bucketed([(1, 1)], start=T0)
    not_json = b"\xff this is not json"
    invalid = orjson.dumps({**first.to_dict(), "event_id": "f" * 32, "rating": "five stars"})
    await produce(
        kafka_bootstrap,
        test_settings.topics.reviews,
        [(b"m1", codec.encode_review(first)), (b"m1", not_json), (b"m1", invalid), (b"m1", codec.encode_review(last))],
    )

    async def stored_both() -> bool:
        stored: int = await db_pool.fetchval("SELECT count(*) FROM reviews")
        return stored == 2

    async with (
        TopicReader(kafka_bootstrap, test_settings.topics.deadletter, f"r{unique}") as reader,
        detector(test_settings, registry),
    ):
        await eventually(stored_both, "the valid reviews were stored")
        values = await reader.read_until(lambda v: len(v) >= 2)

    records = sorted((codec.decode_deadletter(v) for v in values), key=lambda r: r.offset or 0)
    assert [r.reason for r in records] == ["malformed_json", "schema_invalid"]
    assert [base64.b64decode(r.original_b64) for r in records] == [not_json, invalid]
    assert all(r.source == "detector" and r.topic == test_settings.topics.reviews for r in records)
    assert [r.offset for r in records] == [1, 2]
    assert await db_pool.fetchval("SELECT max(next_offset) FROM detector_checkpoints") == 4
    assert sample(registry, "stormwatch_deadletters_total", {"source": "detector", "reason": "malformed_json"}) == 1


async def test_duplicate_events_are_processed_once(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str
) -> None:
    """The same event_id twice in one batch and once more later (a re-poll) is stored and detected once; the
    repeats are counted as duplicates. Review text with NUL characters is stored too."""
    events = bucketed([(2, 3)], start=T0)
    events[0] = dataclasses.replace(events[0], text="nul\x00inside")
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed([*events, events[1]]))

    async def count(expected: int) -> bool:
        stored: int = await db_pool.fetchval("SELECT count(*) FROM reviews")
        return stored == expected

    async def counted_duplicates(expected: int) -> bool:
        return sample(registry, "stormwatch_detector_duplicates_total") == expected

    async with detector(test_settings, registry):
        await eventually(lambda: counted_duplicates(1), "the in-batch repeat was counted")
        await produce(kafka_bootstrap, test_settings.topics.reviews, keyed([events[2]]))
        await eventually(lambda: counted_duplicates(2), "the later repeat was counted")
        assert await count(len(events))

    negatives = {"platform": "trustpilot", "polarity": "negative"}
    positives = {"platform": "trustpilot", "polarity": "positive"}
    assert sample(registry, "stormwatch_reviews_processed_total", negatives) == 2
    assert sample(registry, "stormwatch_reviews_processed_total", positives) == 3
    text = await db_pool.fetchval("SELECT payload->>'text' FROM reviews WHERE event_id = $1", events[0].event_id)
    assert text == "nulinside"


async def test_restart_mid_storm_emits_the_same_incidents(
    test_settings: Settings, db_pool: asyncpg.Pool, kafka_bootstrap: str, unique: str
) -> None:
    """Stopped gracefully after the incident opened and started again (new instance, same group), the detector
    resumes from its PostgreSQL checkpoint: the incident events equal an uninterrupted run's, with no repeats."""
    events = storm_stream()
    reference = expected_incidents(events)
    opened_by = next(n for n in range(len(events)) if expected_incidents(events[: n + 1]))
    split = opened_by + 20  # mid-storm: the incident is open, the storm bucket is still filling
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events[:split]))

    async def checkpointed(offsets: int) -> bool:
        done: int = await db_pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM detector_checkpoints")
        return done == offsets

    async with TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader:
        async with detector(test_settings, metrics.new_registry()):
            await eventually(lambda: checkpointed(split), "the first half was checkpointed")
        before = len(await reader.read_until(lambda v: len(v) >= 1))

        await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events[split:]))
        async with detector(test_settings, metrics.new_registry()):
            values = await reader.read_until(has_resolved)

    incidents = incidents_of(values)
    assert 1 <= before < len(reference)
    assert incidents == reference
    assert len({(i.incident_id, i.version) for i in incidents}) == len(incidents)


async def test_failure_after_producing_replays_identical_incident_events(
    test_settings: Settings,
    db_pool: asyncpg.Pool,
    registry: CollectorRegistry,
    kafka_bootstrap: str,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database fails after a batch's incident events were acknowledged and before its checkpoint committed
    (as in a crash): the batch is replayed from the last checkpoint and emits the very same events again, byte for
    byte, which the alerter drops as already seen on (incident_id, version); nothing is lost or different."""
    failed: list[int] = []

    async def insert_failing_once(connection: Any, incidents: Sequence[IncidentEvent]) -> None:
        if not failed:
            failed.append(len(incidents))
            raise OSError("connection reset by peer")
        await insert_incidents(connection, incidents)

    monkeypatch.setattr("services.detector.app.insert_incidents", insert_failing_once)
    events = storm_stream()
    reference = expected_incidents(events)
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events))
    async with (
        TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader,
        detector(test_settings, registry),
    ):
        # Every state once, plus a second copy of each state the failed batch had already produced.
        values = await reader.read_until(lambda v: bool(failed) and len(v) >= len(reference) + failed[0])

    assert failed[0] >= 1
    assert len(values) == len(reference) + failed[0]
    distinct = list(dict.fromkeys(values))
    assert incidents_of(distinct) == reference  # the copies are identical: deduplication restores the truth
    stored: int = await db_pool.fetchval("SELECT count(*) FROM detector_incidents")
    assert stored == len(distinct)
