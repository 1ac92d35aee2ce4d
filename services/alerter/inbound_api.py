"""Inbound acknowledgements: a responder who acknowledges or resolves in PagerDuty or Opsgenie does it here too.

- `POST /api/v1/inbound/pagerduty/{receiver}`: a PagerDuty V3 webhook subscription. Verified by
  `X-PagerDuty-Signature` (`v1=<hex HMAC-SHA256 of the raw body>`, several comma-separated during secret rotation)
  with the receiver's `inbound_secret`. `incident.acknowledged` / `incident.resolved` act on the incident whose id
  is the PagerDuty incident's `incident_key` (the dedup_key the PagerDuty notifier sends).
- `POST /api/v1/inbound/opsgenie/{receiver}`: an Opsgenie outgoing webhook. Opsgenie cannot sign, so it sends the
  receiver's `inbound_secret` in a custom header, `X-Stormwatch-Token` (compared in constant time).
  `Acknowledge` / `Close` act on the incident whose id is the alert's alias.

Bad signatures answer 403 and malformed bodies 400 (both stop the sender's redelivery); events about other things,
unknown incidents and incidents already in that state answer 202, so the sender does not retry them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from services.alerter.api import _error
from services.alerter.incidents import IncidentStore, Transition
from services.shared.config import ReceiverConfig
from services.shared.errors import TransientError
from services.shared.http import json_response
from services.shared.logging import get_logger

log = get_logger("stormwatch.alerter.inbound")

_INCIDENT_ID = re.compile(r"^[0-9a-f]{32}$")
_PAGERDUTY_EVENTS: Mapping[str, Transition] = {
    "incident.acknowledged": "acknowledge",
    "incident.resolved": "resolve",
}
_OPSGENIE_ACTIONS: Mapping[str, Transition] = {"Acknowledge": "acknowledge", "Close": "resolve"}
_MAX_ACTOR = 100


def inbound_secrets(receivers: tuple[ReceiverConfig, ...]) -> dict[tuple[str, str], bytes]:
    """(type, receiver name) -> inbound secret, for PagerDuty and Opsgenie receivers that configure one."""
    return {
        (r.type, r.name): r.secrets["inbound_secret"].reveal().encode("utf-8")
        for r in receivers
        if r.type in {"pagerduty", "opsgenie"} and "inbound_secret" in r.secrets
    }


def pagerduty_signature_valid(header: str, body: bytes, secret: bytes) -> bool:
    """True when any `v1=` signature in the header is the HMAC-SHA256 of the body (rotation sends several)."""
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode("ascii")
    found = False
    for part in header.split(","):
        version, _, signature = part.strip().partition("=")
        if version == "v1" and signature:
            # Every candidate is compared (no early exit), each in constant time.
            found |= hmac.compare_digest(signature.encode("utf-8", "surrogateescape"), expected)
    return found


class InboundApi:
    """Registered when the App is built; answers 503 until the running alerter attaches its incident store."""

    def __init__(self, secrets: Mapping[tuple[str, str], bytes]) -> None:
        self._secrets = dict(secrets)
        self._store: IncidentStore | None = None

    def attach(self, store: IncidentStore) -> None:
        self._store = store

    def detach(self) -> None:
        self._store = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/inbound/pagerduty/{receiver}", self._pagerduty),
            web.post("/api/v1/inbound/opsgenie/{receiver}", self._opsgenie),
        ]

    async def _pagerduty(self, request: web.Request) -> web.Response:
        secret = self._secrets.get(("pagerduty", request.match_info["receiver"]))
        if secret is None:
            return _error(404, "not_found", "no PagerDuty receiver with an inbound_secret by that name")
        body = await request.read()
        if not pagerduty_signature_valid(request.headers.get("X-PagerDuty-Signature", ""), body, secret):
            log.warning("inbound webhook refused", source="pagerduty", reason="bad signature")
            return _error(403, "forbidden", "missing or wrong X-PagerDuty-Signature")
        event = _object(_json(body), "event")
        if event is None:
            return _error(400, "bad_request", "event: expected an object")
        transition = _PAGERDUTY_EVENTS.get(str(event.get("event_type")))
        if transition is None:
            return _ignored("event type not acted on")
        data = _object(event, "data") or {}
        agent = _object(event, "agent") or {}
        return await self._act(data.get("incident_key"), transition, "pagerduty", agent.get("summary"))

    async def _opsgenie(self, request: web.Request) -> web.Response:
        secret = self._secrets.get(("opsgenie", request.match_info["receiver"]))
        if secret is None:
            return _error(404, "not_found", "no Opsgenie receiver with an inbound_secret by that name")
        presented = request.headers.get("X-Stormwatch-Token", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(presented, secret):
            log.warning("inbound webhook refused", source="opsgenie", reason="bad token")
            return _error(403, "forbidden", "missing or wrong X-Stormwatch-Token")
        payload = _json(await request.read())
        if payload is None:
            return _error(400, "bad_request", "body: expected a JSON object")
        transition = _OPSGENIE_ACTIONS.get(str(payload.get("action")))
        if transition is None:
            return _ignored("action not acted on")
        alert = _object(payload, "alert") or {}
        return await self._act(alert.get("alias"), transition, "opsgenie", alert.get("username"))

    async def _act(self, incident_id: Any, transition: Transition, source: str, actor: Any) -> web.Response:
        store = self._store
        if store is None:
            return _error(503, "unavailable", "the alerter is not running")
        if not isinstance(incident_id, str) or not _INCIDENT_ID.match(incident_id):
            return _ignored("not a Stormwatch incident")
        # NUL dropped: PostgreSQL cannot store it in text (the store raised BadInput, a 500: found by fuzzing).
        actor = actor.replace("\x00", "") if isinstance(actor, str) else actor
        name = actor.strip()[:_MAX_ACTOR] if isinstance(actor, str) and actor.strip() else "unknown"
        try:
            result = await store.transition(incident_id, transition, f"{source}:{name}")
        except TransientError:
            return _error(503, "unavailable", "database unavailable, try again")
        if not result.found:
            return _ignored("unknown incident")
        if result.incident is None:
            return _ignored(f"already {result.current_state}")
        log.info("incident changed by inbound webhook", source=source, incident_id=incident_id, transition=transition)
        return json_response({"result": "applied", "response_state": result.incident["response_state"]}, 200)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _object(data: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    value = None if data is None else data.get(key)
    return value if isinstance(value, dict) else None


def _ignored(why: str) -> web.Response:
    return json_response({"result": "ignored", "detail": why}, 202)
