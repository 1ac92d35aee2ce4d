"""The signed-link endpoints: GET shows a confirmation page, POST acknowledges or resolves the incident.

No bearer token here: the link's HMAC signature is the credential. A GET never acts, because mail scanners and
chat unfurlers fetch links on their own; expired or forged links answer 403.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

from aiohttp import web

from services.alerter.incidents import IncidentStore, Transition
from services.alerter.links import PATH, LinkSigner
from services.shared.errors import TransientError
from services.shared.logging import get_logger
from services.shared.timeutil import Clock, WallClock

log = get_logger("stormwatch.alerter.links")

_INCIDENT_ID = re.compile(r"^[0-9a-f]{32}$")
_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{detail}</p>{form}</body></html>
"""


class LinkApi:
    """Registered when the App is built; serves 503 until the running alerter attaches its store and signer."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or WallClock()
        self._store: IncidentStore | None = None
        self._signer: LinkSigner | None = None

    def attach(self, store: IncidentStore, signer: LinkSigner) -> None:
        self._store, self._signer = store, signer

    def detach(self) -> None:
        self._store = None

    def routes(self) -> list[web.RouteDef]:
        path = PATH + "/{incident_id}/{action}"
        return [web.get(path, self._confirm), web.post(path, self._perform)]

    def _check(self, request: web.Request) -> tuple[IncidentStore, str, Transition] | web.Response:
        store, signer = self._store, self._signer
        if store is None or signer is None:
            return _page(503, "Unavailable", "The alerter is not running.")
        incident_id, action = request.match_info["incident_id"], request.match_info["action"]
        why = signer.verify(
            incident_id, action, request.query.get("expires", ""), request.query.get("sig", ""), self._clock.now()
        )
        if why is not None or not _INCIDENT_ID.match(incident_id):
            log.warning("link refused", reason=why or "malformed", action=action)
            return _page(403, "Link not valid", f"This link is {why or 'malformed'}.")
        transition: Transition = "acknowledge" if action == "acknowledge" else "resolve"
        return store, incident_id, transition

    async def _confirm(self, request: web.Request) -> web.Response:
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        _store, incident_id, transition = checked
        query = urlencode({"expires": request.query["expires"], "sig": request.query["sig"]})
        form = (
            f'<form method="post" action="{html.escape(request.path)}?{html.escape(query)}">'
            f'<button type="submit">{transition.capitalize()}</button></form>'
        )
        return _page(200, f"{transition.capitalize()} incident?", f"Incident {incident_id}", form=form)

    async def _perform(self, request: web.Request) -> web.Response:
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        store, incident_id, transition = checked
        try:
            result = await store.transition(incident_id, transition, "link")
        except TransientError:
            return _page(503, "Unavailable", "The database is unavailable; try again.")
        if not result.found:
            return _page(404, "Not found", "No such incident.")
        if result.incident is None:
            return _page(409, "Nothing to do", f"The incident is already {result.current_state}.")
        log.info("incident changed by link", incident_id=incident_id, transition=transition)
        return _page(200, "Done", f"Incident {incident_id} is now {result.incident['response_state']}.")


def _page(status: int, title: str, detail: str, *, form: str = "") -> web.Response:
    body = _PAGE.format(title=html.escape(title), detail=html.escape(detail), form=form)
    response = web.Response(status=status, text=body, content_type="text/html")
    # The page carries a signed link in its form: keep it out of caches and other sites' frames.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
