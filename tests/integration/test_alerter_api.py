"""The alerter's HTTP API on real PostgreSQL: token, listing, audit trail, and compare-and-set transitions."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.api import IncidentApi
from services.alerter.incidents import IncidentStore
from services.alerter.pipeline import default_pipeline
from services.alerter.store import NotificationStore
from services.shared.events import IncidentEvent, deterministic_id
from services.shared.http import HttpServer
from services.shared.settings import Secret
from tests.integration.test_alerter_support import alerter_config, make_incident

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclasses.dataclass
class Api:
    url: str
    client: aiohttp.ClientSession
    notifications: NotificationStore

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        kwargs.setdefault("headers", AUTH)
        async with self.client.request(method, f"{self.url}{path}", **kwargs) as response:
            return response.status, await response.json()

    async def seed(self, *incidents: IncidentEvent) -> None:
        """Store incident states the way the intake does, routed to one log receiver."""
        pipeline = default_pipeline(alerter_config([{"name": "console", "type": "log"}]).route)
        await self.notifications.record_states(list(incidents), pipeline)


@contextlib.asynccontextmanager
async def serving(db_pool: asyncpg.Pool, registry: CollectorRegistry) -> AsyncIterator[Api]:
    http = HttpServer(registry, port=0)
    api = IncidentApi()
    http.add_routes(api.routes())
    store = IncidentStore(db_pool)
    api.attach(store, Secret(TOKEN))
    await http.start()
    try:
        async with aiohttp.ClientSession() as client:
            yield Api(http.url, client, NotificationStore(db_pool))
    finally:
        api.detach()
        await http.stop()


def _started(incident: IncidentEvent, started_at: str, merchant: str = "acme") -> IncidentEvent:
    return dataclasses.replace(incident, started_at=started_at, merchant_id=merchant)


async def test_every_path_needs_the_bearer_token(db_pool: asyncpg.Pool, registry: CollectorRegistry) -> None:
    """Without a token, with a wrong one, or with another scheme, every API path answers 401 JSON and says how to
    authenticate; with the token it does not."""
    incident = make_incident("auth", 1, "open")
    paths = [
        ("GET", "/api/v1/incidents"),
        ("GET", f"/api/v1/incidents/{incident.incident_id}"),
        ("POST", f"/api/v1/incidents/{incident.incident_id}/ack"),
        ("POST", f"/api/v1/incidents/{incident.incident_id}/resolve"),
    ]
    async with serving(db_pool, registry) as api:
        await api.seed(incident)
        for method, path in paths:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
                async with api.client.request(method, f"{api.url}{path}", headers=headers) as response:
                    assert response.status == 401, (method, path, headers)
                    assert (await response.json())["error"] == "unauthorized"
                    assert response.headers["WWW-Authenticate"].startswith("Bearer")
            status, _body = await api.call(method, path)
            assert status == 200, (method, path)


async def test_list_filters_newest_first_and_get_shows_the_audit_trail(
    db_pool: asyncpg.Pool, registry: CollectorRegistry
) -> None:
    """The list is newest first and filters by merchant, status and kind with a limit; bad filters answer 400.
    One incident comes with its evidence, its state history and every notification; unknown ids answer 404; a
    filter PostgreSQL cannot hold (a NUL character) answers 400, not 500."""
    older = _started(make_incident("old", 1, "open"), "2026-03-01T08:00:00Z")
    newer = _started(make_incident("new", 1, "open"), "2026-03-02T08:00:00Z", merchant="globex")
    done = _started(make_incident("done", 1, "resolved"), "2026-03-01T09:00:00Z")
    async with serving(db_pool, registry) as api:
        await api.seed(older, newer, done, dataclasses.replace(older, version=2, status="update"))

        _, listed = await api.call("GET", "/api/v1/incidents")
        _, by_merchant = await api.call("GET", "/api/v1/incidents?merchant=globex")
        _, resolved = await api.call("GET", "/api/v1/incidents?status=resolved")
        _, other_kind = await api.call("GET", "/api/v1/incidents?kind=viral_thread")
        _, limited = await api.call("GET", "/api/v1/incidents?limit=1")
        bad_limit, _ = await api.call("GET", "/api/v1/incidents?limit=0")
        bad_status, error = await api.call("GET", "/api/v1/incidents?status=firing")
        status, detail = await api.call("GET", f"/api/v1/incidents/{older.incident_id}")
        missing, _ = await api.call("GET", f"/api/v1/incidents/{deterministic_id('nothing')}")
        malformed, _ = await api.call("GET", "/api/v1/incidents/not-an-id")
        nul, _ = await api.call("GET", "/api/v1/incidents?merchant=a%00b")

    assert [i["incident_id"] for i in listed["incidents"]] == [newer.incident_id, done.incident_id, older.incident_id]
    assert [i["incident_id"] for i in by_merchant["incidents"]] == [newer.incident_id]
    assert [i["incident_id"] for i in resolved["incidents"]] == [done.incident_id]
    assert other_kind == {"incidents": [], "count": 0}
    assert limited["count"] == 1
    assert (bad_limit, bad_status, error["error"]) == (400, 400, "bad_request")
    assert status == 200
    assert detail["incident"]["version"] == 2
    assert detail["incident"]["response_state"] == "triggered"
    assert detail["incident"]["evidence"]["observed"] == 30
    assert [s["version"] for s in detail["states"]] == [1, 2]
    assert [(n["receiver"], n["version"], n["status"], n["attempts"]) for n in detail["notifications"]] == [
        ("console", 1, "pending", 0),
        ("console", 2, "pending", 0),
    ]
    assert (missing, malformed) == (404, 404)
    assert nul == 400


async def test_ack_then_resolve_and_conflicting_transitions(db_pool: asyncpg.Pool, registry: CollectorRegistry) -> None:
    """Acknowledge then resolve succeed and record who acted; acknowledging twice, acknowledging or resolving a
    resolved incident answer 409 with the current state; unknown incidents 404; a malformed body 400."""
    incident = make_incident("ack", 1, "open")
    base = f"/api/v1/incidents/{incident.incident_id}"
    async with serving(db_pool, registry) as api:
        await api.seed(incident)
        ack = await api.call("POST", f"{base}/ack", json={"by": "alice"})
        ack_again = await api.call("POST", f"{base}/ack")
        bad_body = await api.call(
            "POST", f"{base}/resolve", data=b"[1]", headers={**AUTH, "Content-Type": "text/plain"}
        )
        resolve = await api.call("POST", f"{base}/resolve")
        ack_late = await api.call("POST", f"{base}/ack")
        resolve_again = await api.call("POST", f"{base}/resolve", json={"by": "bob"})
        unknown = await api.call("POST", f"/api/v1/incidents/{deterministic_id('nothing')}/ack")

    assert ack[0] == 200
    assert (ack[1]["incident"]["response_state"], ack[1]["incident"]["acknowledged_by"]) == ("acknowledged", "alice")
    assert ack[1]["incident"]["acknowledged_at"]
    assert ack_again == (409, ack_again[1])
    assert ack_again[1]["response_state"] == "acknowledged"
    assert bad_body[0] == 400
    assert resolve[0] == 200
    assert (resolve[1]["incident"]["response_state"], resolve[1]["incident"]["resolved_by"]) == ("resolved", "api")
    assert resolve[1]["incident"]["resolved_at"]
    assert (ack_late[0], ack_late[1]["response_state"]) == (409, "resolved")
    assert resolve_again[0] == 409
    assert unknown[0] == 404


async def test_concurrent_transitions_have_exactly_one_winner(
    db_pool: asyncpg.Pool, registry: CollectorRegistry
) -> None:
    """Five simultaneous acknowledgements: one wins, four get 409; the same for five resolves. A simultaneous
    acknowledge and resolve always ends resolved, and the acknowledge only counts if it came first."""
    contested = make_incident("race", 1, "open")
    mixed = make_incident("mixed", 1, "open")
    async with serving(db_pool, registry) as api:
        await api.seed(contested, mixed)
        acks = await asyncio.gather(
            *(
                api.call("POST", f"/api/v1/incidents/{contested.incident_id}/ack", json={"by": f"u{i}"})
                for i in range(5)
            )
        )
        resolves = await asyncio.gather(
            *(api.call("POST", f"/api/v1/incidents/{contested.incident_id}/resolve") for _ in range(5))
        )
        ack, resolve = await asyncio.gather(
            api.call("POST", f"/api/v1/incidents/{mixed.incident_id}/ack"),
            api.call("POST", f"/api/v1/incidents/{mixed.incident_id}/resolve"),
        )
        _, final = await api.call("GET", f"/api/v1/incidents/{mixed.incident_id}")

    assert sorted(status for status, _ in acks) == [200, 409, 409, 409, 409]
    assert sorted(status for status, _ in resolves) == [200, 409, 409, 409, 409]
    assert resolve[0] == 200
    assert final["incident"]["response_state"] == "resolved"
    assert ack[0] in {200, 409}
    assert (final["incident"]["acknowledged_by"] is not None) == (ack[0] == 200)


async def test_detector_resolve_closes_the_incident_for_responders(
    db_pool: asyncpg.Pool, registry: CollectorRegistry
) -> None:
    """An acknowledged incident whose detector state turns 'resolved' becomes resolved for responders too
    (resolved_by 'detector', the acknowledgement kept), so a later acknowledge conflicts."""
    incident = make_incident("auto", 1, "open")
    async with serving(db_pool, registry) as api:
        await api.seed(incident)
        ack, _ = await api.call("POST", f"/api/v1/incidents/{incident.incident_id}/ack", json={"by": "carol"})
        await api.seed(make_incident("auto", 2, "resolved"))
        _, detail = await api.call("GET", f"/api/v1/incidents/{incident.incident_id}")
        late_ack, _ = await api.call("POST", f"/api/v1/incidents/{incident.incident_id}/ack")

    assert ack == 200
    assert detail["incident"]["response_state"] == "resolved"
    assert detail["incident"]["resolved_by"] == "detector"
    assert detail["incident"]["acknowledged_by"] == "carol"
    assert late_ack == 409
