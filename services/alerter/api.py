"""The alerter's HTTP API: list and inspect incidents, acknowledge and resolve them; every path needs the token."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import get_args

import orjson
from aiohttp import web

from services.alerter.incidents import IncidentFilter, IncidentStore, Transition
from services.shared.errors import BadInput, TransientError
from services.shared.events import IncidentKind, IncidentStatus
from services.shared.http import json_response
from services.shared.logging import get_logger
from services.shared.settings import Secret

log = get_logger("stormwatch.alerter.api")

_INCIDENT_ID = re.compile(r"^[0-9a-f]{32}$")
_RESPONSE_STATES = ("triggered", "acknowledged", "resolved")
_MAX_LIMIT = 500
_MAX_BY = 100

Handler = Callable[[web.Request, IncidentStore], Awaitable[web.Response]]


class BadRequest(Exception):
    """A request parameter or body the API cannot use; its message names the parameter (answered with 400)."""


class IncidentApi:
    """Routes under /api/v1/incidents, registered with `HttpServer.add_routes` when the App is built (a new App
    on the same server takes the paths over). Serves 503 until the running alerter attaches its store."""

    def __init__(self) -> None:
        self._store: IncidentStore | None = None
        self._token: bytes | None = None

    def attach(self, store: IncidentStore, token: Secret) -> None:
        self._store = store
        self._token = token.reveal().encode("utf-8")

    def detach(self) -> None:
        self._store = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/incidents", self._guard(self._list)),
            web.get("/api/v1/incidents/{incident_id}", self._guard(self._get)),
            web.post("/api/v1/incidents/{incident_id}/ack", self._guard(self._ack)),
            web.post("/api/v1/incidents/{incident_id}/resolve", self._guard(self._resolve)),
        ]

    def _guard(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Token first (constant-time compare), then the store; database trouble answers 503, never a trace."""

        async def guarded(request: web.Request) -> web.Response:
            store, token = self._store, self._token
            if store is None or token is None:
                return _error(503, "unavailable", "the alerter is not running")
            if not _authorized(request, token):
                response = _error(401, "unauthorized", "missing or wrong bearer token")
                response.headers["WWW-Authenticate"] = 'Bearer realm="stormwatch"'
                return response
            try:
                return await handler(request, store)
            except TransientError as exc:
                log.warning("api request failed", path=request.path, error=str(exc))
                return _error(503, "unavailable", "database unavailable, try again")
            except BadInput:
                # A value PostgreSQL cannot hold (a NUL character in a filter or in `by`).
                return _error(400, "bad_request", "a parameter contains characters that cannot be stored")

        return guarded

    async def _list(self, request: web.Request, store: IncidentStore) -> web.Response:
        try:
            query = _parse_filter(request.query)
        except BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        incidents = await store.list(query)
        return json_response({"incidents": incidents, "count": len(incidents)})

    async def _get(self, request: web.Request, store: IncidentStore) -> web.Response:
        incident_id = request.match_info["incident_id"]
        found = await store.get(incident_id) if _INCIDENT_ID.match(incident_id) else None
        if found is None:
            return _error(404, "not_found", "no such incident")
        return json_response(found)

    async def _ack(self, request: web.Request, store: IncidentStore) -> web.Response:
        return await self._transition(request, store, "acknowledge")

    async def _resolve(self, request: web.Request, store: IncidentStore) -> web.Response:
        return await self._transition(request, store, "resolve")

    async def _transition(self, request: web.Request, store: IncidentStore, transition: Transition) -> web.Response:
        incident_id = request.match_info["incident_id"]
        try:
            by = await _parse_by(request)
        except BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        if not _INCIDENT_ID.match(incident_id):
            return _error(404, "not_found", "no such incident")
        result = await store.transition(incident_id, transition, by)
        if not result.found:
            return _error(404, "not_found", "no such incident")
        if result.incident is None:
            detail = f"cannot {transition} an incident that is {result.current_state}"
            return json_response(
                {"error": "conflict", "detail": detail, "response_state": result.current_state}, status=409
            )
        log.info(
            "incident acknowledged" if transition == "acknowledge" else "incident resolved",
            title=result.incident["title"],
            incident_id=incident_id,
            by=by,
        )
        return json_response({"incident": result.incident})


def _authorized(request: web.Request, token: bytes) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    # aiohttp keeps header bytes that are not UTF-8 as surrogates: plain encode() raised, a 500 (found by fuzzing).
    return hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"), token)


def _parse_filter(params: Mapping[str, str]) -> IncidentFilter:
    get = params.get
    status = get("status") or None
    kind = get("kind") or None
    state = get("state") or None
    merchant = get("merchant") or None
    if status is not None and status not in get_args(IncidentStatus):
        raise BadRequest(f"status: expected one of {', '.join(get_args(IncidentStatus))}")
    if kind is not None and kind not in get_args(IncidentKind):
        raise BadRequest(f"kind: expected one of {', '.join(get_args(IncidentKind))}")
    if state is not None and state not in _RESPONSE_STATES:
        raise BadRequest(f"state: expected one of {', '.join(_RESPONSE_STATES)}")
    raw_limit = get("limit") or "50"
    # isascii: str.isdigit() accepts "²", which int() refuses (a 500, found by fuzzing).
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= _MAX_LIMIT:
        raise BadRequest(f"limit: expected an integer from 1 to {_MAX_LIMIT}")
    return IncidentFilter(merchant=merchant, status=status, kind=kind, response_state=state, limit=int(raw_limit))


async def _parse_by(request: web.Request) -> str:
    """Who acts: the optional `by` of a JSON body; "api" when there is no body."""
    body = await request.read()
    if not body.strip():
        return "api"
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("body: not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body: expected a JSON object")
    by = data.get("by", "api")
    if not isinstance(by, str) or not by.strip() or len(by) > _MAX_BY:
        raise BadRequest(f"by: expected a non-empty string of at most {_MAX_BY} characters")
    return by.strip()


def _error(status: int, error: str, detail: str) -> web.Response:
    return json_response({"error": error, "detail": detail}, status)
