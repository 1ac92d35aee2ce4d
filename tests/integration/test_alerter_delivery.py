"""The alerter end to end on the real broker and PostgreSQL: ordering, dedup, restarts, retries, dead letters."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from pathlib import Path

import aiohttp
import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.shared.codec import encode_incident
from services.shared.http import HttpServer
from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    SECRET,
    FakeReceiver,
    alerter_config,
    count_notifications,
    make_incident,
    metric,
    produce,
    produce_incidents,
    read_deadletters,
    running_alerter,
    signature_valid,
    wait_until,
)


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


async def _statuses(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT receiver, status FROM notifications")
    return {row["receiver"]: row["status"] for row in rows}


async def test_each_state_is_notified_once_in_order_signed_and_written_to_file(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Open, update and resolved states (with duplicates of earlier versions interleaved on the topic) reach the
    webhook exactly once each, in version order, signed and carrying the notification id as Idempotency-Key; the
    file receiver writes one line per state; the API's audit trail lists every delivery."""
    notify_file = tmp_path / "notifications.jsonl"
    async with FakeReceiver(delay=0.05) as hook:
        config = alerter_config(
            [
                {"name": "team", "type": "webhook", "url": hook.url, "signing_secret": SECRET},
                {"name": "archive", "type": "file", "path": str(notify_file)},
            ]
        )
        async with running_alerter(test_settings, config, registry) as running:
            v1, v2, v3 = (
                make_incident("a", 1, "open"),
                make_incident("a", 2, "update"),
                make_incident("a", 3, "resolved"),
            )
            # Every duplicate precedes v3 in the incident's partition, so v3 delivered means they were all seen.
            await produce_incidents(
                test_settings.require_kafka(), test_settings.topics.incidents, [v1, v1, v2, v1, v2, v3]
            )
            await wait_until(lambda: len(hook.received) >= 3 and len(_lines(notify_file)) >= 3, "3 deliveries each")
            await wait_until(
                lambda: all(
                    metric(registry, "stormwatch_notifications_total", notifier=kind, outcome="delivered") >= 3
                    for kind in ("webhook", "file")
                ),
                "all deliveries logged",
            )

            assert [r.version for r in hook.received] == [1, 2, 3]
            assert all(signature_valid(r.headers, r.raw) for r in hook.received)
            assert all(r.headers["Idempotency-Key"] == r.body["notification_id"] for r in hook.received)
            assert len(set(hook.ids())) == 3
            assert [line["incident"]["version"] for line in _lines(notify_file)] == [1, 2, 3]  # type: ignore[index]
            assert await db_pool.fetchval("SELECT count(*) FROM notifications") == 6
            assert (
                metric(registry, "stormwatch_incident_states_received_total", kind="negative_spike", status="update")
                == 2
            )
            assert metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="delivered") == 3
            assert metric(registry, "stormwatch_pipeline_latency_seconds_count") == 6

            headers = {"Authorization": "Bearer test-token"}
            async with (
                aiohttp.ClientSession() as client,
                client.get(f"{running.http.url}/api/v1/incidents/{v1.incident_id}", headers=headers) as response,
            ):
                assert response.status == 200
                detail = await response.json()
    assert detail["incident"]["response_state"] == "resolved"
    assert detail["incident"]["resolved_by"] == "detector"
    assert [s["version"] for s in detail["states"]] == [1, 2, 3]
    trail = {(n["receiver"], n["version"]): n for n in detail["notifications"]}
    assert set(trail) == {(r, v) for r in ("team", "archive") for v in (1, 2, 3)}
    assert all(n["status"] == "delivered" and n["attempts"] == 1 and n["delivered_at"] for n in trail.values())


