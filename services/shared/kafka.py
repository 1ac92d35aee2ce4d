"""Kafka through aiokafka only: topic creation, a batch producer that waits for acks, a manual-commit batch consumer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from services.shared.errors import Reason, TransientError
from services.shared.logging import get_logger

log = get_logger("stormwatch.kafka")

# A batch not acknowledged after this long on a healthy broker means the broker is away (see EventProducer.health).
PUBLISH_STUCK_SECONDS = 5.0

PartitionsCallback = Callable[[Sequence[TopicPartition]], Awaitable[None]]


@dataclass(frozen=True)
class ProducerSettings:
    bootstrap_servers: str
    client_id: str = "stormwatch"
    # Idempotence is a production setting: Apache Kafka supports it; the local Tansu broker does not.
    enable_idempotence: bool = False
    linger_ms: int = 5
    max_batch_size: int = 65536
    request_timeout_ms: int = 30000


def translate(exc: BaseException) -> TransientError:
    """Map aiokafka errors onto Stormwatch's error vocabulary (one boundary for the whole codebase)."""
    if isinstance(exc, KafkaConnectionError):
        return TransientError(f"kafka unavailable: {exc}", reason=Reason.CONNECTION_ERROR)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TransientError("kafka request timed out", reason=Reason.TIMEOUT)
    return TransientError(f"kafka error: {type(exc).__name__}: {exc}", reason=Reason.SERVER_ERROR)


