"""Incident reads and responder transitions (acknowledge, resolve) for the HTTP API, as compare-and-set SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson

from services.alerter.notifiers.base import notification_id
from services.alerter.store import translated
from services.alerter.telemetry import AlerterMetrics
from services.shared.events import IncidentEvent
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


# After an acknowledgement: (receiver, delay) pairs to re-notify if the incident is still only acknowledged then.
AckTimeouts = Callable[[IncidentEvent], Sequence[tuple[str, float]]]


class IncidentStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        metrics: AlerterMetrics | None = None,
        *,
        ack_timeouts: AckTimeouts | None = None,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._ack_timeouts = ack_timeouts

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
                """SELECT version, status, received_at, payload FROM incident_states
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
        incident["review_created_at"] = payload.get("review_created_at")
        return {
            "incident": incident,
            "states": [_state_dict(state) for state in states],
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
            async with connection.transaction():
                row = await connection.fetchrow(sql, incident_id, allowed, by)
                if row is not None:
                    await self._follow_up(connection, transition, row)
            if row is not None:
                self._observe(transition, row)
                return TransitionResult(found=True, incident=_row_dict(row))
            current = await connection.fetchval(
                "SELECT response_state FROM incidents WHERE incident_id = $1", incident_id
            )
        return TransitionResult(found=current is not None, current_state=current)

    async def _follow_up(
        self, connection: asyncpg.pool.PoolConnectionProxy, transition: Transition, row: asyncpg.Record
    ) -> None:
        """In the transition's transaction: tell every receiver already paged for the incident (PagerDuty and
        Opsgenie acknowledge / resolve their alert; chat and mail learn who acted), and plan the ack-timeout
        re-notifications of its escalation policy."""
        incident_id, version = row["incident_id"], row["version"]
        step = "acknowledge" if transition == "acknowledge" else "resolve"
        receivers = await connection.fetch(
            """SELECT DISTINCT receiver FROM notifications
               WHERE incident_id = $1 AND status = 'delivered' AND step NOT IN ('acknowledge', 'resolve')""",
            incident_id,
        )
        actor = row["acknowledged_by"] if transition == "acknowledge" else row["resolved_by"]
        await connection.executemany(
            """INSERT INTO notifications (notification_id, incident_id, version, receiver, route, step, explanation)
               VALUES ($1, $2, $3, $4, '', $5, $6) ON CONFLICT DO NOTHING""",
            [
                (
                    notification_id(incident_id, version, r["receiver"], step),
                    incident_id,
                    version,
                    r["receiver"],
                    step,
                    f"follow-up: {step} by {actor}",
                )
                for r in receivers
            ],
        )
        if transition != "acknowledge" or self._ack_timeouts is None:
            return
        payload = await connection.fetchval(
            "SELECT payload FROM incident_states WHERE incident_id = $1 AND version = $2", incident_id, version
        )
        incident = IncidentEvent.from_dict(orjson.loads(payload))
        stamp = int(row["acknowledged_at"].timestamp())
        planned = [
            (f"ack_timeout:{stamp}", receiver, delay) for receiver, delay in self._ack_timeouts(incident) if delay > 0
        ]
        if planned:
            await connection.executemany(
                """INSERT INTO notifications (notification_id, incident_id, version, receiver, route, step, requires,
                       next_attempt_at, explanation)
                   VALUES ($1, $2, $3, $4, '', $5, 'acknowledged', now() + $6 * interval '1 second', $7)
                   ON CONFLICT DO NOTHING""",
                [
                    (
                        notification_id(incident_id, version, receiver, step_name),
                        incident_id,
                        version,
                        receiver,
                        step_name,
                        delay,
                        f"ack timeout: re-notify if still not resolved after {delay:g}s",
                    )
                    for step_name, receiver, delay in planned
                ],
            )

    def _observe(self, transition: Transition, row: asyncpg.Record) -> None:
        """Response SLAs in metrics: detection to the responder's acknowledge or resolve, by kind, platform,
        merchant and responder (bounded label values: `AlerterMetrics.labels`)."""
        if self._metrics is None:
            return
        labels = self._metrics.labels
        kind, platform, merchant = row["kind"], row["platform"] or "", labels.merchant(row["merchant_id"])
        if transition == "acknowledge" and row["acknowledged_at"] is not None:
            seconds = (row["acknowledged_at"] - row["detected_at"]).total_seconds()
            responder = labels.responder(row["acknowledged_by"])
            self._metrics.time_to_acknowledge.labels(kind, platform, merchant, responder).observe(max(0.0, seconds))
        elif transition == "resolve" and row["resolved_at"] is not None:
            seconds = (row["resolved_at"] - row["detected_at"]).total_seconds()
            responder = labels.responder(row["resolved_by"])
            self._metrics.time_to_resolve.labels(kind, platform, merchant, responder).observe(max(0.0, seconds))


def _state_dict(row: asyncpg.Record) -> dict[str, Any]:
    """One version of the incident with its own evidence (the console charts every version, not only the ones it
    saw arrive); sample reviews stay with the incident's latest evidence, so the history stays small."""
    state = _row_dict(row)
    payload = orjson.loads(state.pop("payload"))
    evidence = dict(payload["evidence"])
    evidence.pop("sample_items", None)
    state.update(
        severity=payload["severity"],
        detected_at=payload["detected_at"],
        observed_at=payload["observed_at"],
        evidence=evidence,
    )
    return state


def _row_dict(row: asyncpg.Record) -> dict[str, Any]:
    return {key: format_rfc3339(value) if isinstance(value, datetime) else value for key, value in row.items()}
