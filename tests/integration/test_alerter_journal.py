"""The delivery journal on the real PostgreSQL: the receiver accepted a send, the database then refused to log it,
and the alerter died meanwhile. With a journal the next start logs the acceptance before it claims anything, so
the receiver never gets the notification twice; without one the row is sent again once its lease runs out (the
window the long chaos runs hit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.delivery import DeliveryWorker
from services.alerter.journal import DeliveryJournal
from services.alerter.notifiers.base import Notifier
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.stages import full_pipeline
from services.alerter.store import NotificationStore
from services.alerter.telemetry import AlerterMetrics
from services.shared.config import Config
from services.shared.deadletter import DeadLetterPublisher
from services.shared.events import IncidentEvent
from services.shared.kafka import EventProducer
from services.shared.metrics import new_registry
from services.shared.settings import Topics
from tests.integration.test_alerter_record_retry import OutageAfterSend, outage_connection
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    fast_policy,
    make_incident,
    metric,
    wait_until,
)

LEASE_SECONDS = 1.0
POLICY = fast_policy(send_timeout_seconds=LEASE_SECONDS / 2, lease_seconds=LEASE_SECONDS)


async def _die_after_acceptance(
    config: Config,
    store: NotificationStore,
    journal: DeliveryJournal | None,
    *,
    database_url: str,
    schema_name: str,
    producer: EventProducer,
) -> None:
    """Run a worker until its receiver accepted the send and the database refuses the log, then kill it: its task
    is cancelled mid-retry and its journal closed, as the operating system would at SIGKILL. Then the database
    comes back (the rows are still 'sending' under the dead worker's claim)."""
    async with outage_connection(database_url, schema_name) as outage:
        notifiers: dict[str, Notifier] = {
            name: OutageAfterSend(notifier, outage) for name, notifier in build_notifiers(config.receivers).items()
        }
        for notifier in notifiers.values():
            await notifier.start()
        registry = new_registry()
        deadletters = DeadLetterPublisher(producer, Topics().deadletter, registry)
        worker = DeliveryWorker(store, notifiers, POLICY, deadletters, AlerterMetrics.create(registry), journal=journal)
        task = asyncio.create_task(worker.run())
        try:
            await wait_until(outage.began.is_set, "the receiver accepted the send")
            await outage.hold(LEASE_SECONDS / 2)
            assert outage.killed >= 1, "the log write was attempted and failed"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if journal is not None:
                journal.close()
            for notifier in notifiers.values():
                await notifier.close()
        await outage.end()


async def _restart(
    config: Config, store: NotificationStore, journal: DeliveryJournal | None, producer: EventProducer
) -> tuple[DeliveryWorker, asyncio.Task[None], CollectorRegistry, dict[str, Notifier]]:
    notifiers = build_notifiers(config.receivers)
    for notifier in notifiers.values():
        await notifier.start()
    registry = new_registry()
    deadletters = DeadLetterPublisher(producer, Topics().deadletter, registry)
    worker = DeliveryWorker(store, notifiers, POLICY, deadletters, AlerterMetrics.create(registry), journal=journal)
    return worker, asyncio.create_task(worker.run()), registry, notifiers


async def _run_twice(
    incidents: list[IncidentEvent],
    config: Config,
    journal_path: Path | None,
    *,
    db_pool: asyncpg.Pool,
    database_url: str,
    schema_name: str,
    producer: EventProducer,
) -> CollectorRegistry:
    """Deliver, die after the acceptance, start again and let the restarted worker run past the dead worker's
    lease (so a row it did not know to be delivered would be claimed and sent again)."""
    store = NotificationStore(db_pool)
    await store.record_states(incidents, full_pipeline(config))
    first = None if journal_path is None else DeliveryJournal(journal_path)
    await _die_after_acceptance(
        config, store, first, database_url=database_url, schema_name=schema_name, producer=producer
    )
    second = None if journal_path is None else DeliveryJournal(journal_path)
    worker, task, registry, notifiers = await _restart(config, store, second, producer)
    try:

        async def all_delivered() -> bool:
            sql = "SELECT count(*) FROM notifications WHERE status = 'delivered'"
            return bool(await db_pool.fetchval(sql) == len(incidents))

        await wait_until(all_delivered, "every row logged delivered")
        # Past the dead worker's lease: a row still 'sending' would be due again by now, and nothing is.
        await asyncio.sleep(2 * LEASE_SECONDS)
    finally:
        worker.request_stop()
        await task
        if second is not None:
            second.close()
        for notifier in notifiers.values():
            await notifier.close()
    return registry


async def test_an_acceptance_the_dead_alerter_never_logged_is_logged_at_the_next_start_not_resent(
    db_pool: asyncpg.Pool, database_url: str, schema_name: str, producer: EventProducer, tmp_path: Path
) -> None:
    """The webhook accepted one notification; the database refused the log and the alerter died. The next start
    reads the journal, logs the row delivered under the dead worker's claim (attempt 1, sent as the notification
    id) and counts it in stormwatch_alerter_journal_replayed_total; the receiver got exactly one request."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        registry = await _run_twice(
            [make_incident("journal-single", 1, "open")],
            config,
            tmp_path / "alerter.journal",
            db_pool=db_pool,
            database_url=database_url,
            schema_name=schema_name,
            producer=producer,
        )
    assert hook.attempts == 1
    rows = await db_pool.fetch("SELECT notification_id, status, attempts, sent_as FROM notifications")
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 1)]
    assert rows[0]["sent_as"] == rows[0]["notification_id"] == hook.received[0].body["notification_id"]
    assert metric(registry, "stormwatch_alerter_journal_replayed_total") == 1
    # Replayed, the journal no longer holds the entry: a third start has nothing to do.
    third = DeliveryJournal(tmp_path / "alerter.journal")
    try:
        assert third.left_over() == []
    finally:
        third.close()


async def test_a_group_acceptance_is_replayed_for_every_row_it_carried(
    db_pool: asyncpg.Pool, database_url: str, schema_name: str, producer: EventProducer, tmp_path: Path
) -> None:
    """Three incidents of one group went out as one message the webhook accepted before the alerter died with the
    log unwritten. The next start logs all three delivered, each naming the one send; one request in all."""
    async with FakeReceiver() as hook:
        config = alerter_config(
            [{"name": "team", "type": "webhook", "url": hook.url}],
            route={"receivers": ["team"], "group_by": ["merchant"]},
        )
        registry = await _run_twice(
            [make_incident(f"journal-group-{n}", 1, "open") for n in range(3)],
            config,
            tmp_path / "alerter.journal",
            db_pool=db_pool,
            database_url=database_url,
            schema_name=schema_name,
            producer=producer,
        )
    assert hook.attempts == 1
    rows = await db_pool.fetch("SELECT status, attempts, sent_as FROM notifications")
    assert {(r["status"], r["attempts"]) for r in rows} == {("delivered", 1)}
    assert {r["sent_as"] for r in rows} == {hook.received[0].body["notification_id"]}
    assert metric(registry, "stormwatch_alerter_journal_replayed_total") == 3


async def test_without_a_journal_the_same_death_resends_after_the_lease(
    db_pool: asyncpg.Pool, database_url: str, schema_name: str, producer: EventProducer
) -> None:
    """The control: the same death without a journal leaves the row 'sending' under a dead claim; once the lease
    runs out the restarted worker claims it again and the receiver gets a second copy (same Idempotency-Key).
    This is the window the journal closes; if the tests above pass for another reason, this one says so."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        await _run_twice(
            [make_incident("journal-control", 1, "open")],
            config,
            None,
            db_pool=db_pool,
            database_url=database_url,
            schema_name=schema_name,
            producer=producer,
        )
    assert hook.attempts == 2
    keys = {request.headers["Idempotency-Key"] for request in hook.received}
    assert len(keys) == 1
    rows = await db_pool.fetch("SELECT status, attempts FROM notifications")
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 2)]
