"""Group aggregation on the real broker and PostgreSQL: a group's states that are due together go out as ONE
message listing them, while the notification log keeps one row per incident state and receiver."""

from __future__ import annotations

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


async def test_states_due_together_in_one_group_are_sent_as_one_message(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """group_by merchant, group_wait 2 s: three acme incidents arriving together are one webhook call whose body
    lists all three (and one globex incident is its own call); the log has three delivered acme rows that name
    the same send. A fourth acme incident after the flush goes out alone, group_interval later."""
    async with FakeReceiver() as hook:
        config = alerter_config(
            [{"name": "team", "type": "webhook", "url": hook.url}],
            route={"receivers": ["team"], "group_by": ["merchant"], "group_wait": "2s", "group_interval": "2s"},
        )
        async with running_alerter(test_settings, config, registry) as running:
            acme = [make_incident(f"group-{n}", 1, "open") for n in range(3)]
            globex = make_incident("group-globex", 1, "open", merchant="globex")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [*acme, globex])
            await wait_until(lambda: len(hook.received) >= 2, "two messages (acme's group and globex's)")
            by_merchant = {r.body["incident"]["merchant_id"]: r.body for r in hook.received}
            assert set(by_merchant) == {"acme", "globex"}
            grouped = by_merchant["acme"]
            assert {i["incident_id"] for i in grouped["incidents"]} == {i.incident_id for i in acme}
            assert grouped["title"].startswith("[3 incidents] acme: ")
            assert all(i.title in grouped["text"] for i in acme)
            assert "incidents" not in by_merchant["globex"]
            rows = await db_pool.fetch(
                "SELECT status, sent_as FROM notifications WHERE incident_id = ANY($1::text[])",
                [i.incident_id for i in acme],
            )
            assert [r["status"] for r in rows] == ["delivered"] * 3
            assert {r["sent_as"] for r in rows} == {grouped["notification_id"]}
            assert metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="delivered") == 4
            async with aiohttp.ClientSession() as client:
                audit_url = f"{running.http.url}/api/v1/notifications"
                async with client.get(audit_url, headers={"Authorization": "Bearer test-token"}) as answer:
                    audit = (await answer.json())["notifications"]
            sent_as = {n["incident_id"]: n["sent_as"] for n in audit}
            assert {sent_as[i.incident_id] for i in acme} == {grouped["notification_id"]}
            assert sent_as[globex.incident_id] == by_merchant["globex"]["notification_id"]

            late = make_incident("group-late", 1, "open")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [late])
            await wait_until(lambda: len(hook.received) >= 3, "the late incident's own message")
            assert hook.received[2].body["incident"]["incident_id"] == late.incident_id
            assert "incidents" not in hook.received[2].body
