"""The notification log on real PostgreSQL: versions, ordering of claims, and re-sending after a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.alerter.delivery import DeliveryWorker
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.pipeline import default_pipeline
from services.alerter.render import build_notification
from services.alerter.store import NotificationStore
from services.alerter.telemetry import AlerterMetrics
from services.shared.deadletter import DeadLetterPublisher
from services.shared.kafka import EventProducer
from services.shared.settings import Topics
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    count_notifications,
    fast_policy,
    make_incident,
    wait_until,
)


async def test_only_newer_versions_plan_notifications(db_pool: asyncpg.Pool) -> None:
    """A newer version plans one notification per routed receiver; the same version again is a duplicate and an
    older one is stale: both are kept as history and plan nothing."""
    store = NotificationStore(db_pool)
    pipeline = default_pipeline(alerter_config([{"name": "a", "type": "log"}, {"name": "b", "type": "log"}]).route)

    first = await store.record_states([make_incident("x", 2, "update")], pipeline)
    again = await store.record_states([make_incident("x", 2, "update"), make_incident("x", 1, "open")], pipeline)

    assert [(r.outcome, len(r.planned)) for r in first] == [("new", 2)]
    assert [r.outcome for r in again] == ["duplicate", "stale"]
    assert await db_pool.fetchval("SELECT count(*) FROM notifications") == 2
    assert await db_pool.fetchval("SELECT count(*) FROM incident_states") == 2
    assert await db_pool.fetchval("SELECT version FROM incidents") == 2


async def test_concurrent_intake_of_one_incident_never_duplicates_or_regresses(db_pool: asyncpg.Pool) -> None:
    """Two intakes racing on the same new incident (a rebalance overlap): the same version is recorded once with
    one notification, and an older version never overwrites a newer one, whichever transaction wins."""
    store = NotificationStore(db_pool)
    pipeline = default_pipeline(alerter_config([{"name": "a", "type": "log"}]).route)
    keys = [f"race{i}" for i in range(5)]

    same = await asyncio.gather(
        *(store.record_states([make_incident(k, 1, "open")], pipeline) for k in keys for _ in range(2))
    )
    await asyncio.gather(
        *(store.record_states([make_incident(f"{k}b", v, "update")], pipeline) for k in keys for v in (2, 1))
    )

    outcomes = sorted(result.outcome for results in same for result in results)
    assert outcomes == ["duplicate"] * 5 + ["new"] * 5
    assert await count_notifications(db_pool, "version = 1 AND incident_id IN (SELECT incident_id FROM incidents "
                                     "WHERE title NOT LIKE '%b)')") == 5  # fmt: skip
    versions = await db_pool.fetch("SELECT version FROM incidents WHERE title LIKE '%b)'")
    assert [row["version"] for row in versions] == [2] * 5


async def test_a_later_version_waits_until_the_earlier_one_is_settled(db_pool: asyncpg.Pool) -> None:
    """Per receiver, version 2 of an incident cannot be claimed while version 1 is pending or sending, so a
    receiver sees states in order even with several sends in flight."""
    store = NotificationStore(db_pool)
    pipeline = default_pipeline(alerter_config([{"name": "a", "type": "log"}]).route)
    await store.record_states([make_incident("o", 1, "open"), make_incident("o", 2, "update")], pipeline)

    first = await store.claim_due("a", 10, lease_seconds=60)
    blocked = await store.claim_due("a", 10, lease_seconds=60)
    await store.mark_delivered(first[0], None)
    second = await store.claim_due("a", 10, lease_seconds=60)

    assert [c.incident.version for c in first] == [1]
    assert blocked == []
    assert [c.incident.version for c in second] == [2]
    assert second[0].incident.status == "update"


async def test_a_send_interrupted_by_a_crash_is_resent_with_the_same_key(
    db_pool: asyncpg.Pool, producer: EventProducer, registry: CollectorRegistry, tmp_path: Path
) -> None:
    """A row left 'sending' by a crashed alerter becomes due when its lease runs out and is sent again with the
    same notification id: the webhook sees the same Idempotency-Key and the file notifier, which had already
    written it, does not write it twice."""
    store = NotificationStore(db_pool)
    notify_file = tmp_path / "out.jsonl"
    incident = make_incident("c", 1, "open")
    async with FakeReceiver() as hook:
        receivers = [
            {"name": "hook", "type": "webhook", "url": hook.url},
            {"name": "file", "type": "file", "path": str(notify_file)},
        ]
        config = alerter_config(receivers)
        await store.record_states([incident], default_pipeline(config.route))
        # The crash: both claimed (lease already over), the file line written, no outcome logged.
        assert len(await store.claim_due("hook", 10, lease_seconds=0)) == 1
        assert len(await store.claim_due("file", 10, lease_seconds=0)) == 1
        before = build_notifiers(config.receivers)["file"]
        await before.start()
        await before.send(build_notification(incident, "file"))

        notifiers = build_notifiers(config.receivers)
        for notifier in notifiers.values():
            await notifier.start()
        deadletters = DeadLetterPublisher(producer, Topics().deadletter, registry)
        worker = DeliveryWorker(store, notifiers, fast_policy(), deadletters, AlerterMetrics.create(registry))
        task = asyncio.create_task(worker.run())

        async def all_delivered() -> bool:
            return await count_notifications(db_pool, "status = 'delivered'") == 2

        try:
            await wait_until(all_delivered, "both re-sent and logged")
        finally:
            worker.request_stop()
            await task
            for notifier in notifiers.values():
                await notifier.close()

    expected_id = build_notification(incident, "hook").notification_id
    assert [r.headers["Idempotency-Key"] for r in hook.received] == [expected_id]
    lines = [orjson.loads(line) for line in notify_file.read_bytes().splitlines()]
    assert [line["notification_id"] for line in lines] == [build_notification(incident, "file").notification_id]
    attempts = await db_pool.fetch("SELECT attempts FROM notifications")
    assert [row["attempts"] for row in attempts] == [2, 2]
