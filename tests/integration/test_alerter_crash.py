"""Crash tests: the alerter dies abruptly between send and log, and between log and offset commit; a new one
takes over. Deliveries are counted at the receivers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.alerter.app import AlerterApp
from services.alerter.notifiers.base import DeliveryOutcome, Notification, Notifier
from services.shared.http import HttpServer
from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    count_notifications,
    fast_policy,
    make_incident,
    produce_incidents,
    wait_until,
)

# Short lease: a row a dead alerter left 'sending' is due again after a second.
POLICY = fast_policy(send_timeout_seconds=0.5, lease_seconds=1.0)


class DieAfterSend(Notifier):
    """Wraps a notifier: the send reaches the receiver, then the process 'dies' before the log hears of it."""

    def __init__(self, inner: Notifier, died: asyncio.Event) -> None:
        super().__init__(inner.name)
        self.type = inner.type
        self._inner = inner
        self._died = died

    async def start(self) -> None:
        await self._inner.start()

    async def close(self) -> None:
        await self._inner.close()

    async def send(self, notification: Notification) -> DeliveryOutcome:
        await self._inner.send(notification)
        self._died.set()
        await asyncio.Event().wait()  # never returns: the alerter is dead from here on
        raise AssertionError("unreachable")


async def _kill(app: AlerterApp) -> None:
    """Abrupt death: the App's workers are cancelled mid-flight (no draining, no outcome logged, no commit), then
    its connections close, as the operating system would close them."""
    for task in list(app._tasks):
        task.cancel()
    for task in list(app._tasks):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await app.stop()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()] if path.exists() else []


async def test_death_between_send_and_log_resends_with_the_same_key_and_the_file_deduplicates(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Both receivers got the notification, the log still says 'sending'. The next alerter re-sends once the
    lease runs out: the webhook sees the same Idempotency-Key twice (one unique delivery), the file notifier
    writes nothing twice, and the log ends 'delivered' for both."""
    notify_file = tmp_path / "n.jsonl"
    async with FakeReceiver() as hook:
        config = alerter_config(
            [
                {"name": "team", "type": "webhook", "url": hook.url},
                {"name": "archive", "type": "file", "path": str(notify_file)},
            ]
        )
        died = asyncio.Event()
        app = AlerterApp(test_settings, config, registry=registry, http=HttpServer(registry, port=0), policy=POLICY)
        for name in ("team", "archive"):
            app._notifiers[name] = DieAfterSend(app._notifiers[name], died)
        await app.start()
        incident = make_incident("crash-send", 1, "open")
        await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [incident])
        await wait_until(lambda: len(hook.received) == 1 and len(_lines(notify_file)) == 1, "both receivers got it")
        await _kill(app)
        assert await count_notifications(db_pool, "status = 'sending'") == 2

        successor = AlerterApp(
            test_settings, config, registry=registry, http=HttpServer(registry, port=0), policy=POLICY
        )
        await successor.start()
        try:

            async def settled() -> bool:
                return await count_notifications(db_pool, "status = 'delivered'") == 2

            await wait_until(settled, "the successor settles both notifications")
        finally:
            await successor.stop()
    assert len(hook.received) == 2
    assert len(set(hook.ids())) == 1, "the re-send must carry the same idempotency key"
    assert len(_lines(notify_file)) == 1


async def test_death_between_log_and_commit_replays_and_sends_nothing_new(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """The states and notifications are in PostgreSQL but the offsets were never committed. The next alerter in
    the same consumer group reads the states again; the log recognises them: each state is delivered once."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        app = AlerterApp(test_settings, config, registry=registry, http=HttpServer(registry, port=0), policy=POLICY)
        recorded = asyncio.Event()
        await app.start()
        intake = app._intake
        assert intake is not None

        async def die_before_commit(_offsets: dict[Any, int]) -> None:
            recorded.set()
            await asyncio.Event().wait()

        intake._commit = die_before_commit  # type: ignore[method-assign,assignment]
        states = [make_incident("crash-commit", 1, "open"), make_incident("crash-commit", 2, "update")]
        await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, states)
        await asyncio.wait_for(recorded.wait(), 25)
        await wait_until(lambda: len(hook.received) >= 1, "a delivery before the death")
        await _kill(app)

        successor = AlerterApp(
            test_settings, config, registry=registry, http=HttpServer(registry, port=0), policy=POLICY
        )
        await successor.start()
        try:
            await wait_until(lambda: len(hook.received) >= 2, "both states delivered")

            async def settled() -> bool:
                return await count_notifications(db_pool, "status = 'delivered'") == 2

            await wait_until(settled, "the log shows both delivered")
            replayed = await db_pool.fetchval("SELECT count(*) FROM incident_states")
        finally:
            await successor.stop()
    assert [r.version for r in hook.received] == [1, 2]
    assert len(set(hook.ids())) == 2
    assert replayed == 2
    assert await count_notifications(db_pool, "true") == 2
