"""Issue #6 on the real PostgreSQL: the database refuses to log a delivery right after the receiver answered 200,
for longer than the lease. The worker keeps retrying (past the lease), its lane claims nothing meanwhile, and once
the database is back the row is logged delivered: the receiver got the notification exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.delivery import DeliveryWorker
from services.alerter.notifiers.base import DeliveryOutcome, Notification, Notifier
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.stages import full_pipeline
from services.alerter.store import NotificationStore
from services.alerter.telemetry import AlerterMetrics
from services.shared.config import Config
from services.shared.deadletter import DeadLetterPublisher
from services.shared.events import IncidentEvent
from services.shared.kafka import EventProducer
from services.shared.settings import Topics
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    fast_policy,
    make_incident,
    metric,
    wait_until,
)

LEASE_SECONDS = 1.0
# The database stays away this long after the 200: several leases.
OUTAGE_SECONDS = 4 * LEASE_SECONDS


class Outage:
    """A second connection that, once a send was accepted, locks the notification log and kills every backend that
    waits for that lock: each attempt to log the outcome fails with a dropped connection, as in an outage."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self._transaction: Any = None
        self.began = asyncio.Event()
        self.killed = 0

    async def begin(self) -> None:
        if self._transaction is not None:
            return
        self._transaction = self._connection.transaction()
        await self._transaction.start()
        await self._connection.execute("LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE")
        self.began.set()

    async def hold(self, seconds: float) -> None:
        """Kill the lock's waiters every 0.1 s for `seconds` (the lock stays taken)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            # pg_stat_activity is a snapshot per transaction, and ours stays open: take a fresh one each time.
            await self._connection.execute("SELECT pg_stat_clear_snapshot()")
            self.killed += await self._connection.fetchval(
                """SELECT count(*) FROM (
                       SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                       WHERE pid <> pg_backend_pid() AND pg_backend_pid() = ANY(pg_blocking_pids(pid))) AS t"""
            )
            await asyncio.sleep(0.1)

    async def rows(self) -> list[tuple[str, int]]:
        """The log as the lock holder sees it (nobody else can read it now)."""
        found = await self._connection.fetch("SELECT status, attempts FROM notifications ORDER BY notification_id")
        return [(row["status"], row["attempts"]) for row in found]

    async def execute(self, sql: str) -> None:
        """A statement in the lock holder's transaction (it alone can write the log now)."""
        await self._connection.execute(sql)

    async def end(self) -> None:
        await self._transaction.commit()


class OutageAfterSend(Notifier):
    """Wraps a notifier: the receiver accepts the send, then the database goes away before it can be logged."""

    def __init__(self, inner: Notifier, outage: Outage) -> None:
        super().__init__(inner.name)
        self.type = inner.type
        self._inner = inner
        self._outage = outage

    async def start(self) -> None:
        await self._inner.start()

    async def close(self) -> None:
        await self._inner.close()

    async def send(self, notification: Notification) -> DeliveryOutcome:
        outcome = await self._inner.send(notification)
        await self._outage.begin()
        return outcome


@contextlib.asynccontextmanager
async def outage_connection(database_url: str, schema_name: str) -> AsyncIterator[Outage]:
    connection = await asyncpg.connect(database_url, server_settings={"search_path": schema_name})
    try:
        yield Outage(connection)
    finally:
        await connection.close()


async def _deliver_through_outage(
    config: Config,
    incidents: list[IncidentEvent],
    hook: FakeReceiver,
    *,
    db_pool: asyncpg.Pool,
    database_url: str,
    schema_name: str,
    producer: EventProducer,
    registry: CollectorRegistry,
) -> None:
    store = NotificationStore(db_pool)
    await store.record_states(incidents, full_pipeline(config))
    policy = fast_policy(send_timeout_seconds=LEASE_SECONDS / 2, lease_seconds=LEASE_SECONDS)
    async with outage_connection(database_url, schema_name) as outage:
        notifiers: dict[str, Notifier] = {
            name: OutageAfterSend(notifier, outage) for name, notifier in build_notifiers(config.receivers).items()
        }
        for notifier in notifiers.values():
            await notifier.start()
        deadletters = DeadLetterPublisher(producer, Topics().deadletter, registry)
        worker = DeliveryWorker(store, notifiers, policy, deadletters, AlerterMetrics.create(registry))
        task = asyncio.create_task(worker.run())
        try:
            await wait_until(outage.began.is_set, "the receiver accepted the send")
            await outage.hold(OUTAGE_SECONDS)
            # Logging failed (its connection was killed), the lease ran out long ago, and nothing re-claimed the
            # rows: the worker's lane claims nothing while it still owes a log entry.
            assert outage.killed >= 1
            assert await outage.rows() == [("sending", 1)] * len(incidents)
            await outage.end()

            async def logged() -> bool:
                sql = "SELECT count(*) FROM notifications WHERE status = 'delivered'"
                return bool(await db_pool.fetchval(sql) == len(incidents))

            await wait_until(logged, "the delivery logged once the database is back")
        finally:
            worker.request_stop()
            await task
            for notifier in notifiers.values():
                await notifier.close()
    assert hook.attempts == 1
    assert len(hook.received) == 1
    rows = await db_pool.fetch("SELECT status, attempts, sent_as FROM notifications")
    assert {(r["status"], r["attempts"]) for r in rows} == {("delivered", 1)}
    assert {r["sent_as"] for r in rows} == {hook.received[0].body["notification_id"]}
    delivered = metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="delivered")
    assert delivered == len(incidents)


