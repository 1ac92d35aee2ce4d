"""The notification log in PostgreSQL: intake writes incident states and their notifications, delivery claims them.

This module is the asyncpg boundary of the alerter: connection-level failures leave it as TransientError.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
import orjson

from services.alerter.journal import Accepted
from services.alerter.notifiers.base import notification_id
from services.alerter.pipeline import IntakeContext, OpenIncident, Pipeline, Plan, ResponseState, Silence
from services.shared import db
from services.shared.errors import BadInput, Reason
from services.shared.events import IncidentEvent
from services.shared.timeutil import format_rfc3339, parse_rfc3339

# Failures a retry can fix; anything else from asyncpg is a bug and must surface, not loop.
_TRANSIENT_DB_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # A pooled connection PostgreSQL dropped mid-query cannot be reset on release ("cannot switch to state"):
    # seen when the server shut down under a delivery lane, which then ended the alerter (chaos suite, long run).
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
_MAX_ERROR = 200
# A delivery this claim already logged: a retry after a commit whose answer the connection lost finds it so. Another
# claim of the row would have raised `attempts`, so it is ours, and the caller counts it (once: it had not yet).
# Delivered now, if the claim (status 'sending' and the attempt it was sent under) still holds the row.
_MARK_DELIVERED = """UPDATE notifications
    SET status = 'delivered', delivered_at = now(), last_reason = NULL, last_error = NULL, sent_as = $3,
        latency_seconds = GREATEST(0, EXTRACT(EPOCH FROM now() - $4::timestamptz))
    WHERE notification_id = $1 AND status = 'sending' AND attempts = $2
    RETURNING latency_seconds"""
# The same claim logged it already (a retry after a lost commit answer).
_ALREADY_DELIVERED = """SELECT latency_seconds FROM notifications
    WHERE notification_id = $1 AND status = 'delivered' AND attempts = $2 AND sent_as = $3"""

FinalStatus = Literal["failed", "dead"]


@contextlib.asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """The one asyncpg boundary of the alerter: transient failures become TransientError, and values PostgreSQL
    refuses to store (a NUL character, an out-of-range number) become BadInput, so they are dead-lettered."""
    try:
        yield
    except _TRANSIENT_DB_ERRORS as exc:
        raise db.translate(exc) from exc
    except asyncpg.exceptions.DataError as exc:
        raise BadInput(f"database refused a value: {type(exc).__name__}", reason=Reason.SCHEMA_INVALID) from exc


@dataclass(frozen=True, slots=True)
class RecordedState:
    """What the intake did with one incident state."""

    incident: IncidentEvent
    outcome: Literal["new", "duplicate", "stale"]
    planned: Plan = ()
    # Reasons of the planned notifications the pipeline suppressed (for the suppressed metric).
    suppressed: tuple[str, ...] = ()
    # Reasons of the planned notifications moved later but still sent (rate caps: the deferred metric).
    deferred: tuple[str, ...] = ()
    # Set when this state is the first to report the merchant's first public reply (for the metric, once).
    first_reply_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ClaimedNotification:
    """A notification this process now owns until it records an outcome (or its lease runs out)."""

    notification_id: str
    receiver: str
    incident: IncidentEvent
    attempt: int
    step: str = ""
    group_key: str = ""

    @property
    def aggregatable(self) -> bool:
        """A state's own notification on a route with group_by (its group may hold other incidents)."""
        return not self.step and bool(self.group_key) and "|incident=" not in self.group_key


@dataclass(frozen=True, slots=True)
class Recorded:
    """`owned` is False when another claim took the row over (our lease ran out): then nothing was recorded."""

    owned: bool
    latency_seconds: float | None = None


class NotificationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # ---- intake -------------------------------------------------------------------------------------------

    async def record_states(self, incidents: Sequence[IncidentEvent], pipeline: Pipeline) -> list[RecordedState]:
        """Store a batch of incident states and plan their notifications, all in one transaction.

        A state newer than the stored one updates the incident and gets one notification row per planned
        receiver; an equal version is a duplicate and an older one is stale: both are recorded as history only.
        """
        async with translated(), self._pool.acquire() as connection, connection.transaction():
            return [await self._record_state(connection, incident, pipeline) for incident in incidents]

    async def _record_state(
        self, connection: asyncpg.pool.PoolConnectionProxy, incident: IncidentEvent, pipeline: Pipeline
    ) -> RecordedState:
        payload = orjson.dumps(incident.to_dict()).decode()
        await connection.execute(
            """INSERT INTO incident_states (incident_id, version, status, payload)
               VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING""",
            incident.incident_id,
            incident.version,
            incident.status,
            payload,
        )
        # Row lock: concurrent intake of the same incident (a rebalance overlap) serialises here.
        stored = await connection.fetchrow(
            "SELECT version, first_reply_at FROM incidents WHERE incident_id = $1 FOR UPDATE", incident.incident_id
        )
        previous = None if stored is None else stored["version"]
        state = None
        if previous is None or previous < incident.version:
            state = await self._upsert_incident(connection, incident, payload)
        if state is None:
            # Seen before, or another intake inserted this incident first: its transaction planned the notifications.
            stored = await connection.fetchval(
                "SELECT version FROM incidents WHERE incident_id = $1", incident.incident_id
            )
            return RecordedState(incident, "duplicate" if stored == incident.version else "stale")
        plan = await pipeline.plan(IntakeContext(incident, state, previous, DbFacts(connection)))
        if plan:
            await connection.executemany(
                """INSERT INTO notifications (notification_id, incident_id, version, receiver, route, next_attempt_at,
                       step, requires, group_key, explanation, status, last_reason, due_at, target, deferred)
                   VALUES ($1, $2, $3, $4, $5, COALESCE($14, now() + $6 * interval '1 second'), $7, $8, $9, $10,
                           CASE WHEN $11::text IS NULL THEN 'pending' ELSE 'suppressed' END, $11::text,
                           COALESCE($14, now() + $6 * interval '1 second'), $12, $13)
                   ON CONFLICT DO NOTHING""",
                [
                    (
                        notification_id(incident.incident_id, incident.version, p.receiver, p.step),
                        incident.incident_id,
                        incident.version,
                        p.receiver,
                        p.route,
                        p.delay_seconds,
                        p.step,
                        p.requires,
                        p.group_key,
                        "\n".join(p.why),
                        p.suppressed,
                        p.target,
                        p.deferred,
                        p.not_before,
                    )
                    for p in plan
                ],
            )
        first_reply = (
            incident.first_reply_seconds
            if incident.first_reply_at is not None and (stored is None or stored["first_reply_at"] is None)
            else None
        )
        return RecordedState(
            incident,
            "new",
            tuple(p for p in plan if p.active),
            tuple(p.suppressed for p in plan if p.suppressed is not None),
            tuple(p.deferred for p in plan if p.deferred is not None and p.active),
            first_reply,
        )

    async def _upsert_incident(
        self, connection: asyncpg.pool.PoolConnectionProxy, incident: IncidentEvent, payload: str
    ) -> ResponseState | None:
        """Insert or update the incident unless a newer or equal version is stored (then None)."""
        resolved = incident.status == "resolved"
        row = await connection.fetchrow(
            """INSERT INTO incidents AS i (incident_id, version, status, kind, severity, merchant_id, platform,
                   category, title, summary, started_at, detected_at, resolved_at, payload, response_state,
                   resolved_by, first_reply_at, first_reply_seconds)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb,
                       CASE WHEN $15 THEN 'resolved' ELSE 'triggered' END,
                       CASE WHEN $15 THEN 'detector' END, $16, $17)
               ON CONFLICT (incident_id) DO UPDATE SET
                   version = EXCLUDED.version, status = EXCLUDED.status, kind = EXCLUDED.kind,
                   severity = EXCLUDED.severity, merchant_id = EXCLUDED.merchant_id, platform = EXCLUDED.platform,
                   category = EXCLUDED.category, title = EXCLUDED.title, summary = EXCLUDED.summary,
                   started_at = EXCLUDED.started_at, detected_at = EXCLUDED.detected_at,
                   resolved_at = COALESCE(i.resolved_at, EXCLUDED.resolved_at),
                   payload = EXCLUDED.payload,
                   first_reply_seconds = CASE WHEN i.first_reply_at IS NULL THEN EXCLUDED.first_reply_seconds
                                              ELSE i.first_reply_seconds END,
                   first_reply_at = COALESCE(i.first_reply_at, EXCLUDED.first_reply_at),
                   -- The detector's resolve closes the incident for responders too; a responder's resolve stays.
                   response_state = CASE WHEN $15 THEN 'resolved' ELSE i.response_state END,
                   resolved_by = CASE WHEN $15 AND i.response_state <> 'resolved' THEN 'detector'
                                      ELSE i.resolved_by END,
                   updated_at = now()
               WHERE i.version < EXCLUDED.version
               RETURNING response_state""",
            incident.incident_id,
            incident.version,
            incident.status,
            incident.kind,
            incident.severity,
            incident.merchant_id,
            incident.platform,
            incident.category,
            incident.title,
            incident.summary,
            parse_rfc3339(incident.started_at),
            parse_rfc3339(incident.detected_at),
            None if incident.resolved_at is None else parse_rfc3339(incident.resolved_at),
            payload,
            resolved,
            None if incident.first_reply_at is None else parse_rfc3339(incident.first_reply_at),
            incident.first_reply_seconds,
        )
        if row is None:
            return None
        state: ResponseState = row["response_state"]
        return state

    async def count_unknown_receivers(self, known: Sequence[str]) -> dict[str, int]:
        """Open notifications for receivers no longer configured: they wait until the receiver comes back."""
        async with translated():
            rows = await self._pool.fetch(
                """SELECT receiver, count(*) AS n FROM notifications
                   WHERE status IN ('pending', 'sending') AND NOT (receiver = ANY($1::text[]))
                   GROUP BY receiver""",
                list(known),
            )
        return {row["receiver"]: row["n"] for row in rows}

    # ---- delivery -----------------------------------------------------------------------------------------

    async def claim_due(
        self, receiver: str, limit: int, lease_seconds: float, *, whole_groups: bool = False
    ) -> list[ClaimedNotification]:
        """Take up to `limit` due notifications of one receiver and mark them 'sending' under a lease.

        With `whole_groups`, every other due state of the groups (route group_by) among them is claimed too, even
        beyond `limit`: the delivery sends each group's due states as one message.

        Due means pending and past its time, or 'sending' with an expired lease (its sender crashed between
        send and log: it is sent again with the same id). A state waits while an earlier version of the same
        incident is still open for this receiver, so receivers see states in version order. SKIP LOCKED lets
        several replicas share the work without blocking each other.
        """
        async with translated():
            # Conditional notifications (pending_for, escalation, ack timeout) whose condition no longer holds
            # are suppressed when due, before the claim: an acknowledgement stops every path at once.
            await self._pool.execute(
                """UPDATE notifications n
                   SET status = 'suppressed',
                       last_reason = CASE WHEN i.response_state = 'resolved' OR i.status = 'resolved'
                                          THEN 'resolved'
                                          WHEN i.response_state = 'triggered' THEN 'superseded'
                                          ELSE i.response_state END
                   FROM incidents i
                   WHERE n.receiver = $1 AND n.status = 'pending' AND n.requires <> ''
                     AND n.next_attempt_at <= now() AND i.incident_id = n.incident_id
                     AND CASE n.requires
                           WHEN 'unacknowledged' THEN i.response_state <> 'triggered' OR i.status = 'resolved'
                                -- a repeat of a state a newer state superseded is dropped
                                OR (n.step LIKE 'repeat:%' AND i.version <> n.version)
                           ELSE i.response_state <> 'acknowledged' OR i.status = 'resolved' END""",
                receiver,
            )
            rows = await self._pool.fetch(
                """WITH first AS (
                       SELECT n.notification_id, n.group_key, n.step FROM notifications n
                       WHERE n.receiver = $1
                         AND n.status IN ('pending', 'sending')
                         AND n.next_attempt_at <= now()
                         -- States reach a receiver in version order; escalation steps do not hold states back.
                         AND (n.step <> '' OR NOT EXISTS (
                             SELECT 1 FROM notifications p
                             WHERE p.incident_id = n.incident_id AND p.receiver = n.receiver AND p.step = ''
                               AND p.version < n.version AND p.status IN ('pending', 'sending')))
                       ORDER BY n.next_attempt_at, n.created_at
                       LIMIT $2
                       FOR UPDATE SKIP LOCKED),
                   more AS (
                       SELECT n.notification_id FROM notifications n
                       WHERE $4 AND n.receiver = $1 AND n.step = ''
                         AND n.status IN ('pending', 'sending')
                         AND n.next_attempt_at <= now()
                         AND n.group_key IN (SELECT f.group_key FROM first f
                                             WHERE f.step = '' AND f.group_key <> ''
                                               AND position('|incident=' in f.group_key) = 0)
                         AND n.notification_id NOT IN (SELECT f.notification_id FROM first f)
                         AND NOT EXISTS (
                             SELECT 1 FROM notifications p
                             WHERE p.incident_id = n.incident_id AND p.receiver = n.receiver AND p.step = ''
                               AND p.version < n.version AND p.status IN ('pending', 'sending'))
                       FOR UPDATE SKIP LOCKED),
                   due AS (SELECT notification_id FROM first UNION ALL SELECT notification_id FROM more)
                   UPDATE notifications n
                   SET status = 'sending', attempts = n.attempts + 1,
                       next_attempt_at = now() + $3 * interval '1 second'
                   FROM due WHERE n.notification_id = due.notification_id
                   RETURNING n.notification_id, n.receiver, n.attempts, n.step, n.group_key, n.next_attempt_at,
                       (SELECT s.payload FROM incident_states s
                        WHERE s.incident_id = n.incident_id AND s.version = n.version) AS payload""",
                receiver,
                limit,
                lease_seconds,
                whole_groups,
            )
            # RETURNING has no order: oldest due first, as claimed.
            rows = sorted(rows, key=lambda row: (row["next_attempt_at"], row["notification_id"]))
        return [
            ClaimedNotification(
                notification_id=row["notification_id"],
                receiver=row["receiver"],
                incident=IncidentEvent.from_dict(orjson.loads(row["payload"])),
                attempt=row["attempts"],
                step=row["step"],
                group_key=row["group_key"],
            )
            for row in rows
        ]

    async def mark_delivered(self, claimed: ClaimedNotification, observed_at: datetime | None) -> Recorded:
        """Delivered now; returns whether this claim still owned the row (or had logged it already: a retry after
        a lost commit answer) and the end-to-end latency."""
        async with translated():
            return await _mark_delivered(
                self._pool, claimed.notification_id, claimed.attempt, claimed.notification_id, observed_at
            )

    async def mark_group_delivered(
        self, claims: Sequence[ClaimedNotification], sent_as: str
    ) -> list[tuple[ClaimedNotification, Recorded]]:
        """One group send delivered: every row it carried is marked in one transaction, each naming the send."""
        results: list[tuple[ClaimedNotification, Recorded]] = []
        async with translated(), self._pool.acquire() as connection, connection.transaction():
            for claimed in claims:
                observed = claimed.incident.observed_at
                recorded = await _mark_delivered(
                    connection,
                    claimed.notification_id,
                    claimed.attempt,
                    sent_as,
                    None if observed is None else parse_rfc3339(observed),
                )
                results.append((claimed, recorded))
        return results

    async def record_accepted(self, entries: Sequence[Accepted]) -> int:
        """Log what a previous process's receivers accepted (its delivery journal), in one transaction, each row
        conditional on the claim it was sent under; returns how many rows this logged (the others were logged
        already, or re-claimed after their lease ran out: those are sent again)."""
        logged = 0
        async with translated(), self._pool.acquire() as connection, connection.transaction():
            for entry in entries:
                observed = None if entry.observed_at is None else parse_rfc3339(entry.observed_at)
                row = await connection.fetchrow(
                    _MARK_DELIVERED, entry.notification_id, entry.attempt, entry.sent_as, observed
                )
                logged += row is not None
        return logged

    async def schedule_retry(
        self, claimed: ClaimedNotification, delay_seconds: float, reason: str, error: str
    ) -> Recorded:
        async with translated():
            row = await self._pool.fetchrow(
                """UPDATE notifications
                   SET status = 'pending', next_attempt_at = now() + $3 * interval '1 second',
                       last_reason = $4, last_error = $5
                   WHERE notification_id = $1 AND status = 'sending' AND attempts = $2
                   RETURNING notification_id""",
                claimed.notification_id,
                claimed.attempt,
                delay_seconds,
                reason,
                error[:_MAX_ERROR],
            )
        return Recorded(row is not None)

    async def mark_final(self, claimed: ClaimedNotification, status: FinalStatus, reason: str, error: str) -> Recorded:
        """Give up: 'failed' (the receiver refused it) or 'dead' (the retry budget is spent)."""
        async with translated():
            row = await self._pool.fetchrow(
                """UPDATE notifications SET status = $3, last_reason = $4, last_error = $5
                   WHERE notification_id = $1 AND status = 'sending' AND attempts = $2
                   RETURNING notification_id""",
                claimed.notification_id,
                claimed.attempt,
                status,
                reason,
                error[:_MAX_ERROR],
            )
        return Recorded(row is not None)


