"""Time to first public reply on the real broker and PostgreSQL: stored on the incident once, observed once in
stormwatch_time_to_first_reply_seconds{platform,merchant}, and reported by the SLA API with acknowledge / resolve
times."""

from __future__ import annotations

import dataclasses

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    make_incident,
    metric,
    produce_incidents,
    running_alerter,
    wait_until,
)

AUTH = {"Authorization": "Bearer test-token"}


async def test_first_reply_is_stored_once_observed_once_and_reported_by_the_sla_api(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """An sla_breach opens, then resolves carrying the first reply (5 h after the review); a redelivered resolved
    state and a later state with another reply change nothing. The SLA API by platform reports one replied
    incident with 18,000 s; by resolver it shows the detector's resolve."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        async with running_alerter(test_settings, config, registry) as running:
            opened = dataclasses.replace(make_incident("reply", 1, "open"), kind="sla_breach")
            resolved = dataclasses.replace(
                opened,
                version=2,
                status="resolved",
                resolved_at="2026-03-01T12:00:00Z",
                first_reply_at="2026-03-01T11:00:00Z",
                first_reply_seconds=18000.0,
            )
            later = dataclasses.replace(resolved, version=3, first_reply_at="2026-03-01T11:30:00Z")
            bootstrap, topic = test_settings.require_kafka(), test_settings.topics.incidents
            await produce_incidents(bootstrap, topic, [opened, resolved, resolved])
            await wait_until(lambda: len(hook.received) >= 2, "open and resolved are notified")
            await produce_incidents(bootstrap, topic, [later])

            async def stored_version_3() -> bool:
                version = await db_pool.fetchval(
                    "SELECT version FROM incidents WHERE incident_id = $1", opened.incident_id
                )
                return bool(version == 3)

            await wait_until(stored_version_3, "the third state is stored")
            row = await db_pool.fetchrow(
                "SELECT first_reply_at, first_reply_seconds FROM incidents WHERE incident_id = $1", opened.incident_id
            )
            assert row is not None and row["first_reply_seconds"] == 18000.0
            assert row["first_reply_at"].isoformat() == "2026-03-01T11:00:00+00:00"
            name = "stormwatch_time_to_first_reply_seconds_count"
            # Observed just after the intake's transaction commits.
            await wait_until(
                lambda: metric(registry, name, platform="trustpilot", merchant="acme") >= 1, "the reply is observed"
            )
            assert metric(registry, name, platform="trustpilot", merchant="acme") == 1

            async with aiohttp.ClientSession() as client:
                sla = f"{running.http.url}/api/v1/sla"
                async with client.get(sla, params={"by": "platform"}, headers=AUTH) as answer:
                    (group,) = (await answer.json())["groups"]
                assert (group["platform"], group["replied"]) == ("trustpilot", 1)
                assert group["time_to_first_reply_seconds"] == {"mean": 18000.0, "p50": 18000.0, "p90": 18000.0}
                async with client.get(sla, params={"by": "resolver"}, headers=AUTH) as answer:
                    (group,) = (await answer.json())["groups"]
                assert (group["resolver"], group["resolved"]) == ("detector", 1)
                async with client.get(sla, params={"by": "nobody"}, headers=AUTH) as answer:
                    assert answer.status == 400