async def ensure_topics(bootstrap_servers: str, topics: dict[str, int], replication_factor: int = 1) -> None:
    """Create the named topics with the given partition counts when they are missing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="stormwatch-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication_factor)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            # Another service may create them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("topics created", topics=[t.name for t in missing])
    finally:
        await admin.close()


class EventProducer:
    """Sends batches and returns only when the broker acknowledged every record of the batch."""

    def __init__(self, settings: ProducerSettings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            client_id=settings.client_id,
            acks="all",
            enable_idempotence=settings.enable_idempotence,
            linger_ms=settings.linger_ms,
            max_batch_size=settings.max_batch_size,
            request_timeout_ms=settings.request_timeout_ms,
        )
        self._started = False
        # For readiness: when each batch still waiting for its acks began, and why the last batch failed (if so).
        self._waiting: dict[object, float] = {}
        self._last_failure: str | None = None

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise translate(exc) from exc
        self._started = True

    def health(self, stuck_after_seconds: float = PUBLISH_STUCK_SECONDS) -> tuple[bool, str]:
        """Unhealthy while the last batch failed, or while a batch has waited for acks longer than the bound.

        With the broker away a send blocks for the whole request timeout before it fails; readiness must not wait
        that long to say so (the chaos suite's broker outage found /readyz answering 200 meanwhile)."""
        if self._waiting and time.monotonic() - min(self._waiting.values()) > stuck_after_seconds:
            return False, f"kafka: a batch has waited for acks over {stuck_after_seconds:g}s"
        if self._last_failure is not None:
            return False, f"kafka: the last batch failed ({self._last_failure})"
        return True, "ok"

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    async def send_batch(self, topic: str, records: Sequence[tuple[bytes | None, bytes]]) -> None:
        """Send (key, value) records and wait for all acks; raises TransientError when any send fails."""
        if not records:
            return
        token = object()
        self._waiting[token] = time.monotonic()
        try:
            futures = [await self._producer.send(topic, value=value, key=key) for key, value in records]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            self._last_failure = type(exc).__name__
            raise translate(exc) from exc
        finally:
            del self._waiting[token]
        self._last_failure = None

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        await self.send_batch(topic, [(key, value)])


@dataclass(frozen=True)
class ConsumerSettings:
    bootstrap_servers: str
    group_id: str
    topics: tuple[str, ...]
    client_id: str = "stormwatch"
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 2_000
    fetch_max_wait_ms: int = 50
    max_poll_records: int = 2000
    # Per partition and fetch; each partition buffers about one fetch, so this bounds what one getmany can return.
    max_partition_fetch_bytes: int = 1024 * 1024
    auto_offset_reset: str = "earliest"


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        if self._owner.on_revoked is not None and revoked:
            await self._owner.on_revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        if self._owner.on_assigned is not None and assigned:
            await self._owner.on_assigned(list(assigned))


class BatchConsumer:
    """A consumer-group member that yields batches and commits only when told to (after the work is done).

    `on_assigned` / `on_revoked` run inside the rebalance, so a service can load state and seek on assignment
    and flush state for partitions it is about to lose.
    """

    def __init__(
        self,
        settings: ConsumerSettings,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
    ) -> None:
        self.settings = settings
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=settings.group_id,
            client_id=settings.client_id,
            enable_auto_commit=False,
            auto_offset_reset=settings.auto_offset_reset,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_poll_records=settings.max_poll_records,
            max_partition_fetch_bytes=settings.max_partition_fetch_bytes,
        )
        self._started = False
        self._interrupted = False
        self._fetch: asyncio.Future[dict[TopicPartition, list[Any]]] | None = None

    async def start(self) -> None:
        try:
            await self._consumer.start()
        except KafkaError as exc:
            await self._consumer.stop()
            raise translate(exc) from exc
        self._consumer.subscribe(list(self.settings.topics), listener=_Listener(self))
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            try:
                await self._consumer.stop()
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # our own stop is being cancelled (a shutdown timeout): let it through
                # aiokafka 0.14: Fetcher.close() awaits a fetch task it has just cancelled; one cancelled in its
                # back-off after a failed fetch (the broker is gone) ends with its own CancelledError, which
                # escapes consumer.stop() before the client's connections are closed. Finish that part here.
                log.warning("consumer stopped while its broker was unreachable", group=self.settings.group_id)
                await self._consumer._client.close()

    async def getmany(self, timeout_ms: int = 1000) -> dict[TopicPartition, list[Any]]:
        """Records fetched within `timeout_ms`; nothing once `interrupt()` was called, even from a call waiting now.

        aiokafka's getmany ignores its timeout while the group is (re)joining: it waits for the assignment (on
        Tansu about half the session timeout), so without `interrupt()` a stop during a join would wait that out.
        """
        if self._interrupted:
            return {}
        fetch = asyncio.ensure_future(
            self._consumer.getmany(timeout_ms=timeout_ms, max_records=self.settings.max_poll_records)
        )
        self._fetch = fetch
        try:
            await asyncio.wait({fetch})
        finally:
            self._fetch = None
            if not fetch.done():  # the caller was cancelled
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fetch
        if fetch.cancelled():  # interrupted while waiting: nothing was taken from the fetch buffer
            return {}
        batch: dict[TopicPartition, list[Any]] = fetch.result()
        return batch

    def interrupt(self) -> None:
        """For shutdown: a `getmany` waiting now returns no records at once, and so does every later call.

        A consume loop that checks its stop flag between polls then ends promptly instead of waiting out a poll
        timeout or a group join. Only waits are cut short (aiokafka hands out records without awaiting), so no
        fetched record is dropped; the consumer is meant to be stopped afterwards.
        """
        self._interrupted = True
        if self._fetch is not None:
            self._fetch.cancel()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit the next offset to read per partition (last processed offset + 1)."""
        if offsets:
            await self._consumer.commit(offsets)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._consumer.seek(partition, offset)

    async def seek_to_committed(self, partitions: Sequence[TopicPartition]) -> None:
        for tp in partitions:
            committed = await self._consumer.committed(tp)
            if committed is not None:
                self._consumer.seek(tp, committed)

    def assignment(self) -> set[TopicPartition]:
        assigned: set[TopicPartition] = self._consumer.assignment()
        return assigned

    async def lag(self) -> dict[TopicPartition, int]:
        """Records behind the high watermark per assigned partition (0 while the watermark is unknown)."""
        lags: dict[TopicPartition, int] = {}
        for tp in self.assignment():
            high = self._consumer.highwater(tp)
            if high is None:
                lags[tp] = 0
                continue
            position = await self._consumer.position(tp)
            lags[tp] = max(0, high - position)
        return lags