async def test_restart_mid_run_sends_nothing_twice_and_loses_nothing(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """Stopping the alerter while deliveries are in flight and starting a new one delivers every incident state
    exactly once, states produced while it was down included. The new one joins a fresh consumer group, so it
    replays the whole topic: the notification log, not the committed offsets, is what prevents duplicates. Both
    run on one HTTP server that stays up (as in `stormwatch run`), and the API answers from the new one."""
    bootstrap, topic = test_settings.require_kafka(), test_settings.topics.incidents
    keys = ["r1", "r2", "r3", "r4"]
    http = HttpServer(registry, port=0)
    try:
        async with FakeReceiver(delay=0.15) as hook:
            config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
            async with running_alerter(test_settings, config, registry, http=http):
                await http.start()  # after the first App registered its routes, as `stormwatch run` does
                await produce_incidents(
                    bootstrap,
                    topic,
                    [i for k in keys for i in (make_incident(k, 1, "open"), make_incident(k, 2, "update"))],
                )
                await wait_until(lambda: len(hook.received) >= 1, "a first delivery")
            delivered_before_restart = len(hook.received)
            await produce_incidents(bootstrap, topic, [make_incident(k, 3, "resolved") for k in keys])

            replaying = dataclasses.replace(
                test_settings, consumer_group_prefix=f"{test_settings.consumer_group_prefix}r"
            )
            async with running_alerter(replaying, config, registry, http=http):
                await wait_until(lambda: len(hook.received) >= 12, "all 12 states delivered")

                async def settled() -> bool:
                    return await count_notifications(db_pool, "status <> 'delivered'") == 0

                await wait_until(settled, "the log shows everything delivered")
                async with (
                    aiohttp.ClientSession() as client,
                    client.get(
                        f"{http.url}/api/v1/incidents", headers={"Authorization": "Bearer test-token"}
                    ) as response,
                ):
                    listed = await response.json()
    finally:
        await http.stop()

    assert delivered_before_restart < 12
    assert listed["count"] == 4
    assert {i["response_state"] for i in listed["incidents"]} == {"resolved"}
    assert len(hook.received) == 12
    assert len(set(hook.ids())) == 12, "a notification was sent twice"
    for key in keys:
        versions = [r.version for r in hook.received if r.body["incident"]["title"].endswith(f"({key})")]
        assert versions == [1, 2, 3]
    assert await db_pool.fetchval("SELECT count(*) FROM notifications") == 12
    duplicates = metric(registry, "stormwatch_incident_states_received_total", kind="negative_spike", status="open")
    assert duplicates == 8, "the replay should have read every open state a second time"


async def test_failing_receiver_is_retried_without_delaying_a_healthy_one(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """While a receiver holds its first request, a healthy receiver gets the same incident anyway; the first then
    answers 500 twice and 200, and is delivered once after three attempts, with the retries counted."""
    async with FakeReceiver(script=[500, 500], gate=asyncio.Event()) as flaky, FakeReceiver() as healthy:
        config = alerter_config(
            [
                {"name": "flaky", "type": "webhook", "url": flaky.url},
                {"name": "healthy", "type": "webhook", "url": healthy.url},
            ]
        )
        async with running_alerter(test_settings, config, registry):
            await produce_incidents(
                test_settings.require_kafka(), test_settings.topics.incidents, [make_incident("f", 1, "open")]
            )
            await wait_until(lambda: flaky.attempts == 1 and len(healthy.received) == 1, "healthy delivered")
            assert flaky.received == []
            assert flaky.gate is not None
            flaky.gate.set()
            await wait_until(lambda: len(flaky.received) == 1, "the flaky receiver delivered")
            await wait_until(
                lambda: (
                    metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="delivered") == 2
                ),
                "both deliveries logged",
            )

    assert flaky.attempts == 3
    assert len(healthy.received) == 1
    row = await db_pool.fetchrow("SELECT status, attempts, last_reason FROM notifications WHERE receiver = 'flaky'")
    assert row is not None
    assert (row["status"], row["attempts"], row["last_reason"]) == ("delivered", 3, None)
    assert metric(registry, "stormwatch_notification_attempts_total", notifier="webhook", outcome="retry") == 2
    assert metric(registry, "stormwatch_notification_attempts_total", notifier="webhook", outcome="delivered") == 2
    assert metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="retry") == 1
    assert metric(registry, "stormwatch_notification_failures_total", notifier="webhook", reason="server_error") == 2


async def test_exhausted_and_refused_notifications_are_dead_lettered(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool, unique: str
) -> None:
    """A receiver that always answers 503 gets the retry budget (3 attempts) and then the notification is 'dead';
    one that answers 400 is 'failed' after one attempt. Both leave a dead-letter record and a metric."""
    async with FakeReceiver(default_status=503) as broken, FakeReceiver(default_status=400) as refusing:
        config = alerter_config(
            [
                {"name": "broken", "type": "webhook", "url": broken.url},
                {"name": "refusing", "type": "webhook", "url": refusing.url},
            ]
        )
        async with running_alerter(test_settings, config, registry):
            await produce_incidents(
                test_settings.require_kafka(), test_settings.topics.incidents, [make_incident("d", 1, "open")]
            )

            async def given_up() -> bool:
                return await _statuses(db_pool) == {"broken": "dead", "refusing": "failed"}

            await wait_until(given_up, "both notifications given up")
            records = await read_deadletters(
                test_settings.require_kafka(), test_settings.topics.deadletter, f"dl{unique}", 2
            )

    assert broken.attempts == 3
    assert refusing.attempts == 1
    by_receiver = {r.context["receiver"]: r for r in records}
    assert by_receiver["broken"].reason == "delivery_exhausted"
    assert by_receiver["broken"].context["last_reason"] == "server_error"
    assert by_receiver["refusing"].reason == "client_error"
    assert all(r.source == "alerter" for r in records)
    assert metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="dead") == 1
    assert metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="failed") == 1
    assert metric(registry, "stormwatch_deadletters_total", source="alerter", reason="delivery_exhausted") == 1


async def test_invalid_incident_messages_are_dead_lettered_and_processing_goes_on(
    test_settings: Settings, registry: CollectorRegistry, unique: str
) -> None:
    """A message that is not JSON, one that breaks the incident schema, and a schema-valid one PostgreSQL cannot
    store (a NUL character) go to the dead-letter topic with their reason, original bytes and Kafka coordinates;
    the valid incident produced with them, in the same partition, is still delivered."""
    bootstrap, topic = test_settings.require_kafka(), test_settings.topics.incidents
    valid = make_incident("v", 1, "open")
    key = valid.incident_id.encode()
    garbage = b"{not json"
    invalid = orjson.dumps({"schema": "incident-event.v1", "incident_id": "nope"})
    unstorable = encode_incident(dataclasses.replace(make_incident("n", 1, "open"), title="bad\x00title"))
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        async with running_alerter(test_settings, config, registry):
            await produce(
                bootstrap, topic, [(key, garbage), (key, invalid), (key, unstorable), (key, encode_incident(valid))]
            )
            await wait_until(lambda: len(hook.received) == 1, "the valid incident delivered")
            records = await read_deadletters(bootstrap, test_settings.topics.deadletter, f"dl{unique}", 3)

    assert hook.received[0].body["incident"]["incident_id"] == valid.incident_id
    originals = {base64.b64decode(r.original_b64): r.reason for r in records}
    assert originals == {garbage: "malformed_json", invalid: "schema_invalid", unstorable: "schema_invalid"}
    assert all(r.topic == topic and r.offset is not None and r.source == "alerter" for r in records)
