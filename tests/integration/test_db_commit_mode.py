"""Which pools commit asynchronously: only the detector's, whose work can be done again from what survives."""

from __future__ import annotations

import asyncpg

from services.shared import db


async def test_only_a_pool_that_asks_for_it_commits_asynchronously(database_url: str, schema_name: str) -> None:
    """`synchronous_commit=False` gives every connection of the pool `synchronous_commit = off`; by default a pool
    keeps the server's own setting (the alerter's notification log and the pollers' cursors must be durable at
    commit, and a replicated setup may ask for more than `on`)."""
    server_default = None
    connection = await asyncpg.connect(database_url)
    try:
        server_default = await connection.fetchval("SHOW synchronous_commit")
    finally:
        await connection.close()
    relaxed = await db.create_pool(database_url, schema_name, max_size=2, synchronous_commit=False)
    durable = await db.create_pool(database_url, schema_name, max_size=2)
    try:
        async with relaxed.acquire() as first, relaxed.acquire() as second:
            assert await first.fetchval("SHOW synchronous_commit") == "off"
            assert await second.fetchval("SHOW synchronous_commit") == "off"
        assert await durable.fetchval("SHOW synchronous_commit") == server_default != "off"
    finally:
        await relaxed.close()
        await durable.close()
