"""The alerter App: wires intake, the notification log, delivery and the HTTP API onto one lifecycle."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.api import IncidentApi
from services.alerter.backoff import DeliveryPolicy
from services.alerter.console.routes import install_console
from services.alerter.delivery import DeliveryWorker
from services.alerter.digest import DigestScheduler
from services.alerter.inbound_api import InboundApi, inbound_secrets
from services.alerter.incidents import IncidentStore
from services.alerter.intake import IncidentIntake
from services.alerter.journal import DeliveryJournal, journal_path
from services.alerter.link_api import LinkApi
from services.alerter.links import LinkSigner, console_link
from services.alerter.noise_api import NoiseApi
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.oncall_api import OnCallApi
from services.alerter.open_incidents import OpenIncidentsGauge
from services.alerter.pipeline import Pipeline
from services.alerter.stages import ack_timeouts, full_pipeline
from services.alerter.store import NotificationStore
from services.alerter.telemetry import AlerterMetrics, LabelValues
from services.shared import db
from services.shared.config import Config
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import ConfigError
from services.shared.events import IncidentEvent
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
from services.shared.timeutil import Clock, WallClock

log = get_logger("stormwatch.alerter")


class AlerterApp(Lifecycle):
    """Consumes incident states, writes them and their notifications to PostgreSQL, delivers from there.

    `policy` tunes retries and delivery concurrency (by default the config file's `delivery:` section; tests shrink
    it); `clock` feeds notifier timestamps.
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
        public_url: str | None = None,
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
        self._policy = policy or DeliveryPolicy.from_config(config.delivery)
        # Built now so a bad receiver fails the constructor with a named key, before anything connects.
        self._notifiers = build_notifiers(config.receivers, clock=clock)
        self._pipeline: Pipeline = full_pipeline(config, clock)
        self._metrics = AlerterMetrics.create(registry, LabelValues.of((m.id for m in config.merchants), config.people))
        self._api = IncidentApi()
        http.add_routes(self._api.routes())
        # Signed acknowledge / resolve links in every notification, when a link secret is configured. They point
        # at `public_url` (how responders reach this server), by default the server's own URL.
        self._clock = clock or WallClock()
        # STORMWATCH_PUBLIC_URL unless the caller (tests, the local run) passes one.
        self._public_url = public_url or settings.public_url
        self._link_api = LinkApi(self._clock)
        http.add_routes(self._link_api.routes())
        self._noise_api = NoiseApi()
        http.add_routes(self._noise_api.routes())
        self._oncall_api = OnCallApi(config.schedules, config.people, self._clock)
        http.add_routes(self._oncall_api.routes())
        self._inbound_api = InboundApi(inbound_secrets(config.receivers))
        http.add_routes(self._inbound_api.routes())
        # The incident console: static pages that call the API above with the responder's token.
        install_console(http)
        self._pool: asyncpg.Pool | None = None
        self._consumer: BatchConsumer | None = None
        self._intake: IncidentIntake | None = None
        self._delivery: DeliveryWorker | None = None
        self._intake_task: asyncio.Task[Any] | None = None
        self._delivery_task: asyncio.Task[Any] | None = None
        self._digests: DigestScheduler | None = None
        self._open_incidents: OpenIncidentsGauge | None = None
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
        incidents = IncidentStore(pool, self._metrics, ack_timeouts=ack_timeouts(self._config, self._clock))
        signer: LinkSigner | None = None
        if self._settings.link_secret:
            signer = LinkSigner(self._settings.link_secret, self._public_url or "")
            self._link_api.attach(incidents, signer)
            stack.callback(self._link_api.detach)
        delivery = DeliveryWorker(
            store,
            self._notifiers,
            self._policy,
            deadletters,
            self._metrics,
            links=self._links_for(signer),
            journal=self._open_journal(stack),
        )
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

        self._api.attach(incidents, self._api_token)
        self._noise_api.attach(
            pool, self._pipeline, self._api_token, {name: n.type for name, n in self._notifiers.items()}
        )
        stack.callback(self._noise_api.detach)
        self._oncall_api.attach(self._api_token)
        stack.callback(self._oncall_api.detach)
        self._inbound_api.attach(incidents)
        stack.callback(self._inbound_api.detach)
        stack.callback(self._api.detach)

        digests = DigestScheduler(pool, self._config, self._notifiers, clock=self._clock)
        self._digests = digests
        if self._config.digest is not None:
            self.spawn(digests.run(), "digest")

        self._open_incidents = OpenIncidentsGauge(pool, self._metrics)
        self.spawn(self._open_incidents.run(), "open-incidents")

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
            delivery_journal=str(settings.alerter_journal) if settings.alerter_journal else "off",
        )

    def _open_journal(self, stack: AsyncExitStack) -> DeliveryJournal | None:
        """The delivery journal, when STORMWATCH_ALERTER_JOURNAL names one (locked for this process until stop)."""
        if self._settings.alerter_journal is None:
            return None
        journal = DeliveryJournal(journal_path(self._settings.alerter_journal))
        stack.callback(journal.close)
        return journal

    async def _before_stop(self) -> None:
        """Stop taking in new states, then let the sends in flight finish and be logged before resources close."""
        if self._intake is not None:
            self._intake.request_stop()
        if self._consumer is not None:
            # The intake's poll returns now, not after its poll timeout or a group join it may be waiting out.
            self._consumer.interrupt()
        if self._delivery is not None:
            self._delivery.request_stop()
        if self._digests is not None:
            self._digests.request_stop()
        if self._open_incidents is not None:
            self._open_incidents.request_stop()
        pending = [t for t in (self._intake_task, self._delivery_task) if t is not None and not t.done()]
        if pending:
            await asyncio.wait(pending)

    def _links_for(self, signer: LinkSigner | None) -> Callable[[IncidentEvent], Mapping[str, str]]:
        def links(incident: IncidentEvent) -> Mapping[str, str]:
            # Resolved lazily: in tests and the local run the server's port is known only once it listens.
            try:
                base = (self._public_url or self._http.url).rstrip("/")
            except RuntimeError:  # the shared server is not listening yet (local run start-up): no links this time
                return {}
            out: dict[str, str] = {}
            if signer is not None and incident.status != "resolved":
                out.update(dataclasses.replace(signer, base_url=base).links(incident.incident_id, self._clock.now()))
            out["console"] = console_link(base, incident.incident_id)
            return out

        return links

    async def _consumer_ready(self) -> tuple[bool, str]:
        if self._consumer is None or not self.started:
            return False, "consumer not started"
        return True, f"{len(self._consumer.assignment())} partition(s) assigned"

    async def _database_ready(self) -> tuple[bool, str]:
        if self._pool is None or not self.started:
            return False, "database pool not open"
        return await db.database_ready(self._pool)
