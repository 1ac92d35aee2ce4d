"""Group aggregation on the real broker and PostgreSQL: a group's states that are due together go out as ONE
message listing them, while the notification log keeps one row per incident state and receiver."""

from __future__ import annotations

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.render import build_group_notification
from services.alerter.stages import full_pipeline
from services.alerter.store import NotificationStore
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
            ids = [i.incident_id for i in [*acme, globex]]
            sql = "SELECT count(*) FROM notifications WHERE incident_id = ANY($1::text[]) AND status = 'delivered'"

            async def logged() -> bool:
                # The receiver answers before the log records the delivery.
                return bool(await db_pool.fetchval(sql, ids) == 4)

            await wait_until(logged, "the four rows are logged as delivered")
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


async def test_a_group_send_interrupted_before_logging_is_resent_whole_with_the_same_id(db_pool: asyncpg.Pool) -> None:
    """Crash between send and log: the group's rows stay 'sending' until the lease runs out, then one claim (even
    with room for one row) takes the whole group again and the message keeps its id (the receiver's idempotency
    key). Logging the delivery marks every row in one transaction; the stale claim of the first attempt records
    nothing."""
    config = alerter_config([{"name": "team", "type": "log"}], route={"receivers": ["team"], "group_by": ["merchant"]})
    store = NotificationStore(db_pool)
    incidents = [make_incident(f"crash-group-{n}", 1, "open") for n in range(3)]
    await store.record_states(incidents, full_pipeline(config))
    first = await store.claim_due("team", 1, 0.0, whole_groups=True)
    assert len(first) == 3
    first_id = build_group_notification(
        [c.incident for c in first], [c.notification_id for c in first], "team"
    ).notification_id
    # ... the process dies here, after the receiver accepted the message. The lease (0 s) has run out:
    again = await store.claim_due("team", 1, 30.0, whole_groups=True)
    assert sorted(c.notification_id for c in again) == sorted(c.notification_id for c in first)
    assert [c.attempt for c in again] == [2, 2, 2]
    again_id = build_group_notification(
        [c.incident for c in again], [c.notification_id for c in again], "team"
    ).notification_id
    assert again_id == first_id
    assert [r.owned for _, r in await store.mark_group_delivered(first, first_id)] == [False, False, False]
    assert [r.owned for _, r in await store.mark_group_delivered(again, again_id)] == [True, True, True]
    rows = await db_pool.fetch("SELECT status, sent_as FROM notifications WHERE receiver = 'team'")
    assert {(r["status"], r["sent_as"]) for r in rows} == {("delivered", again_id)}
    assert await store.claim_due("team", 10, 30.0, whole_groups=True) == []
