"""Item fingerprints in PostgreSQL: loaded per page, upserted after the ack, kept per source."""

from __future__ import annotations

import asyncpg

from services.pollers.fingerprints import FingerprintStore


async def test_fingerprints_round_trip_and_upsert(db_pool: asyncpg.Pool) -> None:
    """Saved fingerprints load back by item id, a new version replaces the old, other sources are separate."""
    store = FingerprintStore(db_pool)
    assert await store.load("s1", []) == {}
    await store.save("s1", {"a": "v1", "b": "v1"})
    await store.save("s2", {"a": "other"})
    await store.save("s1", {"a": "v2"})
    assert await store.load("s1", ["a", "b", "c"]) == {"a": "v2", "b": "v1"}
    assert await store.load("s2", ["a"]) == {"a": "other"}
