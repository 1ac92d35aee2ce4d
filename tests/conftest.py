"""Shared fixtures: a real broker (Tansu) and a real PostgreSQL once per session; per-test topics, groups, schemas."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.shared import db, metrics
from services.shared.embedded import EmbeddedBroker, EmbeddedPostgres
from services.shared.kafka import EventProducer, ProducerSettings, ensure_topics
from services.shared.settings import Secret, Settings, Topics

# Tansu: a new consumer group takes about half the session timeout to join (and a member that died without
# leaving is evicted after it), so every join in the suite costs half of this: 3 s on the embedded Tansu, with
# heartbeats every second (a third of it). Apache Kafka refuses sessions under its group.min.session.timeout.ms
# (6 s by default), so a configured external broker keeps 6 s.
TEST_SESSION_TIMEOUT_MS = 6000 if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else 3000


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_bootstrap() -> AsyncIterator[str]:
    """A real Kafka-protocol broker for the whole session: KAFKA_BOOTSTRAP_SERVERS if set, else Tansu."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = EmbeddedBroker()
    await broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        await broker.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def producer(kafka_bootstrap: str) -> AsyncIterator[EventProducer]:
    """A started producer on the test broker, e.g. for the dead letters a worker under test may publish."""
    started = EventProducer(ProducerSettings(kafka_bootstrap))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_url() -> AsyncIterator[str]:
    """A real PostgreSQL for the whole session: DATABASE_URL if set, else a private embedded server."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="stormwatch-pg-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pgdata")
        await server.start()
        try:
            yield server.dsn
        finally:
            await server.stop()


@pytest.fixture
def unique() -> str:
    """A short id that keeps this test's topics, groups and schemas apart from every other test's."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def registry() -> CollectorRegistry:
    return metrics.new_registry()


async def _fresh_topics(kafka_bootstrap: str, unique: str) -> Topics:
    names = Topics(
        reviews=f"t{unique}.reviews",
        incidents=f"t{unique}.incidents",
        deadletter=f"t{unique}.deadletter",
    )
    await ensure_topics(kafka_bootstrap, {names.reviews: 4, names.incidents: 4, names.deadletter: 1})
    return names


@pytest_asyncio.fixture(loop_scope="session")
async def topics(kafka_bootstrap: str, unique: str) -> Topics:
    """Fresh review, incident and dead-letter topics (4 partitions each) for one test."""
    return await _fresh_topics(kafka_bootstrap, unique)


@pytest.fixture
def schema_name(unique: str) -> str:
    return f"test_{unique}"


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(database_url: str, schema_name: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh schema with every migration applied; the schema is dropped afterwards."""
    async with _fresh_schema(database_url, schema_name) as pool:
        yield pool


@contextlib.asynccontextmanager
async def _fresh_schema(database_url: str, schema_name: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database_url, schema_name, max_size=4)
    await db.apply_migrations(pool)
    try:
        yield pool
    finally:
        await pool.close()
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
        finally:
            await connection.close()


@dataclass(frozen=True)
class TestEnv:
    settings: Settings
    topics: Topics
    schema: str


@pytest_asyncio.fixture(loop_scope="session")
async def test_settings(
    kafka_bootstrap: str, database_url: str, topics: Topics, schema_name: str, db_pool: asyncpg.Pool
) -> Settings:
    """Settings pointing at the session broker and database, this test's topics and schema, HTTP on port 0."""
    return _settings(kafka_bootstrap, database_url, topics, schema_name)


def _settings(kafka_bootstrap: str, database_url: str, topics: Topics, schema_name: str) -> Settings:
    return Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=Secret(database_url),
        database_schema=schema_name,
        api_token=Secret("test-token"),
        link_secret=Secret("test-link-secret"),
        topics=topics,
        http_port=0,
        consumer_session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
        fetch_max_wait_ms=20,
        consumer_group_prefix=f"g{schema_name}",
    )


@dataclass(frozen=True)
class ModuleEnv:
    """One module's own topics, migrated schema (pool open) and registry, for an App its tests share (see below)."""

    settings: Settings
    db_pool: asyncpg.Pool
    registry: CollectorRegistry


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def module_env(kafka_bootstrap: str, database_url: str) -> AsyncIterator[ModuleEnv]:
    """Like `test_settings` + `db_pool` + `registry`, but once per module: for an App that a module's tests only
    read or whose changes they do not observe (starting and stopping one costs a consumer-group join)."""
    unique = uuid.uuid4().hex[:10]
    topics = await _fresh_topics(kafka_bootstrap, unique)
    schema_name = f"test_{unique}"
    async with _fresh_schema(database_url, schema_name) as pool:
        yield ModuleEnv(_settings(kafka_bootstrap, database_url, topics, schema_name), pool, metrics.new_registry())


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> Iterator[None]:
    from services.shared.logging import configure_logging

    configure_logging("json", os.environ.get("STORMWATCH_TEST_LOG_LEVEL", "warning"))
    yield
