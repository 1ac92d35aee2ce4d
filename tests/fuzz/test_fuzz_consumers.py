"""Garbage on the reviews and incidents topics: the detector and the alerter dead-letter it and keep going.

Each test produces a fixed, seeded mix of hostile values (not JSON, wrong shapes, deep nesting, schema-breaking
mutations of a valid event, timestamps at the edges of what Python can represent, NUL characters) followed by one
valid sentinel on the same partition. The sentinel must be processed, the service must still be alive, and every
value the codec rejects must be in the dead-letter topic with its original bytes.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import random
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.detector.app import DetectorApp
from services.detector.synthetic import bucketed
from services.shared import codec
from services.shared.errors import BadInput
from services.shared.http import HttpServer
from services.shared.settings import Settings
from tests.fuzz.alerter_rig import CONFIG as ALERTER_CONFIG
from tests.integration.test_alerter_support import (
    WAIT_SECONDS,
    make_incident,
    produce,
    read_deadletters,
    running_alerter,
)
from tests.integration.test_detector_app import CONFIG, T0

EDGE_TIMES = [
    "0001-01-01T00:00:00+01:00",  # representable, but not in UTC (astimezone overflows)
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-11-01T10:00:00",
    "2026-11-01T25:00:00Z",
]


def garbage(valid: dict[str, Any], time_fields: tuple[str, ...], seed: int) -> list[bytes]:
    """Hostile message values around one valid event (deterministic for a seed)."""
    rng = random.Random(seed)
    values = [
        b"", b"\x00", b"\xff\xfe\xfd", b"null", b"[]", b"{}", b'"text"', b"1e400", b"[" * 5000 + b"]" * 5000,
        b'{"schema": ' * 200 + b"1" + b"}" * 200, orjson.dumps({**valid, "schema": "other.v9"}),
    ]  # fmt: skip
    values.extend(orjson.dumps({k: v for k, v in valid.items() if k != key}) for key in valid)
    for field_name in time_fields:
        values.extend(orjson.dumps({**valid, field_name: moment}) for moment in EDGE_TIMES)
    replacements: tuple[Any, ...] = (None, "", "\x00", 1e308, -1, [], {}, "x" * 20_000, "<!channel> \x1b[31m\r\n")
    for key in rng.sample(sorted(valid), k=min(8, len(valid))):
        values.extend(orjson.dumps({**valid, key: replacement}) for replacement in replacements)
    values.extend(rng.randbytes(rng.randint(1, 300)) for _ in range(20))
    return values


def rejected_by_codec(values: list[bytes], decode: Callable[[bytes], Any]) -> set[bytes]:
    found = set()
    for value in values:
        try:
            decode(value)
        except BadInput:
            found.add(value)
    return found


def _deadletters_counted(registry: CollectorRegistry, source: str) -> int:
    """stormwatch_deadletters_total for one rejecting component, over every reason."""
    total = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "stormwatch_deadletters_total" and sample.labels.get("source") == source:
                total += sample.value
    return int(total)


async def _wait_for(check: Callable[[], Any], what: str) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while not await check():  # noqa: ASYNC110 - polls PostgreSQL: there is no event to await
            await asyncio.sleep(0.1)


async def test_detector_dead_letters_garbage_and_keeps_going(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str, unique: str
) -> None:
    """Hostile values on the reviews topic: each one the codec rejects is dead-lettered (source detector) with its
    exact bytes; the others are stored or dead-lettered; each dead letter is counted in stormwatch_deadletters_total;
    the detector stays alive and stores the sentinel after them."""
    first, sentinel = bucketed([(1, 1)], start=T0)
    values = garbage(first.to_dict(), ("created_at", "observed_at"), seed=8)
    sentinel = dataclasses.replace(sentinel, event_id="e" * 32)
    await produce(
        kafka_bootstrap,
        test_settings.topics.reviews,
        [(b"m1", value) for value in values] + [(b"m1", codec.encode_review(sentinel))],
    )
    expected = rejected_by_codec(values, codec.decode_review)
    app = DetectorApp(test_settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    async with app:

        async def sentinel_stored() -> bool:
            return bool(await db_pool.fetchval("SELECT count(*) FROM reviews WHERE event_id = $1", sentinel.event_id))

        await _wait_for(sentinel_stored, "the sentinel review after the garbage was stored")
        # The sentinel came after every garbage value on the partition: all rejections are counted by now.
        counted = _deadletters_counted(registry, "detector")
        records = await read_deadletters(kafka_bootstrap, test_settings.topics.deadletter, f"d{unique}", counted)
        assert app.is_alive(), app.failure
    assert len(records) == counted >= len(expected)
    originals = {base64.b64decode(r.original_b64) for r in records}
    assert expected <= originals
    assert originals <= set(values)
    assert all(r.source == "detector" and r.reason for r in records)


async def test_alerter_dead_letters_garbage_and_keeps_going(
    test_settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry, kafka_bootstrap: str, unique: str
) -> None:
    """Hostile values on the incidents topic: each one the codec rejects is dead-lettered (source alerter) with
    its exact bytes and counted; the alerter stays alive and records the valid sentinel incident that follows."""
    valid = make_incident("fuzz-valid", 1, "open")
    sentinel = make_incident("fuzz-sentinel", 1, "open")
    values = garbage(valid.to_dict(), ("started_at", "detected_at", "resolved_at", "observed_at"), seed=9)
    key = sentinel.incident_id.encode()
    await produce(
        kafka_bootstrap,
        test_settings.topics.incidents,
        [(key, value) for value in values] + [(key, codec.encode_incident(sentinel))],
    )
    expected = rejected_by_codec(values, codec.decode_incident)
    async with running_alerter(test_settings, ALERTER_CONFIG, registry) as alerter:

        async def sentinel_stored() -> bool:
            query = "SELECT count(*) FROM incidents WHERE incident_id = $1"
            return bool(await db_pool.fetchval(query, sentinel.incident_id))

        await _wait_for(sentinel_stored, "the sentinel incident after the garbage was recorded")
        counted = _deadletters_counted(registry, "alerter")
        records = await read_deadletters(kafka_bootstrap, test_settings.topics.deadletter, f"d{unique}", counted)
        assert alerter.app.is_alive(), alerter.app.failure
    assert len(records) == counted >= len(expected)
    originals = {base64.b64decode(r.original_b64) for r in records}
    assert expected <= originals
    assert originals <= set(values)
    assert all(r.source == "alerter" and r.reason for r in records)
