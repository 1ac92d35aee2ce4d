"""Incident reads and responder transitions (acknowledge, resolve) for the HTTP API, as compare-and-set SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson

from services.alerter.store import translated
from services.shared.timeutil import format_rfc3339

_SUMMARY_COLUMNS = """incident_id, version, status, kind, severity, merchant_id, platform, category, title, summary,
    started_at, detected_at, resolved_at, response_state, acknowledged_at, acknowledged_by, resolved_by,
    created_at, updated_at"""

Transition = Literal["acknowledge", "resolve"]
# Which responder states each transition may leave: anything else is a conflict (409).
_FROM_STATES: dict[Transition, tuple[str, ...]] = {
    "acknowledge": ("triggered",),
    "resolve": ("triggered", "acknowledged"),
}


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    merchant: str | None = None
    status: str | None = None
    kind: str | None = None
    response_state: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """`incident` is the updated incident when the transition won; otherwise `current_state` says why not."""

    found: bool
    incident: dict[str, Any] | None = None
    current_state: str | None = None


class IncidentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list(self, query: IncidentFilter) -> list[dict[str, Any]]:
        """Newest first (by start), filtered by merchant, detector status, kind and responder state."""
        async with translated():
            rows = await self._pool.fetch(
                f"""SELECT {_SUMMARY_COLUMNS} FROM incidents
                    WHERE ($1::text IS NULL OR merchant_id = $1)
                      AND ($2::text IS NULL OR status = $2)
                      AND ($3::text IS NULL OR kind = $3)
                      AND ($4::text IS NULL OR response_state = $4)
                    ORDER BY started_at DESC, incident_id
                    LIMIT $5""",  # noqa: S608 - the interpolated part is a constant column list
                query.merchant,
                query.status,
                query.kind,
                query.response_state,
                query.limit,
            )
        return [_row_dict(row) for row in rows]

    async def get(self, incident_id: str) -> dict[str, Any] | None:
        """The incident with its latest evidence and playbook, its state history and every notification."""
        async with translated(), self._pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT {_SUMMARY_COLUMNS}, payload FROM incidents WHERE incident_id = $1",  # noqa: S608 - constant
                incident_id,
            )
            if row is None:
                return None
            states = await connection.fetch(
                """SELECT version, status, received_at FROM incident_states
                   WHERE incident_id = $1 ORDER BY version""",
                incident_id,
            )
            notifications = await connection.fetch(
                """SELECT notification_id, receiver, version, route, status, attempts, next_attempt_at, last_reason,
                          last_error, created_at, delivered_at, latency_seconds
                   FROM notifications WHERE incident_id = $1 ORDER BY version, receiver""",
                incident_id,
            )
        incident = _row_dict(row)
        payload = orjson.loads(incident.pop("payload"))
        incident["evidence"] = payload["evidence"]
        incident["playbook"] = payload["playbook"]
        incident["thread_id"] = payload["thread_id"]
        incident["observed_at"] = payload["observed_at"]
        return {
            "incident": incident,
            "states": [_row_dict(state) for state in states],
            "notifications": [_row_dict(n) for n in notifications],
        }

    async def transition(self, incident_id: str, transition: Transition, by: str) -> TransitionResult:
        """Compare-and-set: the UPDATE only applies from an allowed state, so concurrent callers cannot both win."""
        allowed = list(_FROM_STATES[transition])
        if transition == "acknowledge":
            sql = f"""UPDATE incidents
                      SET response_state = 'acknowledged', acknowledged_at = now(), acknowledged_by = $3,
                          updated_at = now()
                      WHERE incident_id = $1 AND response_state = ANY($2::text[])
                      RETURNING {_SUMMARY_COLUMNS}"""  # noqa: S608 - constant column list
        else:
            sql = f"""UPDATE incidents
                      SET response_state = 'resolved', resolved_by = $3, resolved_at = COALESCE(resolved_at, now()),
                          updated_at = now()
                      WHERE incident_id = $1 AND response_state = ANY($2::text[])
                      RETURNING {_SUMMARY_COLUMNS}"""  # noqa: S608 - constant column list
        async with translated(), self._pool.acquire() as connection:
            row = await connection.fetchrow(sql, incident_id, allowed, by)
            if row is not None:
                return TransitionResult(found=True, incident=_row_dict(row))
            current = await connection.fetchval(
                "SELECT response_state FROM incidents WHERE incident_id = $1", incident_id
            )
        return TransitionResult(found=current is not None, current_state=current)


def _row_dict(row: asyncpg.Record) -> dict[str, Any]:
    return {key: format_rfc3339(value) if isinstance(value, datetime) else value for key, value in row.items()}