class DbFacts:
    """The pipeline's facts, read inside the intake transaction (so a replayed batch sees what it saw before)."""

    def __init__(self, connection: asyncpg.pool.PoolConnectionProxy | asyncpg.Pool) -> None:
        self._connection = connection

    async def now(self) -> datetime:
        """The transaction's time: what `now()` in the log's INSERTs says."""
        moment: datetime = await self._connection.fetchval("SELECT now()")
        return moment

    async def active_silences(self) -> Sequence[Silence]:
        rows = await self._connection.fetch(
            """SELECT silence_id, matchers, owner, reason, ends_at FROM silences
               WHERE expired_at IS NULL AND starts_at <= now() AND ends_at > now()
               ORDER BY created_at"""
        )
        return [
            Silence(
                silence_id=row["silence_id"],
                matchers=_str_map(orjson.loads(row["matchers"])),
                owner=row["owner"],
                reason=row["reason"],
                ends_at=format_rfc3339(row["ends_at"]),
            )
            for row in rows
        ]

    async def open_incidents(self, merchant_id: str, exclude: str) -> Sequence[OpenIncident]:
        rows = await self._connection.fetch(
            """SELECT incident_id, merchant_id, platform, kind, severity, category FROM incidents
               WHERE merchant_id = $1 AND incident_id <> $2 AND status <> 'resolved'
                 AND response_state <> 'resolved'""",
            merchant_id,
            exclude,
        )
        return [
            OpenIncident(
                incident_id=row["incident_id"],
                labels={
                    "merchant": row["merchant_id"],
                    "platform": row["platform"],
                    "kind": row["kind"],
                    "severity": row["severity"],
                    "category": row["category"],
                },
            )
            for row in rows
        ]

    async def count_due_between(self, receiver: str, start: datetime, end: datetime) -> int:
        count: int = await self._connection.fetchval(
            """SELECT count(*) FROM notifications
               WHERE receiver = $1 AND step = '' AND status <> 'suppressed'
                 AND COALESCE(due_at, created_at) >= $2 AND COALESCE(due_at, created_at) < $3""",
            receiver,
            start,
            end,
        )
        return count

    async def group_age(self, group_key: str, receiver: str) -> float | None:
        """Seconds since the group's last notification was due (sent or being sent)."""
        age: float | None = await self._connection.fetchval(
            """SELECT EXTRACT(EPOCH FROM now() - max(COALESCE(due_at, created_at)))::float8 FROM notifications
               WHERE group_key = $1 AND receiver = $2 AND step = '' AND status <> 'suppressed'
                 AND COALESCE(due_at, created_at) <= now()""",
            group_key,
            receiver,
        )
        return age

    async def group_pending_in(self, group_key: str, receiver: str) -> float | None:
        """Seconds until the group's next waiting notification is due (None: nothing waits)."""
        due: float | None = await self._connection.fetchval(
            """SELECT EXTRACT(EPOCH FROM min(next_attempt_at) - now())::float8 FROM notifications
               WHERE group_key = $1 AND receiver = $2 AND step = '' AND status = 'pending'
                 AND attempts = 0 AND next_attempt_at > now()""",
            group_key,
            receiver,
        )
        return due

    async def paged_before(self, incident_id: str, receiver: str) -> bool:
        found: bool = await self._connection.fetchval(
            """SELECT EXISTS (SELECT 1 FROM notifications WHERE incident_id = $1 AND receiver = $2
                              AND status IN ('sending', 'delivered', 'failed', 'dead'))""",
            incident_id,
            receiver,
        )
        return found


def _str_map(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


async def _mark_delivered(
    connection: asyncpg.Pool | asyncpg.pool.PoolConnectionProxy,
    notification_id: str,
    attempt: int,
    sent_as: str,
    observed_at: datetime | None,
) -> Recorded:
    """Mark one row delivered under its claim; `owned` also when this claim had logged it already."""
    row = await connection.fetchrow(_MARK_DELIVERED, notification_id, attempt, sent_as, observed_at)
    if row is None:
        row = await connection.fetchrow(_ALREADY_DELIVERED, notification_id, attempt, sent_as)
    return Recorded(row is not None, None if row is None else row["latency_seconds"])
