"""The detector service: consume review events, detect in event time, emit incidents, checkpoint state with offsets.

Exactly-once state: for each partition's batch, one PostgreSQL transaction stores the new reviews, the detector
state and the next offset, and it commits only after the batch's incident events were acknowledged by Kafka.
On assignment a partition resumes from that checkpoint (not from the Kafka commit, which only feeds lag
monitoring). A crash after producing and before committing replays the batch from the previous checkpoint: as
detection is deterministic in event time, the replay produces the same incident events (same incident_id and
version) again, and the alerter deduplicates on (incident_id, version). A graceful stop finishes the batch in
hand first, so it produces no duplicates; only a batch still waiting for the text model is dropped instead
(nothing of it was sent or stored yet, and the model may need many seconds for a backlog), to be read again after
a restart. A checkpoint only moves from the offset its writer resumed from, so a member that lost a partition
without noticing cannot overwrite the new owner's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
import orjson
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from prometheus_client import CollectorRegistry

from services.detector.classification.classifier import Interrupted
from services.detector.engine import DetectionEngine, engine_for
from services.detector.intake import Rejected, decode, score_decoded
from services.detector.metrics import DetectorMetrics
from services.detector.scoring import score
from services.detector.state import StateMismatch
from services.detector.store import (
    CheckpointConflict,
    insert_incidents,
    insert_reviews,
    load_checkpoint,
    save_checkpoint,
)
from services.detector.text_classifier import ClassifierMetrics, TextAwareClassifier
from services.shared import codec, db
from services.shared.config import Config
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import TransientError
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
from services.shared.settings import Settings
from services.shared.timeutil import monotonic

log = get_logger("stormwatch.detector")

_POLL_TIMEOUT_MS = 500
_LAG_EVERY_SECONDS = 5.0
# The loop wakes at least every poll timeout; this long without a turn means it is stuck.
_LIVENESS_SECONDS = 120.0
_MAX_BACKOFF_SECONDS = 10.0
# Failures a retry can fix: the broker or the database was away. Anything else is a bug and stops the service.
# InternalClientError: releasing a pooled connection PostgreSQL dropped mid-query (as in the alerter's store).
_RETRIABLE = (
    TransientError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


@dataclass
class _Partition:
    """One assigned partition: its engine, the next offset to read and the state checkpointed with it."""

    engine: DetectionEngine
    next_offset: int
    checkpoint: dict[str, Any]  # the whole committed state, kept current merchant by merchant (a retry restores it)
    merchant_bytes: dict[str, int]  # each merchant's checkpointed state size, for the state-size gauge
    # The next checkpoint writes every merchant, dropping the stored rows first: the state was discarded, or it was
    # stored whole in the checkpoint row (as before merchant rows existed).
    rewrite: bool = False
    deadlettered_upto: int = -1  # so a retried batch does not dead-letter the same record twice
    # The checkpoint this member last read again from after records began past it (see `_read_again`).
    sought_back_to: int | None = None


class DetectorApp(Lifecycle):
    name = "detector"

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        registry: CollectorRegistry,
        http: HttpServer,
        serve_http: bool = True,
        text_classifier: TextAwareClassifier | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._config = config
        self._registry = registry
        self._http = http
        self._serve_http = serve_http
        self._metrics = DetectorMetrics(registry)
        # Negativity, category and language from rating and text; the model runs in its own worker thread. A
        # benchmark passes one whose cache is warm, to measure the steady state rather than the model's first texts.
        self._text = text_classifier or TextAwareClassifier()
        self._classifier_metrics = ClassifierMetrics(registry, counted=self._text.stats)
        self._group = settings.consumer_group("detector")
        # Held while a batch is processed: a revocation waits for it, so the last checkpoint is current.
        self._lock = asyncio.Lock()
        # Set as soon as a stop is asked for, before waiting for the lock: a batch still in the model stage drops.
        self._stop_requested = asyncio.Event()
        self._consume_task: asyncio.Task[None] | None = None
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._pool: asyncpg.Pool | None = None
        self._producer: EventProducer | None = None
        self._consumer: BatchConsumer | None = None
        self._deadletters: DeadLetterPublisher | None = None
        self._stopping = False
        self._beat = monotonic()
        self._next_lag_report = 0.0
        self._failures = 0
        http.add_readiness_check("detector", self._ready)
        http.add_liveness_check("detector", self._alive)

    async def _start(self, stack: AsyncExitStack) -> None:
        settings = self._settings
        # Asynchronous commit: a database crash may lose the last commits, but each holds the reviews, the state
        # and the offset together, so the detector resumes from the checkpoint the database kept and does that
        # work again (incident events sent twice carry the same id and version; the alerter records them once).
        pool = await db.create_pool(
            settings.require_database().reveal(), settings.database_schema, synchronous_commit=False
        )
        stack.push_async_callback(pool.close)
        # Closed after the consumer stopped; it waits for a batch still being classified, so off the event loop.
        stack.push_async_callback(asyncio.to_thread, self._text.close)
        await db.apply_migrations(pool)
        self._pool = pool

        bootstrap = settings.require_kafka()
        topics = settings.topics
        partitions = settings.topic_partitions
        await ensure_topics(bootstrap, {topics.reviews: partitions, topics.incidents: partitions, topics.deadletter: 1})

        producer = EventProducer(
            ProducerSettings(bootstrap, client_id="stormwatch-detector", enable_idempotence=settings.kafka_idempotence)
        )
        await producer.start()
        stack.push_async_callback(producer.stop)
        self._producer = producer
        self._deadletters = DeadLetterPublisher(producer, topics.deadletter, self._registry)

        consumer = BatchConsumer(
            ConsumerSettings(
                bootstrap,
                group_id=self._group,
                topics=(topics.reviews,),
                client_id="stormwatch-detector",
                session_timeout_ms=settings.consumer_session_timeout_ms,
                heartbeat_interval_ms=max(500, settings.consumer_session_timeout_ms // 5),
                fetch_max_wait_ms=settings.fetch_max_wait_ms,
                max_poll_records=settings.detector_max_batch,
                # Room for a full batch spread over the partitions (a review event is about 1 KB on the wire).
                max_partition_fetch_bytes=max(1024 * 1024, settings.detector_max_batch * 1024),
            ),
            on_assigned=self._on_assigned,
            on_revoked=self._on_revoked,
        )
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        self._consumer = consumer

        self._stopping = False
        self._stop_requested.clear()
        self._beat = monotonic()
        self._consume_task = self.spawn(self._consume_loop(), "consume")
        if self._serve_http:
            await self._http.start()
            stack.push_async_callback(self._http.stop)

    async def _before_stop(self) -> None:
        # Wait for the batch in hand (unless it is still in the model stage, which drops it); the loop then sees
        # the flag and ends without taking another.
        self._stop_requested.set()
        if self._consumer is not None:
            # A poll waiting now (for records, or for a group join, which aiokafka does not cut at its timeout)
            # returns nothing at once, so the loop ends through its flag. Records already fetched are never
            # dropped, and an unread record is read again from the checkpoint after a restart anyway. (The
            # consumer's own stop still lets a join in progress finish: aiokafka waits for its coordination.)
            self._consumer.interrupt()
        async with self._lock:
            self._stopping = True

    # --- rebalance -------------------------------------------------------------------------------------------

    async def _on_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        async with self._lock:
            for tp in assigned:
                await self._load_partition(tp)

    async def _on_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self._lock:
            for tp in revoked:
                self._partitions.pop(tp, None)
                with contextlib.suppress(KeyError):
                    self._metrics.consumer_lag.remove(self._group, tp.topic, str(tp.partition))
                self._metrics.forget_state(tp.partition)
        log.info("partitions revoked", partitions=[tp.partition for tp in revoked])

    async def _load_partition(self, tp: TopicPartition) -> None:
        """Resume a partition from its checkpoint in PostgreSQL (no checkpoint: from the start of the partition)."""
        assert self._pool is not None and self._consumer is not None
        async with self._pool.acquire() as connection:
            checkpoint = await load_checkpoint(connection, group=self._group, topic=tp.topic, partition=tp.partition)
        engine = engine_for(self._config, classifier=self._text)
        next_offset = 0
        rewrite = False
        if checkpoint is not None:
            next_offset = checkpoint.next_offset
            rewrite = checkpoint.whole_in_row
            try:
                engine = engine_for(self._config, checkpoint.state, classifier=self._text)
            except StateMismatch as exc:
                # Another bucket size makes the old baseline meaningless: learn afresh from here on.
                log.warning("detector state discarded", partition=tp.partition, reason=str(exc))
                rewrite = True
        snapshot = engine.snapshot()
        partition = self._partitions[tp] = _Partition(
            engine=engine,
            next_offset=next_offset,
            checkpoint=snapshot,
            merchant_bytes={key: len(orjson.dumps(value)) for key, value in snapshot["merchants"].items()},
            rewrite=rewrite,
        )
        # The state taken over on a rebalance is visible at once, not only after this replica's first batch.
        self._metrics.report_state(tp.partition, engine.state, _state_bytes(partition))
        self._seek(tp, next_offset)
        log.info("partition assigned", topic=tp.topic, partition=tp.partition, next_offset=next_offset)

    # --- the loop --------------------------------------------------------------------------------------------

    async def _consume_loop(self) -> None:
        assert self._consumer is not None
        while not self._stopping:
            self._beat = monotonic()
            batch = await self._consumer.getmany(timeout_ms=_POLL_TIMEOUT_MS)
            if batch:
                done = await self._process(batch)
                await self._commit_to_kafka(done)
            await self._report_lag()

    async def _process(self, batch: dict[TopicPartition, list[Any]]) -> dict[TopicPartition, int]:
        """Process each partition's records; returns the next offsets of the partitions that were checkpointed."""
        assert self._consumer is not None
        done: dict[TopicPartition, int] = {}
        async with self._lock:
            if self._stopping:
                return done
            work: list[tuple[TopicPartition, _Partition, list[Any]]] = []
            for tp, records in batch.items():
                partition = self._partitions.get(tp)
                if partition is None:
                    # Its assignment callback failed (database away): load now; the seek re-delivers the records.
                    if tp in self._consumer.assignment():
                        await self._retry_load(tp)
                    continue
                fresh = [r for r in records if r.offset >= partition.next_offset]
                if fresh and fresh[0].offset > partition.next_offset and self._read_again(tp, partition, fresh[0]):
                    continue
                if fresh:
                    work.append((tp, partition, fresh))
            # Partitions are independent (own engine, own checkpoint row, own connection), so they run side by
            # side: while one waits for PostgreSQL or the model, another decodes and detects, and the database
            # and this process use both cores. Every partition finishes before a bug's exception is raised.
            outcomes = await asyncio.gather(
                *(self._process_or_recover(tp, partition, records) for tp, partition, records in work),
                return_exceptions=True,
            )
            for (tp, partition, _), outcome in zip(work, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    raise outcome
                if outcome:
                    done[tp] = partition.next_offset
        return done

    def _read_again(self, tp: TopicPartition, partition: _Partition, first: Any) -> bool:
        """Records begin past the checkpoint: True after seeking back to it (the batch is not processed).

        A checkpoint must never move across records nobody processed: that would lose them. The consumer can read
        ahead of the checkpoint when its position came from elsewhere than the checkpoint (the offset committed to
        Kafka after a batch whose database commit a crash then lost, met in the long chaos run), so read again
        from the checkpoint. If records still begin past it after that, the offsets really skip there (a compacted
        topic, transaction markers, or retention deleted records the detector never read): go on, and say so.
        """
        if partition.sought_back_to == partition.next_offset:
            log.error(
                "offsets skip past the checkpoint: records there are gone",
                partition=tp.partition,
                checkpoint=partition.next_offset,
                first_offset=first.offset,
            )
            partition.sought_back_to = None
            return False
        log.warning(
            "records begin past the checkpoint: reading again from it",
            partition=tp.partition,
            checkpoint=partition.next_offset,
            first_offset=first.offset,
        )
        partition.sought_back_to = partition.next_offset
        self._seek(tp, partition.next_offset)
        return True

    async def _process_or_recover(self, tp: TopicPartition, partition: _Partition, records: list[Any]) -> bool:
        """Process one partition's records; True once they are checkpointed, False after a recovery."""
        assert self._consumer is not None
        try:
            await self._process_partition(tp, partition, records)
        except Interrupted:
            log.info("stopping: batch dropped before the text model finished", partition=tp.partition)
            return False
        except _RETRIABLE as exc:
            await self._rewind(tp, partition, exc)
            return False
        except CheckpointConflict as exc:
            # Someone else owns this state now: forget ours, resume from theirs if we still have it.
            log.warning("checkpoint moved by another consumer", partition=tp.partition, error=str(exc))
            self._partitions.pop(tp, None)
            if tp in self._consumer.assignment():
                await self._retry_load(tp)
            return False
        self._failures = 0
        return True

    async def _process_partition(self, tp: TopicPartition, partition: _Partition, records: list[Any]) -> None:
        assert self._pool is not None and self._producer is not None
        started = time.perf_counter()
        # The text model reads the batch off the event loop first; scoring then only looks its answers up.
        decoded = decode(records)  # once: the model's batch and scoring share the events
        # A stop asked for meanwhile gives the batch up after the model's current chunk (raises Interrupted): a
        # backlog of texts can keep the model busy for many seconds, and nothing of the batch was sent or stored
        # yet, so it is simply read again from the checkpoint after a restart. Scoring uses this batch's own
        # answers: other partitions' batches are prepared side by side.
        prepared = await self._text.prepare(decoded.reviews(), stop=self._stop_requested)
        intake = score_decoded(decoded, partial(score, classifier=prepared))
        await self._dead_letter(tp, partition, intake.rejected)
        reviews = intake.reviews
        next_offset = records[-1].offset + 1

        async with self._pool.acquire() as connection, connection.transaction():
            new_ids = await insert_reviews(connection, reviews, intake.payloads)
            new = [r for r in reviews if r.event.event_id in new_ids]
            incidents: list[IncidentEvent] = []
            for review in new:  # in offset order: the order decides the incident events
                incidents.extend(partition.engine.process(review))
            if incidents:
                await self._producer.send_batch(
                    self._settings.topics.incidents,
                    [(i.incident_id.encode(), codec.encode_incident(i)) for i in incidents],
                )
                await insert_incidents(connection, incidents)
            # Only the merchants this batch touched are written (with the header and the offset, in this
            # transaction): a checkpoint costs what the batch changed, not the size of the partition's state.
            if partition.rewrite:
                snapshot = partition.engine.snapshot()
                partition.engine.take_touched()
                changed = snapshot["merchants"]
            else:
                changed = partition.engine.take_touched()
            encoded = {merchant_id: orjson.dumps(state) for merchant_id, state in changed.items()}
            await save_checkpoint(
                connection,
                group=self._group,
                topic=tp.topic,
                partition=tp.partition,
                previous_offset=partition.next_offset,
                next_offset=next_offset,
                state=partition.engine.state.header(),
                merchants=encoded,
                replace_merchants=partition.rewrite,
            )

        partition.next_offset = next_offset
        if partition.rewrite:
            partition.checkpoint = snapshot
            partition.merchant_bytes = {}
            partition.rewrite = False
        else:
            partition.checkpoint["merchants"].update(changed)
        partition.merchant_bytes.update((merchant_id, len(data)) for merchant_id, data in encoded.items())
        self._metrics.report_state(tp.partition, partition.engine.state, _state_bytes(partition))
        # Counted only now that the batch is committed: a retried batch recounts from the restored engine.
        for platform, how in partition.engine.drain_recoveries():
            self._metrics.recoveries.labels(platform=platform, how=how).inc()
        # Counted per (platform, polarity) first: one labelled increment per pair, not per review.
        processed = Counter((review.event.platform, review.classification.polarity) for review in new)
        for (platform, polarity), count in processed.items():
            self._metrics.reviews_processed.labels(platform=platform, polarity=polarity).inc(count)
        duplicates = intake.repeats + len(reviews) - len(new)
        if duplicates:
            self._metrics.duplicates.inc(duplicates)
        for incident in incidents:
            self._metrics.incidents.labels(kind=incident.kind, severity=incident.severity, status=incident.status).inc()
            _log_incident(incident)
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        self._classifier_metrics.export(self._text.stats)

    async def _dead_letter(self, tp: TopicPartition, partition: _Partition, rejected: list[Rejected]) -> None:
        """Bad input is counted, logged, dead-lettered (once, even when the batch is retried) and skipped."""
        assert self._deadletters is not None
        for record in rejected:
            if record.offset <= partition.deadlettered_upto:
                continue
            await self._deadletters.publish(
                reason=record.reason,
                detail=record.detail,
                source=self.name,
                original=record.original,
                topic=tp.topic,
                partition=tp.partition,
                offset=record.offset,
            )
            partition.deadlettered_upto = record.offset

    async def _retry_load(self, tp: TopicPartition) -> None:
        try:
            await self._load_partition(tp)
        except _RETRIABLE as exc:
            await self._backoff("loading a checkpoint failed", tp, exc)
        else:
            self._failures = 0

    async def _backoff(self, what: str, tp: TopicPartition, exc: BaseException) -> None:
        self._failures += 1
        delay = min(_MAX_BACKOFF_SECONDS, 0.25 * 2**self._failures)
        log.warning(what, partition=tp.partition, error=repr(exc), retry_in=delay)
        await asyncio.sleep(delay)

    async def _rewind(self, tp: TopicPartition, partition: _Partition, exc: BaseException) -> None:
        """After a failed batch: back to the last checkpoint (state and offset), then retry after a backoff."""
        assert self._consumer is not None
        partition.engine = engine_for(self._config, partition.checkpoint, classifier=self._text)
        self._seek(tp, partition.next_offset)
        await self._backoff("batch failed, retrying from the checkpoint", tp, exc)

    def _seek(self, tp: TopicPartition, offset: int) -> None:
        assert self._consumer is not None
        try:
            self._consumer.seek(tp, offset)
        except IllegalStateError:
            # Lost in a rebalance meanwhile: its next owner resumes from the checkpoint.
            self._partitions.pop(tp, None)

    async def _commit_to_kafka(self, done: dict[TopicPartition, int]) -> None:
        """Best effort: PostgreSQL holds the truth; the Kafka commit only makes the group's lag visible."""
        assert self._consumer is not None
        offsets = {tp: offset for tp, offset in done.items() if tp in self._consumer.assignment()}
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            log.debug("kafka offset commit skipped", error=repr(exc))

    async def _report_lag(self) -> None:
        assert self._consumer is not None
        now = monotonic()
        if now < self._next_lag_report:
            return
        self._next_lag_report = now + _LAG_EVERY_SECONDS
        try:
            async with asyncio.timeout(2.0):
                lags = await self._consumer.lag()
        except (KafkaError, TimeoutError) as exc:
            log.debug("consumer lag unavailable", error=repr(exc))
            return
        for tp, lag in lags.items():
            self._metrics.consumer_lag.labels(group=self._group, topic=tp.topic, partition=str(tp.partition)).set(lag)

    # --- health ----------------------------------------------------------------------------------------------

    async def _ready(self) -> tuple[bool, str]:
        if not self.started or self._pool is None:
            return False, "not started"
        if not self._partitions:
            return False, "no partitions assigned"
        return await db.database_ready(self._pool)

    def _alive(self) -> bool:
        if self.failure is not None:
            return False
        # Starting or stopped on purpose: nothing is stuck.
        return not self.started or monotonic() - self._beat < _LIVENESS_SECONDS


def _state_bytes(partition: _Partition) -> int:
    """The bytes of the partition's checkpointed state: its header and every merchant's state."""
    return len(orjson.dumps(partition.engine.state.header())) + sum(partition.merchant_bytes.values())


def _log_incident(incident: IncidentEvent) -> None:
    log.info(
        "incident",
        incident_id=incident.incident_id,
        version=incident.version,
        status=incident.status,
        kind=incident.kind,
        severity=incident.severity,
        merchant=incident.merchant_id,
        observed=incident.evidence.observed,
        expected=incident.evidence.expected,
        summary=incident.summary,
    )
