"""The alerter App: wires intake, the notification log, delivery and the HTTP API onto one lifecycle."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.api import IncidentApi
from services.alerter.backoff import DeliveryPolicy
from services.alerter.delivery import DeliveryWorker
from services.alerter.incidents import IncidentStore
from services.alerter.intake import IncidentIntake
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.pipeline import Pipeline, default_pipeline
from services.alerter.store import NotificationStore
from services.alerter.telemetry import AlerterMetrics
from services.shared import db
from services.shared.config import Config
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import ConfigError
from services.shared.http import HttpServer
from services.shared.kafka import (
    BatchConsumer,
    ConsumerSettings,
    EventProducer,
    ProducerSettings,
    ensure_topics,
)
from services.shared.lifecycle import Lifecycle
from services.shared.logging import get_logger
from services.shared.settings import Secret, Settings
from services.shared.timeutil import Clock

log = get_logger("stormwatch.alerter")


class AlerterApp(Lifecycle):
    """Consumes incident states, writes them and their notifications to PostgreSQL, delivers from there.

    `policy` tunes retries and delivery concurrency (tests shrink it); `clock` feeds notifier timestamps.
    """

    name = "alerter"

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        registry: CollectorRegistry,
        http: HttpServer,
        serve_http: bool = True,
        policy: DeliveryPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        if not settings.api_token:
            raise ConfigError("STORMWATCH_API_TOKEN is not set")
        self._api_token: Secret = settings.api_token
        self._settings = settings
        self._config = config
        self._registry = registry
        self._http = http
        self._serve_http = serve_http
        self._policy = policy or DeliveryPolicy()
        # Built now so a bad receiver fails the constructor with a named key, before anything connects.
        self._notifiers = build_notifiers(config.receivers, clock=clock)
        self._pipeline: Pipeline = default_pipeline(config.route)
        self._metrics = AlerterMetrics.create(registry)
        self._api = IncidentApi()
        http.add_routes(self._api.routes())
        self._pool: asyncpg.Pool | None = None
        self._consumer: BatchConsumer | None = None
        self._intake: IncidentIntake | None = None
        self._delivery: DeliveryWorker | None = None
        self._intake_task: asyncio.Task[Any] | None = None
        self._delivery_task: asyncio.Task[Any] | None = None
        http.add_readiness_check("alerter-consumer", self._consumer_ready)
        http.add_readiness_check("alerter-database", self._database_ready)
        http.add_liveness_check("alerter", self.is_alive)

    async def _start(self, stack: AsyncExitStack) -> None:
        settings = self._settings
        bootstrap = settings.require_kafka()
        await ensure_topics(
            bootstrap,
            {
                settings.topics.incidents: settings.topic_partitions,
                settings.topics.deadletter: settings.topic_partitions,
            },
        )
        pool = await db.create_pool(settings.require_database().reveal(), settings.database_schema)
        stack.push_async_callback(pool.close)
        self._pool = pool
        await db.apply_migrations(pool)

        producer = EventProducer(
            ProducerSettings(bootstrap, client_id="stormwatch-alerter", enable_idempotence=settings.kafka_idempotence)
        )
        await producer.start()
        stack.push_async_callback(producer.stop)
        deadletters = DeadLetterPublisher(producer, settings.topics.deadletter, self._registry)

        for notifier in self._notifiers.values():
            await notifier.start()
            stack.push_async_callback(notifier.close)

        store = NotificationStore(pool)
        waiting = await store.count_unknown_receivers(list(self._notifiers))
        if waiting:
            log.warning("notifications wait for receivers that are no longer configured", receivers=waiting)
        delivery = DeliveryWorker(store, self._notifiers, self._policy, deadletters, self._metrics)
        self._delivery = delivery

        consumer = BatchConsumer(
            ConsumerSettings(
                bootstrap,
                group_id=settings.consumer_group("alerter"),
                topics=(settings.topics.incidents,),
                client_id="stormwatch-alerter",
                session_timeout_ms=settings.consumer_session_timeout_ms,
                heartbeat_interval_ms=max(100, min(2000, settings.consumer_session_timeout_ms // 3)),
                fetch_max_wait_ms=settings.fetch_max_wait_ms,
            )
        )
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        self._consumer = consumer
        self._intake = IncidentIntake(
            consumer, store, self._pipeline, deadletters, self._metrics, on_recorded=delivery.wake
        )

        incidents = IncidentStore(pool)
        self._api.attach(incidents, self._api_token)
        stack.callback(self._api.detach)

        # Delivery first: it resumes what a previous run left due while the consumer joins its group.
        self._delivery_task = self.spawn(delivery.run(), "delivery")
        self._intake_task = self.spawn(self._intake.run(), "intake")
        if self._serve_http:
            await self._http.start()
            stack.push_async_callback(self._http.stop)
        log.info(
            "alerter ready",
            receivers={name: n.type for name, n in self._notifiers.items()},
            pipeline=list(self._pipeline.stage_names),
        )

    async def _before_stop(self) -> None:
        """Stop taking in new states, then let the sends in flight finish and be logged before resources close."""
        if self._intake is not None:
            self._intake.request_stop()
        if self._delivery is not None:
            self._delivery.request_stop()
        pending = [t for t in (self._intake_task, self._delivery_task) if t is not None and not t.done()]
        if pending:
            await asyncio.wait(pending)

    async def _consumer_ready(self) -> tuple[bool, str]:
        if self._consumer is None or not self.started:
            return False, "consumer not started"
        return True, f"{len(self._consumer.assignment())} partition(s) assigned"

    async def _database_ready(self) -> tuple[bool, str]:
        if self._pool is None or not self.started:
            return False, "database pool not open"
        return await db.database_ready(self._pool)
