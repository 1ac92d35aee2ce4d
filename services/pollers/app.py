"""The pollers App: one poll loop per configured source, wired to Kafka, PostgreSQL and the platforms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import PlatformAdapter, PollOptions
from services.pollers.adapters.http import PlatformClient
from services.pollers.adapters.registry import build_adapter
from services.pollers.cursor_store import CursorStore
from services.pollers.fingerprints import FingerprintStore
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import SourcePoller
from services.pollers.ratelimit import RateLimiters
from services.pollers.webhooks import WebhookReceiver, is_webhook_source
from services.shared import db
from services.shared.config import Config
from services.shared.deadletter import DeadLetterPublisher
from services.shared.http import HttpServer
from services.shared.kafka import EventProducer, ProducerSettings, ensure_topics
from services.shared.lifecycle import Lifecycle
from services.shared.settings import Settings

# How many sources may poll at the same moment: bounds sockets and memory however many sources are configured.
MAX_CONCURRENT_POLLS = 16
# A source that never succeeded yet does not make the service unready during its first minute.
STARTUP_GRACE_SECONDS = 60.0
# Time a graceful stop gives in-flight pages to publish and store their cursor.
DRAIN_SECONDS = 10.0


class PollerApp(Lifecycle):
    """Runs a SourcePoller per configured source; ready when every source polled successfully recently."""

    name = "pollers"

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        registry: CollectorRegistry,
        http: HttpServer,
        serve_http: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        # The clock of readiness (time since each source's last successful poll); tests inject one.
        self._monotonic = monotonic
        self._settings = settings
        self._config = config
        self._registry = registry
        self._http = http
        self._serve_http = serve_http
        self._metrics = PollerMetrics.create(registry)
        self._pool: asyncpg.Pool | None = None
        self._producer: EventProducer | None = None
        self._pollers: list[SourcePoller] = []
        self._poll_tasks: list[asyncio.Task[Any]] = []
        self._started_at = 0.0
        # Sources pushed to rather than polled: their routes must exist before the HTTP server starts.
        self._webhooks = WebhookReceiver([s for s in config.sources if is_webhook_source(s)], registry)
        http.add_routes(self._webhooks.routes())
        http.add_readiness_check(self.name, self._ready)
        http.add_liveness_check(self.name, self.is_alive)

    @property
    def pollers(self) -> tuple[SourcePoller, ...]:
        return tuple(self._pollers)

    async def _start(self, stack: AsyncExitStack) -> None:
        # Configuration first: a source without an adapter fails the start before anything opens.
        adapters = [
            (source, build_adapter(source, i), i)
            for i, source in enumerate(self._config.sources)
            if not is_webhook_source(source)
        ]
        options = [
            PollOptions.from_source(source, f"sources[{i}]", adapter.default_rate_limit)
            for source, adapter, i in adapters
        ]
        settings = self._settings
        bootstrap = settings.require_kafka()
        pool = await db.create_pool(settings.require_database().reveal(), settings.database_schema)
        stack.push_async_callback(pool.close)
        await db.apply_migrations(pool)
        self._pool = pool

        await ensure_topics(
            bootstrap,
            {settings.topics.reviews: settings.topic_partitions, settings.topics.deadletter: settings.topic_partitions},
        )
        producer = EventProducer(
            ProducerSettings(bootstrap, client_id="stormwatch-pollers", enable_idempotence=settings.kafka_idempotence)
        )
        await producer.start()
        stack.push_async_callback(producer.stop)
        self._producer = producer
        session = aiohttp.ClientSession()
        stack.push_async_callback(session.close)

        deadletters = DeadLetterPublisher(producer, settings.topics.deadletter, self._registry)
        self._webhooks.attach(producer, deadletters, settings.topics.reviews)
        stack.callback(self._webhooks.detach)
        cursors = CursorStore(pool)
        fingerprints = FingerprintStore(pool)
        semaphore = asyncio.Semaphore(MAX_CONCURRENT_POLLS)
        limiters = RateLimiters()
        self._pollers = []
        for (source, adapter, _index), poll_options in zip(adapters, options, strict=True):
            client = self._client(session, limiters, adapter, poll_options)
            self._pollers.append(
                SourcePoller(
                    source,
                    adapter,
                    client,
                    producer=producer,
                    deadletters=deadletters,
                    cursors=cursors,
                    topic=settings.topics.reviews,
                    metrics=self._metrics,
                    semaphore=semaphore,
                    options=poll_options,
                    fingerprints=fingerprints,
                    monotonic=self._monotonic,
                )
            )
        self._started_at = self._monotonic()
        self._poll_tasks = [self.spawn(poller.run(), f"poll:{poller.source.id}") for poller in self._pollers]
        if self._serve_http:
            await self._http.start()
            stack.push_async_callback(self._http.stop)

    def _client(
        self, session: aiohttp.ClientSession, limiters: RateLimiters, adapter: PlatformAdapter, options: PollOptions
    ) -> PlatformClient:
        platform = adapter.platform
        waits = self._metrics.rate_limit_waits.labels(platform=platform)
        return PlatformClient(
            session,
            platform,
            limiters.bucket(adapter.credential_id, options.rate_limit.per_second, options.rate_limit.burst),
            timeout_seconds=options.request_timeout_seconds,
            on_rate_limit_wait=waits.inc,
        )

    async def _before_stop(self) -> None:
        """Let in-flight pages publish and store their cursors, so a restart repeats nothing."""
        for poller in self._pollers:
            poller.request_stop()
        pending = [task for task in self._poll_tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=DRAIN_SECONDS)

    async def _ready(self) -> tuple[bool, str]:
        if not self.started or self._pool is None:
            return False, "not started"
        ok, detail = await db.database_ready(self._pool)
        if not ok:
            return False, detail
        # Polling without being able to publish is not working: say so at once, not when the last poll is stale.
        if self._producer is not None:
            ok, detail = self._producer.health()
            if not ok:
                return False, detail
        now = self._monotonic()
        stale = [p.source.id for p in self._pollers if not is_recent(p, now, self._started_at)]
        if stale:
            return False, f"no recent successful poll: {', '.join(stale)}"
        return True, f"{len(self._pollers)} sources polling"


def is_recent(poller: SourcePoller, now: float, started_at: float) -> bool:
    """Whether a source succeeded within max(60 s, 5 poll intervals), or is still in its start-up grace."""
    window = max(60.0, 5 * poller.source.poll_interval_seconds)
    if poller.last_success is None:
        return now - started_at < STARTUP_GRACE_SECONDS
    return now - poller.last_success <= window
