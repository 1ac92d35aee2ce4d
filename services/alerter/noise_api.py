"""The alerter's API beyond incidents: silences, the dry-run explain, the notification audit and response SLAs.

Every path needs the bearer token (the same check as the incident API).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from services.alerter.api import _authorized, _error
from services.alerter.pipeline import IntakeContext, Pipeline
from services.alerter.routing import MATCH_KEYS
from services.alerter.silences import SilenceStore
from services.alerter.store import DbFacts, translated
from services.shared.codec import decode_incident
from services.shared.errors import BadInput, TransientError
from services.shared.events import IncidentEvent
from services.shared.http import json_response
from services.shared.logging import get_logger
from services.shared.settings import Secret
from services.shared.timeutil import format_rfc3339, parse_rfc3339

log = get_logger("stormwatch.alerter.api")

_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_TEXT = 500
_MAX_SILENCE = timedelta(days=90)
_SLA_GROUPS = {
    "merchant": "merchant_id",
    "platform": "platform",
    "responder": "acknowledged_by",
    "resolver": "resolved_by",
    "kind": "kind",
}


@dataclass
class _Attached:
    pool: asyncpg.Pool
    pipeline: Pipeline
    token: bytes
    channels: Mapping[str, str]


class NoiseApi:
    def __init__(self) -> None:
        self._attached: _Attached | None = None

    def attach(
        self, pool: asyncpg.Pool, pipeline: Pipeline, token: Secret, channels: Mapping[str, str] | None = None
    ) -> None:
        """`channels` maps receiver names to their notifier type (slack, email, ...) for the audit."""
        self._attached = _Attached(pool, pipeline, token.reveal().encode("utf-8"), dict(channels or {}))

    def detach(self) -> None:
        self._attached = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/silences", self._guard(self._create_silence)),
            web.get("/api/v1/silences", self._guard(self._list_silences)),
            web.delete("/api/v1/silences/{silence_id}", self._guard(self._expire_silence)),
            web.post("/api/v1/explain", self._guard(self._explain_event)),
            web.get("/api/v1/incidents/{incident_id}/explain", self._guard(self._explain_incident)),
            web.get("/api/v1/notifications", self._guard(self._audit)),
            web.get("/api/v1/sla", self._guard(self._sla)),
        ]

    def _guard(
        self, handler: Callable[[web.Request, _Attached], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def guarded(request: web.Request) -> web.Response:
            attached = self._attached
            if attached is None:
                return _error(503, "unavailable", "the alerter is not running")
            if not _authorized(request, attached.token):
                response = _error(401, "unauthorized", "missing or wrong bearer token")
                response.headers["WWW-Authenticate"] = 'Bearer realm="stormwatch"'
                return response
            try:
                return await handler(request, attached)
            except TransientError as exc:
                log.warning("api request failed", path=request.path, error=str(exc))
                return _error(503, "unavailable", "database unavailable, try again")
            except BadInput as exc:
                return _error(400, "bad_request", str(exc))

        return guarded

    # ---- silences ------------------------------------------------------------------------------------------

    async def _create_silence(self, request: web.Request, attached: _Attached) -> web.Response:
        body = await _json_object(request)
        matchers = body.get("matchers")
        if not isinstance(matchers, dict) or not matchers:
            raise BadInput("matchers: expected a non-empty object")
        for key, value in matchers.items():
            if key not in MATCH_KEYS or not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
                raise BadInput(f"matchers.{key}: expected one of {', '.join(MATCH_KEYS)} with a non-empty string")
        owner, reason = _text(body, "owner"), _text(body, "reason")
        now = datetime.now(UTC)
        starts_at = _time(body, "starts_at") or now
        ends_at = _time(body, "ends_at")
        if ends_at is None:
            duration = body.get("duration_seconds")
            if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
                raise BadInput("ends_at or duration_seconds: one is required (the silence must expire)")
            ends_at = starts_at + timedelta(seconds=float(duration))
        if ends_at <= max(starts_at, now) or ends_at - starts_at > _MAX_SILENCE:
            raise BadInput("ends_at: must be in the future, after starts_at, and at most 90 days later")
        silence = await SilenceStore(attached.pool).create(matchers, owner, reason, starts_at, ends_at)
        log.info("silence created", silence_id=silence["silence_id"], owner=owner, ends_at=silence["ends_at"])
        return json_response({"silence": silence}, 201)

    async def _list_silences(self, request: web.Request, attached: _Attached) -> web.Response:
        include_expired = request.query.get("expired", "false") == "true"
        silences = await SilenceStore(attached.pool).list(include_expired=include_expired)
        return json_response({"silences": silences, "count": len(silences)})

    async def _expire_silence(self, request: web.Request, attached: _Attached) -> web.Response:
        silence_id = request.match_info["silence_id"]
        found = await SilenceStore(attached.pool).expire(silence_id) if _ID.match(silence_id) else None
        if found is None:
            return _error(404, "not_found", "no such active silence")
        log.info("silence expired", silence_id=silence_id)
        return json_response({"silence": found})

    # ---- explain -------------------------------------------------------------------------------------------

    async def _explain_event(self, request: web.Request, attached: _Attached) -> web.Response:
        incident = decode_incident(await request.read())
        return json_response(await _explain(attached, incident, dry_run=True))

    async def _explain_incident(self, request: web.Request, attached: _Attached) -> web.Response:
        incident_id = request.match_info["incident_id"]
        if not _ID.match(incident_id):
            return _error(404, "not_found", "no such incident")
        async with translated():
            payload = await attached.pool.fetchval("SELECT payload FROM incidents WHERE incident_id = $1", incident_id)
            logged = await attached.pool.fetch(
                """SELECT receiver, version, step, status, last_reason, route, group_key, explanation
                   FROM notifications WHERE incident_id = $1 ORDER BY version, next_attempt_at, receiver""",
                incident_id,
            )
        if payload is None:
            return _error(404, "not_found", "no such incident")
        incident = IncidentEvent.from_dict(orjson.loads(payload))
        result = await _explain(attached, incident, dry_run=False)
        result["logged"] = [{**dict(row), "why": row["explanation"].split("\n")} for row in logged]
        for entry in result["logged"]:
            del entry["explanation"]
        return json_response(result)

    # ---- audit and SLA -------------------------------------------------------------------------------------

    async def _audit(self, request: web.Request, attached: _Attached) -> web.Response:
        """Who was notified (receiver, and the person or schedule targeted), when, by which route and step, with
        what result, after how many attempts and with what end-to-end latency, whether a rate cap deferred it and
        which (group) send carried it; filter by incident, receiver or status."""
        query = request.query
        incident = query.get("incident") or None
        receiver = query.get("receiver") or None
        status = query.get("status") or None
        limit = query.get("limit", "100")
        # isascii: str.isdigit() accepts "²", which int() refuses (a 500, found by fuzzing).
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
            raise BadInput("limit: expected an integer from 1 to 1000")
        async with translated():
            rows = await attached.pool.fetch(
                """SELECT notification_id, incident_id, version, receiver, step, route, status, attempts,
                          last_reason, last_error, created_at, next_attempt_at, delivered_at, latency_seconds,
                          NULLIF(target, '') AS target, deferred, sent_as
                   FROM notifications
                   WHERE ($1::text IS NULL OR incident_id = $1) AND ($2::text IS NULL OR receiver = $2)
                     AND ($3::text IS NULL OR status = $3)
                   ORDER BY created_at DESC, notification_id LIMIT $4""",
                incident,
                receiver,
                status,
                int(limit),
            )
        notifications = [{**_plain(row), "channel": attached.channels.get(row["receiver"])} for row in rows]
        return json_response({"notifications": notifications, "count": len(notifications)})

    async def _sla(self, request: web.Request, attached: _Attached) -> web.Response:
        """Time to acknowledge and to resolve (from detection), and time to first public reply (from the review to
        the merchant's reply, for sla_breach incidents), per merchant, platform, responder, resolver or kind."""
        by = request.query.get("by", "merchant")
        column = _SLA_GROUPS.get(by)
        if column is None:
            raise BadInput(f"by: expected one of {', '.join(_SLA_GROUPS)}")
        async with translated():
            rows = await attached.pool.fetch(
                f"""SELECT COALESCE({column}, '') AS key, count(*) AS incidents,
                        count(acknowledged_at) AS acknowledged, count(resolved_at) AS resolved,
                        avg(EXTRACT(EPOCH FROM acknowledged_at - detected_at))::float8 AS mean_tta,
                        percentile_cont(0.5) WITHIN GROUP
                            (ORDER BY EXTRACT(EPOCH FROM acknowledged_at - detected_at))::float8 AS p50_tta,
                        percentile_cont(0.9) WITHIN GROUP
                            (ORDER BY EXTRACT(EPOCH FROM acknowledged_at - detected_at))::float8 AS p90_tta,
                        avg(EXTRACT(EPOCH FROM resolved_at - detected_at))::float8 AS mean_ttr,
                        percentile_cont(0.5) WITHIN GROUP
                            (ORDER BY EXTRACT(EPOCH FROM resolved_at - detected_at))::float8 AS p50_ttr,
                        count(first_reply_at) AS replied,
                        avg(first_reply_seconds)::float8 AS mean_ttfr,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY first_reply_seconds)::float8 AS p50_ttfr,
                        percentile_cont(0.9) WITHIN GROUP (ORDER BY first_reply_seconds)::float8 AS p90_ttfr
                    FROM incidents GROUP BY 1 ORDER BY 1"""  # noqa: S608 - column from a fixed allow-list
            )
        groups = [
            {
                by: row["key"] or None,
                "incidents": row["incidents"],
                "acknowledged": row["acknowledged"],
                "resolved": row["resolved"],
                "time_to_acknowledge_seconds": {"mean": row["mean_tta"], "p50": row["p50_tta"], "p90": row["p90_tta"]},
                "time_to_resolve_seconds": {"mean": row["mean_ttr"], "p50": row["p50_ttr"]},
                "replied": row["replied"],
                "time_to_first_reply_seconds": {
                    "mean": row["mean_ttfr"],
                    "p50": row["p50_ttfr"],
                    "p90": row["p90_ttfr"],
                },
            }
            for row in rows
        ]
        return json_response({"by": by, "groups": groups})


async def _explain(attached: _Attached, incident: IncidentEvent, *, dry_run: bool) -> dict[str, Any]:
    """Run the pipeline on the incident as if it arrived now, in a transaction that is rolled back."""
    async with translated(), attached.pool.acquire() as connection:
        state = await connection.fetchval(
            "SELECT response_state FROM incidents WHERE incident_id = $1", incident.incident_id
        )
        previous = await connection.fetchval(
            "SELECT version FROM incidents WHERE incident_id = $1", incident.incident_id
        )
        transaction = connection.transaction()
        await transaction.start()
        try:
            context = IntakeContext(
                incident,
                state or ("resolved" if incident.status == "resolved" else "triggered"),
                previous if previous != incident.version else None,
                DbFacts(connection),
            )
            plan = await attached.pipeline.plan(context)
        finally:
            await transaction.rollback()
    return {
        "incident_id": incident.incident_id,
        "version": incident.version,
        "dry_run": dry_run,
        "stages": list(attached.pipeline.stage_names),
        "notifications": [
            {
                "receiver": p.receiver,
                "route": p.route,
                "group": p.group_key,
                "step": p.step,
                "delay_seconds": p.delay_seconds,
                "requires": p.requires or None,
                "suppressed": p.suppressed,
                "deferred": p.deferred,
                "target": p.target or None,
                "why": list(p.why),
            }
            for p in plan
        ],
    }


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise BadInput("body: not JSON") from None
    if not isinstance(data, dict):
        raise BadInput("body: expected a JSON object")
    return data


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise BadInput(f"{key}: expected a non-empty string of at most {_MAX_TEXT} characters")
    return value.strip()


def _time(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return parse_rfc3339(str(value))
    except ValueError:
        raise BadInput(f"{key}: expected an RFC 3339 timestamp") from None


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {key: format_rfc3339(value) if isinstance(value, datetime) else value for key, value in row.items()}
