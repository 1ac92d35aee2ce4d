"""A running AlerterApp with seeded incidents, shared by the HTTP fuzzers and the security tests (no tests here).

Every route is read from the aiohttp router, so routes added later are fuzzed and access-checked automatically.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.links import LinkSigner
from services.alerter.pipeline import default_pipeline
from services.alerter.store import NotificationStore
from services.shared.events import IncidentEvent
from services.shared.settings import Settings
from tests.integration.test_alerter_support import alerter_config, make_incident, running_alerter

INBOUND = {"pd": "rig-pagerduty-inbound-secret", "og": "rig-opsgenie-inbound-secret"}
# Notifications go to the console; pd and og exist for their inbound acknowledgement routes (never routed to).
CONFIG = alerter_config(
    [
        {"name": "console", "type": "log"},
        {"name": "pd", "type": "pagerduty", "url": "http://127.0.0.1:9", "routing_key_secret": "k",
         "inbound_secret": INBOUND["pd"]},
        {"name": "og", "type": "opsgenie", "api_url": "http://127.0.0.1:9", "api_key_secret": "k",
         "inbound_secret": INBOUND["og"]},
    ],
    route={"receivers": ["console"]},
)  # fmt: skip
# Paths that answer without the bearer token, and why: probes and metrics are for the platform (Prometheus, the
# orchestrator), the console is static files whose data comes from the token-checked API, and signed links carry
# their own credential (an HMAC over incident, action and expiry).
PUBLIC = {
    "/metrics": "Prometheus scrape",
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/console": "static page (the browser calls the token-checked API)",
    "/console/": "redirect to /console",
    "/console/static/{name}": "static script and styles from an allow-list",
    "/api/v1/links/{incident_id}/{action}": "signed acknowledge / resolve links (HMAC is the credential)",
}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    """A method and a path template as the router holds it."""

    method: str
    template: str

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.template)

    def fill(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.template)


@dataclass
class Alerter:
    url: str
    client: aiohttp.ClientSession
    token: str
    routes: list[Route]
    incidents: list[IncidentEvent]
    signer: LinkSigner
    registry: CollectorRegistry

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.asynccontextmanager
async def running(settings: Settings, db_pool: asyncpg.Pool, registry: CollectorRegistry) -> AsyncIterator[Alerter]:
    """The alerter (API, noise API, links, console) on port 0, with three incidents in its database."""
    incidents = [make_incident("fuzz-open", 1, "open"), make_incident("fuzz-resolved", 2, "resolved")]
    incidents.append(make_incident("fuzz-other", 1, "open", merchant="other"))
    await NotificationStore(db_pool).record_states(incidents, default_pipeline(CONFIG.route))
    assert settings.api_token is not None and settings.link_secret is not None
    async with running_alerter(settings, CONFIG, registry) as alerter, aiohttp.ClientSession() as client:
        routes = sorted(
            {
                Route(route.method, route.resource.canonical)
                for route in alerter.http.app.router.routes()
                if route.resource is not None and route.method != "HEAD"
            },
            key=lambda r: (r.template, r.method),
        )
        yield Alerter(
            url=alerter.http.url,
            client=client,
            token=settings.api_token.reveal(),
            routes=routes,
            incidents=incidents,
            signer=LinkSigner(settings.link_secret, alerter.http.url),
            registry=registry,
        )


def now() -> datetime:
    return datetime.now(UTC)
