"""Silences in PostgreSQL: create, list, expire. They expire by themselves at `ends_at` (reads compare with now)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.alerter.store import translated
from services.shared.timeutil import format_rfc3339

_COLUMNS = "silence_id, matchers, owner, reason, starts_at, ends_at, created_at, expired_at"


class SilenceStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, matchers: Mapping[str, str], owner: str, reason: str, starts_at: datetime, ends_at: datetime
    ) -> dict[str, Any]:
        async with translated():
            row = await self._pool.fetchrow(
                f"""INSERT INTO silences (silence_id, matchers, owner, reason, starts_at, ends_at)
                    VALUES ($1, $2::jsonb, $3, $4, $5, $6) RETURNING {_COLUMNS}""",  # noqa: S608 - constant columns
                secrets.token_hex(16),
                orjson.dumps(dict(matchers)).decode(),
                owner,
                reason,
                starts_at,
                ends_at,
            )
        assert row is not None
        return await self._present(row)

    async def list(self, *, include_expired: bool) -> list[dict[str, Any]]:
        async with translated():
            rows = await self._pool.fetch(
                f"""SELECT {_COLUMNS} FROM silences
                    WHERE $1 OR (expired_at IS NULL AND ends_at > now())
                    ORDER BY created_at DESC LIMIT 500""",  # noqa: S608 - constant columns
                include_expired,
            )
        return [await self._present(row) for row in rows]

    async def expire(self, silence_id: str) -> dict[str, Any] | None:
        async with translated():
            row = await self._pool.fetchrow(
                f"""UPDATE silences SET expired_at = now()
                    WHERE silence_id = $1 AND expired_at IS NULL AND ends_at > now()
                    RETURNING {_COLUMNS}""",  # noqa: S608 - constant columns
                silence_id,
            )
        return None if row is None else await self._present(row)

    async def _present(self, row: asyncpg.Record) -> dict[str, Any]:
        now: datetime = await self._pool.fetchval("SELECT now()")
        state = "active"
        if row["expired_at"] is not None or row["ends_at"] <= now:
            state = "expired"
        elif row["starts_at"] > now:
            state = "pending"
        return {
            "silence_id": row["silence_id"],
            "matchers": orjson.loads(row["matchers"]),
            "owner": row["owner"],
            "reason": row["reason"],
            "starts_at": format_rfc3339(row["starts_at"]),
            "ends_at": format_rfc3339(row["ends_at"]),
            "created_at": format_rfc3339(row["created_at"]),
            "expired_at": None if row["expired_at"] is None else format_rfc3339(row["expired_at"]),
            "state": state,
        }
