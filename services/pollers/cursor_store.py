"""Source cursors in PostgreSQL: where each poll loop resumes, advanced only after Kafka acknowledged a batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.shared import db

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class CursorStore:
    """Reads and writes the `source_cursors` table (migration 0001_pollers.sql)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self, source_id: str) -> dict[str, Any] | None:
        """The stored cursor of a source, or None before its first successful page."""
        try:
            raw = await self._pool.fetchval("SELECT cursor::text FROM source_cursors WHERE source_id = $1", source_id)
        except _DB_ERRORS as exc:
            raise db.translate(exc) from exc
        if raw is None:
            return None
        cursor: dict[str, Any] = orjson.loads(raw)
        return cursor

    async def save(
        self, source_id: str, platform: str, cursor: dict[str, Any], *, succeeded_at: datetime | None = None
    ) -> None:
        """Store the cursor; with `succeeded_at`, also record that a whole poll succeeded at that time."""
        try:
            await self._pool.execute(
                """INSERT INTO source_cursors (source_id, platform, cursor, updated_at, last_success_at)
                   VALUES ($1, $2, $3::jsonb, now(), $4)
                   ON CONFLICT (source_id) DO UPDATE SET
                       platform = EXCLUDED.platform,
                       cursor = EXCLUDED.cursor,
                       updated_at = now(),
                       last_success_at = COALESCE(EXCLUDED.last_success_at, source_cursors.last_success_at)""",
                source_id,
                platform,
                orjson.dumps(cursor).decode(),
                succeeded_at,
            )
        except _DB_ERRORS as exc:
            raise db.translate(exc) from exc
