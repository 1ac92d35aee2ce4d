"""Per-item content fingerprints in PostgreSQL: how a re-served item is told apart as unchanged, edited or deleted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import asyncpg

from services.shared import db

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class Fingerprints(Protocol):
    async def load(self, source_id: str, item_ids: Iterable[str]) -> dict[str, str]: ...

    async def save(self, source_id: str, fingerprints: Mapping[str, str]) -> None: ...


class FingerprintStore:
    """The `item_fingerprints` table (migration 0004_pollers_fingerprints.sql), written after Kafka acknowledged."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self, source_id: str, item_ids: Iterable[str]) -> dict[str, str]:
        ids = list(item_ids)
        if not ids:
            return {}
        try:
            rows = await self._pool.fetch(
                "SELECT item_id, fingerprint FROM item_fingerprints WHERE source_id = $1 AND item_id = ANY($2::text[])",
                source_id,
                ids,
            )
        except _DB_ERRORS as exc:
            raise db.translate(exc) from exc
        return {row["item_id"]: row["fingerprint"] for row in rows}

    async def save(self, source_id: str, fingerprints: Mapping[str, str]) -> None:
        if not fingerprints:
            return
        items = sorted(fingerprints.items())
        try:
            await self._pool.execute(
                """INSERT INTO item_fingerprints (source_id, item_id, fingerprint, updated_at)
                   SELECT $1, item_id, fingerprint, now() FROM unnest($2::text[], $3::text[]) AS t(item_id, fingerprint)
                   ON CONFLICT (source_id, item_id) DO UPDATE SET
                       fingerprint = EXCLUDED.fingerprint, updated_at = now()""",
                source_id,
                [item for item, _ in items],
                [fp for _, fp in items],
            )
        except _DB_ERRORS as exc:
            raise db.translate(exc) from exc


class MemoryFingerprints:
    """In-memory fingerprints for tests and for benchmarks without a database."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}

    async def load(self, source_id: str, item_ids: Iterable[str]) -> dict[str, str]:
        return {i: self.rows[(source_id, i)] for i in item_ids if (source_id, i) in self.rows}

    async def save(self, source_id: str, fingerprints: Mapping[str, str]) -> None:
        for item_id, fingerprint in fingerprints.items():
            self.rows[(source_id, item_id)] = fingerprint
