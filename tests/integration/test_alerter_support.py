"""Helpers shared by the alerter's integration tests (this module holds no tests itself).

A scripted webhook endpoint on port 0, incident builders, producing to and reading from topics, and bounded waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.alerter.app import AlerterApp
from services.alerter.backoff import DeliveryPolicy
from services.shared.codec import decode_deadletter, encode_incident
from services.shared.config import Config, parse_config
from services.shared.events import DeadLetterRecord, Evidence, IncidentEvent, IncidentStatus, deterministic_id
from services.shared.http import HttpServer
from services.shared.kafka import BatchConsumer, ConsumerSettings, EventProducer, ProducerSettings
from services.shared.settings import Settings
from services.shared.timeutil import format_rfc3339
from tests.conftest import TEST_SESSION_TIMEOUT_MS

SECRET = "webhook-test-secret"
WAIT_SECONDS = 25.0


def fast_policy(**overrides: Any) -> DeliveryPolicy:
    """A small retry budget and short delays, so retry and dead-letter paths finish in well under a second."""
    values: dict[str, Any] = {
        "max_attempts": 3,
        "initial_backoff_seconds": 0.05,
        "max_backoff_seconds": 0.2,
        "jitter": 0.0,
        "send_timeout_seconds": 5.0,
        "lease_seconds": 10.0,
        "poll_interval_seconds": 0.1,
    }
    values.update(overrides)
    return DeliveryPolicy(**values)


def alerter_config(receivers: list[dict[str, Any]], route: dict[str, Any] | None = None) -> Config:
    """A config for merchant `acme` with these receivers; by default the root route sends to all of them."""
    document: dict[str, Any] = {"merchants": [{"id": "acme"}], "receivers": receivers}
    document["route"] = route or {"receivers": [r["name"] for r in receivers]}
    return parse_config(document, env={})


@dataclass
class RunningAlerter:
    app: AlerterApp
    http: HttpServer


@contextlib.asynccontextmanager
async def running_alerter(
    settings: Settings,
    config: Config,
    registry: CollectorRegistry,
    policy: DeliveryPolicy | None = None,
    http: HttpServer | None = None,
) -> AsyncIterator[RunningAlerter]:
    """An AlerterApp serving its own HTTP on port 0, stopped on exit; or, given a server the caller runs, an
    AlerterApp on that one (serve_http=False), the way `stormwatch run` hosts every service."""
    own = http is None
    server = HttpServer(registry, port=0) if http is None else http
    app = AlerterApp(settings, config, registry=registry, http=server, serve_http=own, policy=policy or fast_policy())
    await app.start()
    try:
        yield RunningAlerter(app, server)
    finally:
        await app.stop()


def make_incident(
    key: str,
    version: int,
    status: IncidentStatus,
    *,
    merchant: str = "acme",
    severity: str = "high",
) -> IncidentEvent:
    """An incident state with a deterministic id from `key`; observed just now so the latency metric is fed."""
    now = format_rfc3339(datetime.now(UTC))
    return IncidentEvent(
        incident_id=deterministic_id("test-incident", key),
        version=version,
        status=status,
        kind="negative_spike",
        severity=severity,  # type: ignore[arg-type]
        merchant_id=merchant,
        platform="trustpilot",
        category="logistics",
        title=f"Negative reviews spike ({key})",
        summary=f"{key}: one-star reviews about late deliveries tripled",
        started_at="2026-03-01T10:00:00Z",
        detected_at="2026-03-01T10:05:00Z",
        resolved_at="2026-03-01T12:00:00Z" if status == "resolved" else None,
        observed_at=now,
        evidence=Evidence(observed=30, expected=4.5, window_seconds=900, rate_per_hour=120.0),
        playbook=("Decide whether the reviews are fair", "Answer publicly and briefly"),
    )


async def produce(bootstrap: str, topic: str, values: Sequence[tuple[bytes | None, bytes]]) -> None:
    producer = EventProducer(ProducerSettings(bootstrap))
    await producer.start()
    try:
        await producer.send_batch(topic, list(values))
    finally:
        await producer.stop()


async def produce_incidents(bootstrap: str, topic: str, incidents: Sequence[IncidentEvent]) -> None:
    """Keyed by incident id, as the detector does: one incident's states stay in one partition, in order."""
    await produce(bootstrap, topic, [(i.incident_id.encode(), encode_incident(i)) for i in incidents])


async def read_deadletters(bootstrap: str, topic: str, group: str, count: int) -> list[DeadLetterRecord]:
    """Read at least `count` dead-letter records with a consumer group of the test's own."""
    consumer = BatchConsumer(
        ConsumerSettings(
            bootstrap,
            group_id=group,
            topics=(topic,),
            session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=1000,
            fetch_max_wait_ms=20,
        )
    )
    await consumer.start()
    records: list[DeadLetterRecord] = []
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(decode_deadletter(r.value) for r in batch)
    finally:
        await consumer.stop()
    return records


async def wait_until(predicate: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Poll until `predicate` holds; fail with `what` after a generous bound (a hang guard, not a speed check)."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                result = predicate()
                if not isinstance(result, bool):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


async def count_notifications(pool: asyncpg.Pool, where: str) -> int:
    """Rows of the notification log matching a fixed SQL condition written by the test."""
    count: int = await pool.fetchval(f"SELECT count(*) FROM notifications WHERE {where}")
    return count


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def signature_valid(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    """Verify X-Stormwatch-Signature the way a receiver would, independently of the alerter's code."""
    timestamp = headers.get("X-Stormwatch-Timestamp", "")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Stormwatch-Signature", ""), f"sha256={expected}")


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]

    @property
    def version(self) -> int:
        version: int = self.body["incident"]["version"]
        return version


@dataclass
class FakeReceiver:
    """A webhook endpoint that answers from a script (then `default_status`), optionally holding requests at a
    gate first. `received` keeps the requests it answered 2xx; `attempts` counts every request."""

    script: list[int] = field(default_factory=list)
    default_status: int = 200
    gate: asyncio.Event | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    _runner: web.AppRunner | None = None
    _port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hook"

    async def __aenter__(self) -> FakeReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self._port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.attempts += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.script.pop(0) if self.script else self.default_status
        if 200 <= status < 300:
            self.received.append(Received(dict(request.headers), raw, orjson.loads(raw)))
        return web.json_response({"status": status}, status=status)

    def ids(self) -> list[str]:
        return [r.body["notification_id"] for r in self.received]
