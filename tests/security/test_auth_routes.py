"""Every route of the HTTP server `stormwatch run` serves refuses requests without a valid credential.

Routes are enumerated from the aiohttp router of one server hosting the pollers, the detector and the alerter (as
the local run does), so a route added later is covered without editing this test. The public exceptions are
listed explicitly with their reason (tests/fuzz/alerter_rig.PUBLIC); the webhook route's credential is its
signature.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from services.detector.app import DetectorApp
from services.pollers.app import PollerApp
from services.shared.config import parse_config
from services.shared.http import HttpServer
from tests.conftest import ModuleEnv
from tests.fuzz.alerter_rig import PUBLIC, Route
from tests.integration.test_alerter_support import running_alerter

CONFIG = parse_config(
    {
        "merchants": [{"id": "acme"}],
        "sources": [
            {
                "id": "acme/push",
                "merchant": "acme",
                "platform": "homeadvisor",
                "credentials": {"signing_secret": "auth-test-signing-secret"},
                "options": {"mode": "webhook"},
            }
        ],
        "receivers": [
            {"name": "console", "type": "log"},
            {
                "name": "pd",
                "type": "pagerduty",
                "url": "http://127.0.0.1:9",
                "routing_key_secret": "k",
                "inbound_secret": "auth-test-pd-inbound",
            },
            {
                "name": "og",
                "type": "opsgenie",
                "api_url": "http://127.0.0.1:9",
                "api_key_secret": "k",
                "inbound_secret": "auth-test-og-inbound",
            },
        ],
        "route": {"receivers": ["console"]},
    },
    env={},
)
# Routes whose credential is not the bearer token, and what it is instead (refused with 401 or 403 without it).
SIGNED = {
    "/webhooks/{source_id}": "HMAC signature over timestamp and body (X-Stormwatch-Signature)",
    "/api/v1/inbound/pagerduty/{receiver}": "PagerDuty's HMAC signature of the body (X-PagerDuty-Signature)",
    "/api/v1/inbound/opsgenie/{receiver}": "the receiver's inbound secret (X-Stormwatch-Token)",
}
SAMPLE = {"incident_id": "0" * 32, "silence_id": "0" * 32, "action": "acknowledge", "source_id": "acme/push",
          "name": "console.js", "receiver": "pd"}  # fmt: skip


class Server:
    def __init__(self, http: HttpServer, client: aiohttp.ClientSession) -> None:
        self.http, self.client = http, client

    @property
    def routes(self) -> list[Route]:
        found = {
            Route(route.method, route.resource.canonical)
            for route in self.http.app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        }
        return sorted(found, key=lambda r: (r.template, r.method))

    async def status(self, route: Route, headers: dict[str, str]) -> int:
        values = {**SAMPLE, "receiver": "og"} if "/opsgenie/" in route.template else SAMPLE
        url = self.http.url + route.fill(values)
        async with self.client.request(route.method, url, headers=headers, data=b"{}") as response:
            return response.status


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(module_env: ModuleEnv) -> AsyncIterator[Server]:
    """One server, every service's routes on it; the alerter runs (its API needs the database). Shared by the
    module's tests: none of them changes anything a refusal or an acceptance depends on."""
    test_settings, registry = module_env.settings, module_env.registry
    http = HttpServer(registry, port=0)
    PollerApp(test_settings, CONFIG, registry=registry, http=http, serve_http=False)
    DetectorApp(test_settings, CONFIG, registry=registry, http=http, serve_http=False)
    async with running_alerter(test_settings, CONFIG, registry, http=http), aiohttp.ClientSession() as client:
        await http.start()
        try:
            yield Server(http, client)
        finally:
            await http.stop()


async def test_every_route_without_a_valid_token_is_refused(server: Server) -> None:
    """Each route not listed as public answers 401 with no Authorization header, a wrong bearer token, another
    scheme, or an empty token (routes with a credential of their own: 401 or 403); the public and signed lists
    name only routes that exist."""
    templates = {route.template for route in server.routes}
    assert set(PUBLIC) <= templates, f"stale public exceptions: {set(PUBLIC) - templates}"
    assert set(SIGNED) <= templates
    guarded = [route for route in server.routes if route.template not in PUBLIC]
    assert len(guarded) >= 10, guarded
    attempts: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer test-token-and-more"},
        {"Authorization": "Basic test-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "test-token"},
    ]
    for route in guarded:
        for headers in attempts:
            status = await server.status(route, headers)
            assert status in ({401, 403} if route.template in SIGNED else {401}), (route, headers, status)


async def test_the_right_token_opens_the_api(server: Server) -> None:
    """With the token, the same token-guarded routes answer something other than 401 (the check is not
    refusing everything), so the test above proves the token is what makes the difference."""
    for route in server.routes:
        if route.template in PUBLIC or route.template in SIGNED:
            continue
        status = await server.status(route, {"Authorization": "Bearer test-token"})
        assert status != 401, (route, status)


async def test_signed_links_refuse_a_missing_or_forged_signature(server: Server) -> None:
    """The public link routes are not open: without a valid signature they answer 403 and change nothing."""
    for route in server.routes:
        if route.template.startswith("/api/v1/links/"):
            for query in ("", "?expires=9999999999&sig=" + "0" * 64, "?expires=1&sig=x"):
                url = server.http.url + route.fill(SAMPLE) + query
                async with server.client.request(route.method, url) as response:
                    assert response.status == 403, (route, query, response.status)
