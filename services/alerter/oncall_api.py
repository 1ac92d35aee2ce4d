"""GET /api/v1/schedules/{name}/oncall?at=<RFC 3339>: who a schedule puts on call (now by default), bearer token."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from services.alerter.api import _authorized, _error
from services.alerter.oncall import on_call
from services.shared.config import PersonConfig, ScheduleConfig
from services.shared.http import json_response
from services.shared.settings import Secret
from services.shared.timeutil import Clock, WallClock, format_rfc3339, parse_rfc3339


class OnCallApi:
    """Schedules live in the config, so answering needs no database: only the token, known once attached."""

    def __init__(
        self,
        schedules: Mapping[str, ScheduleConfig],
        people: Mapping[str, PersonConfig],
        clock: Clock | None = None,
    ) -> None:
        self._schedules = dict(schedules)
        self._people = dict(people)
        self._clock = clock or WallClock()
        self._token: bytes | None = None

    def attach(self, token: Secret) -> None:
        self._token = token.reveal().encode("utf-8")

    def detach(self) -> None:
        self._token = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/schedules/{name}/oncall", self._oncall)]

    async def _oncall(self, request: web.Request) -> web.Response:
        if self._token is None:
            return _error(503, "unavailable", "the alerter is not running")
        if not _authorized(request, self._token):
            response = _error(401, "unauthorized", "missing or wrong bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="stormwatch"'
            return response
        schedule = self._schedules.get(request.match_info["name"])
        if schedule is None:
            return _error(404, "not_found", "no such schedule")
        raw = request.query.get("at")
        if raw is None:
            at = self._clock.now()
        else:
            try:
                at = parse_rfc3339(raw)
            except ValueError:
                return _error(400, "bad_request", "at: expected an RFC 3339 timestamp")
        try:
            current = on_call(schedule, at)
        except OverflowError:  # within a day of year 1 or 9999, the schedule's local time does not exist
            return _error(400, "bad_request", "at: outside the range a schedule can answer for")
        person = None if current.person is None else self._people[current.person]
        return json_response(
            {
                "schedule": schedule.name,
                "at": format_rfc3339(at),
                "person": current.person,
                "source": current.source,
                "receivers": [] if person is None else list(person.receivers),
            }
        )
