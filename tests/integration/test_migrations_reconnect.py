"""Migrations survive losing the database connection mid-way (a service starting while PostgreSQL restarts)."""

from __future__ import annotations

import asyncio

import asyncpg

from services.shared import db


async def test_a_migration_whose_connection_is_killed_is_tried_again(database_url: str, schema_name: str) -> None:
    """The migrating connection is terminated while it waits for the migration lock; apply_migrations tries again
    on a fresh connection and applies every migration exactly once."""
    pool = await db.create_pool(database_url, schema_name, max_size=2)
    holder = await asyncpg.connect(database_url)
    try:
        # Hold the migration lock, so the migrating connection is sure to be waiting when it is killed.
        await holder.execute("SELECT pg_advisory_lock($1)", db._MIGRATION_LOCK_KEY)
        migrating = asyncio.create_task(db.apply_migrations(pool))
        killed = 0
        for _ in range(100):
            killed = await holder.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE pid <> pg_backend_pid() AND query LIKE 'SELECT pg_advisory_lock%'
                     AND wait_event_type = 'Lock'"""
            )
            if killed:
                break
            await asyncio.sleep(0.05)
        assert killed == 1
        await holder.execute("SELECT pg_advisory_unlock($1)", db._MIGRATION_LOCK_KEY)
        applied = await asyncio.wait_for(migrating, 60)
        assert applied == [migration.version for migration in db.load_migrations()]
        async with pool.acquire() as pooled:
            recorded = await pooled.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in recorded] == applied
    finally:
        await holder.close()
        await pool.close()
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
        finally:
            await connection.close()
