"""Silences expire by themselves at `ends_at`: no one has to delete them for pages to flow again."""

from __future__ import annotations

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    make_incident,
    produce_incidents,
    running_alerter,
    wait_until,
)

AUTH = {"Authorization": "Bearer test-token"}


async def test_a_silence_stops_muting_once_its_end_passes(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """A two-second silence created through the API mutes an incident while it lasts; once PostgreSQL's clock is
    past its end, the API lists it as expired (without anyone deleting it) and the next incident is paged."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        async with running_alerter(test_settings, config, registry) as running, aiohttp.ClientSession() as client:
            base = running.http.url
            body = {"matchers": {"merchant": "acme"}, "owner": "ana", "reason": "deploy", "duration_seconds": 2}
            async with client.post(f"{base}/api/v1/silences", json=body, headers=AUTH) as created:
                assert created.status == 201
                silence = (await created.json())["silence"]
            muted = make_incident("muted-while-silenced", 1, "open")
            bootstrap, topic = test_settings.require_kafka(), test_settings.topics.incidents
            await produce_incidents(bootstrap, topic, [muted])

            async def logged(incident_id: str) -> str | None:
                status: str | None = await db_pool.fetchval(
                    "SELECT status FROM notifications WHERE incident_id = $1 AND receiver = 'team'", incident_id
                )
                return status

            async def muted_logged() -> bool:
                return await logged(muted.incident_id) is not None

            await wait_until(muted_logged, "the muted incident is logged")
            during = await db_pool.fetchval(
                """SELECT n.created_at < s.ends_at FROM notifications n, silences s
                   WHERE n.incident_id = $1 AND n.receiver = 'team'""",
                muted.incident_id,
            )
            if during:
                # Taken in while the silence was active (the usual case): it must have been suppressed.
                assert await logged(muted.incident_id) == "suppressed"

            async def silence_over() -> bool:
                return bool(await db_pool.fetchval("SELECT now() > ends_at FROM silences"))

            await wait_until(silence_over, "the silence's end passes")
            async with client.get(f"{base}/api/v1/silences", headers=AUTH) as listed:
                assert (await listed.json())["count"] == 0
            async with client.get(f"{base}/api/v1/silences?expired=true", headers=AUTH) as listed:
                (expired,) = (await listed.json())["silences"]
            assert (expired["silence_id"], expired["state"], expired["expired_at"]) == (
                silence["silence_id"],
                "expired",
                None,
            )
            paged = make_incident("paged-after-expiry", 1, "open")
            await produce_incidents(bootstrap, topic, [paged])
            await wait_until(
                lambda: any(r.body["incident"]["incident_id"] == paged.incident_id for r in hook.received),
                "the incident after the silence is paged",
            )
            assert await logged(paged.incident_id) == "delivered"