async def test_a_single_delivery_is_logged_after_an_outage_longer_than_the_lease(
    db_pool: asyncpg.Pool, database_url: str, schema_name: str, producer: EventProducer, registry: CollectorRegistry
) -> None:
    """One notification, accepted by the webhook; the database then refuses every attempt to log it for four
    leases. The row stays 'sending' with its first attempt (not re-claimed), is logged delivered once the
    database is back, and the receiver got exactly one request; the delivered metric counts one."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        await _deliver_through_outage(
            config,
            [make_incident("record-retry", 1, "open")],
            hook,
            db_pool=db_pool,
            database_url=database_url,
            schema_name=schema_name,
            producer=producer,
            registry=registry,
        )


async def test_a_group_delivery_is_logged_after_an_outage_longer_than_the_lease(
    db_pool: asyncpg.Pool, database_url: str, schema_name: str, producer: EventProducer, registry: CollectorRegistry
) -> None:
    """Three incidents of one group go out as one message the webhook accepts; the database then refuses the log
    for four leases. All three rows are logged delivered (naming the one send) once it is back, the receiver got
    exactly one request, and the delivered metric counts three."""
    async with FakeReceiver() as hook:
        config = alerter_config(
            [{"name": "team", "type": "webhook", "url": hook.url}],
            route={"receivers": ["team"], "group_by": ["merchant"]},
        )
        incidents = [make_incident(f"record-retry-group-{n}", 1, "open") for n in range(3)]
        await _deliver_through_outage(
            config,
            incidents,
            hook,
            db_pool=db_pool,
            database_url=database_url,
            schema_name=schema_name,
            producer=producer,
            registry=registry,
        )
        assert len(hook.received[0].body["incidents"]) == 3


async def test_a_row_another_replica_reclaimed_meanwhile_is_not_recorded_twice(
    db_pool: asyncpg.Pool, database_url: str, schema_name: str, producer: EventProducer, registry: CollectorRegistry
) -> None:
    """The record is conditional on the claim: while the database refused this worker's log, another replica
    claimed the row again (attempt 2, its own lease). Once the database is back, this worker's record matches
    nothing: the row stays the other replica's ('sending', attempt 2) and this worker counts no delivery."""
    store = NotificationStore(db_pool)
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        await store.record_states([make_incident("record-retry-lost", 1, "open")], full_pipeline(config))
        policy = fast_policy(send_timeout_seconds=LEASE_SECONDS / 2, lease_seconds=LEASE_SECONDS)
        async with outage_connection(database_url, schema_name) as outage:
            notifiers: dict[str, Notifier] = {
                name: OutageAfterSend(notifier, outage) for name, notifier in build_notifiers(config.receivers).items()
            }
            for notifier in notifiers.values():
                await notifier.start()
            deadletters = DeadLetterPublisher(producer, Topics().deadletter, registry)
            worker = DeliveryWorker(store, notifiers, policy, deadletters, AlerterMetrics.create(registry))
            task = asyncio.create_task(worker.run())
            try:
                await wait_until(outage.began.is_set, "the receiver accepted the send")
                await outage.hold(OUTAGE_SECONDS)
                assert outage.killed >= 1
                # Another replica's claim, as claim_due makes it (its lease keeps our lane off the row).
                await outage.execute(
                    """UPDATE notifications SET attempts = attempts + 1,
                           next_attempt_at = now() + interval '1 minute'"""
                )
                await outage.end()
            finally:
                # Stopping wakes the retry at once: it tries once more, with the database back.
                worker.request_stop()
                await task
                for notifier in notifiers.values():
                    await notifier.close()
    assert hook.attempts == 1
    rows = await db_pool.fetch("SELECT status, attempts, delivered_at FROM notifications")
    assert [(r["status"], r["attempts"], r["delivered_at"]) for r in rows] == [("sending", 2, None)]
    assert metric(registry, "stormwatch_notifications_total", notifier="webhook", outcome="delivered") == 0


async def test_logging_a_delivery_again_with_the_same_claim_is_idempotent(db_pool: asyncpg.Pool) -> None:
    """A retry after a commit whose answer the connection lost finds the row already delivered by this very claim
    (same attempt, same send): it is reported as ours, once more, with its latency, so the worker counts the
    delivery. A stale claim (an earlier attempt) of the same row still records nothing."""
    store = NotificationStore(db_pool)
    config = alerter_config([{"name": "team", "type": "log"}])
    await store.record_states([make_incident("record-twice", 1, "open")], full_pipeline(config))
    stale = (await store.claim_due("team", 10, 0.0))[0]
    claimed = (await store.claim_due("team", 10, 30.0))[0]
    assert (await store.mark_delivered(claimed, None)).owned
    assert (await store.mark_delivered(claimed, None)).owned
    assert not (await store.mark_delivered(stale, None)).owned

    group_config = alerter_config(
        [{"name": "team", "type": "log"}], route={"receivers": ["team"], "group_by": ["merchant"]}
    )
    await store.record_states(
        [make_incident(f"record-twice-{n}", 1, "open") for n in range(2)], full_pipeline(group_config)
    )
    claims = await store.claim_due("team", 10, 30.0, whole_groups=True)
    assert len(claims) == 2
    assert [r.owned for _, r in await store.mark_group_delivered(claims, "send-1")] == [True, True]
    assert [r.owned for _, r in await store.mark_group_delivered(claims, "send-1")] == [True, True]
    assert [r.owned for _, r in await store.mark_group_delivered(claims, "another-send")] == [False, False]
