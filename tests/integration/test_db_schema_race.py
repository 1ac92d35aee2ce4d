"""Services that start together on a fresh database all get their pool: creating the schema is not a race."""

from __future__ import annotations

import asyncio

import asyncpg

from services.shared import db


async def test_services_starting_together_on_a_fresh_schema_all_connect(database_url: str, unique: str) -> None:
    """Pollers, detector and alerter create the same schema when they start (`CREATE SCHEMA IF NOT EXISTS`), and
    PostgreSQL lets two of those race into a unique violation (a long chaos run's detector exited on it). Eight
    pools created at once on each of several fresh schemas all open, and the schema exists once."""
    schemas = [f"race_{unique}_{n}" for n in range(5)]
    try:
        for schema in schemas:
            pools = await asyncio.gather(
                *(db.create_pool(database_url, schema, min_size=1, max_size=1) for _ in range(8))
            )
            for pool in pools:
                assert await pool.fetchval("SELECT current_schema()") == schema
                await pool.close()
    finally:
        connection = await asyncpg.connect(database_url)
        try:
            for schema in schemas:
                await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()
