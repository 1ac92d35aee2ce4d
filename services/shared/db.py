"""PostgreSQL through asyncpg: a pool pinned to one schema, and versioned SQL migrations applied at start."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from services.shared.errors import Reason, TransientError
from services.shared.logging import get_logger

log = get_logger("stormwatch.db")

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any fixed number: all Stormwatch services take this lock so that only one applies migrations at a time.
_MIGRATION_LOCK_KEY = 0x5707_3A7C


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def translate(exc: BaseException) -> TransientError:
    """Map asyncpg / OS errors onto Stormwatch's error vocabulary."""
    if isinstance(exc, OSError | asyncpg.exceptions.ConnectionDoesNotExistError):
        return TransientError(f"database unavailable: {type(exc).__name__}", reason=Reason.CONNECTION_ERROR)
    if isinstance(exc, TimeoutError):
        return TransientError("database timed out", reason=Reason.TIMEOUT)
    return TransientError(f"database error: {type(exc).__name__}", reason=Reason.SERVER_ERROR)


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid database schema name {schema!r}")
    return schema


# A service may start while PostgreSQL restarts or is briefly away (a deploy, a failover; the chaos suite does it):
# it waits this long for the database, backing off, instead of exiting with a traceback at its first connect.
CONNECT_WAIT_SECONDS = 60.0
_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)


async def create_pool(
    dsn: str,
    schema: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    wait_seconds: float = CONNECT_WAIT_SECONDS,
    synchronous_commit: bool = True,
) -> asyncpg.Pool:
    """A pool whose connections all use `schema` first on their search path (created when missing).

    `synchronous_commit=False`: a commit returns before its WAL reaches disk. A database crash can then lose the
    last fraction of a second of commits, whole transactions only; use it only where the work can be done again
    from what the database still has (the detector: offsets live in the same transactions as the state).

    While the database cannot be reached it retries for up to `wait_seconds`, then raises a TransientError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.2
    while True:
        try:
            return await _create_pool(
                dsn, schema, min_size=min_size, max_size=max_size, synchronous_commit=synchronous_commit
            )
        except _CONNECT_ERRORS as exc:
            if loop.time() + delay > deadline:
                raise translate(exc) from exc
            log.warning("database not reachable yet", error=type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _create_pool(
    dsn: str, schema: str, *, min_size: int, max_size: int, synchronous_commit: bool
) -> asyncpg.Pool:
    check_schema_name(schema)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # another service starting at the same moment created it (IF NOT EXISTS does not cover that race)
    finally:
        await connection.close()
    settings = {"search_path": schema, "application_name": "stormwatch"}
    if not synchronous_commit:  # otherwise the server's own setting (a replicated setup may want remote_apply)
        settings["synchronous_commit"] = "off"
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings=settings,
    )
    assert pool is not None
    return pool


def load_migrations() -> list[Migration]:
    """The SQL files in services/shared/migrations, ordered by their four-digit version prefix."""
    folder = resources.files("services.shared") / "migrations"
    migrations = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            migrations.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return migrations


async def apply_migrations(pool: asyncpg.Pool, *, wait_seconds: float = CONNECT_WAIT_SECONDS) -> list[int]:
    """Apply every migration not yet recorded, each in its own transaction; returns the versions applied.

    A service starting while PostgreSQL restarts loses its connection here (the chaos suite saw a detector exit):
    it tries again for up to `wait_seconds`. Safe, because each migration commits with its version row and the
    advisory lock dies with the connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.2
    while True:
        try:
            return await _apply_migrations(pool)
        except (*_CONNECT_ERRORS, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
            if loop.time() + delay > deadline:
                raise translate(exc) from exc
            log.warning("database lost while migrating, trying again", error=type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _apply_migrations(pool: asyncpg.Pool) -> list[int]:
    applied: list[int] = []
    async with pool.acquire() as connection:
        await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        try:
            await connection.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {row["version"] for row in await connection.fetch("SELECT version FROM schema_migrations")}
            for migration in load_migrations():
                if migration.version in done:
                    continue
                async with connection.transaction():
                    await connection.execute(migration.sql)
                    await connection.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
                applied.append(migration.version)
                log.info("migration applied", version=migration.version, name=migration.name)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    return applied


async def database_ready(pool: asyncpg.Pool) -> tuple[bool, str]:
    """Readiness check: the database answers a trivial query."""
    try:
        async with pool.acquire(timeout=2) as connection:
            await connection.fetchval("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return False, f"database unreachable: {type(exc).__name__}"
    return True, "ok"
