"""Intake: consume incident states, write them and their planned notifications to the log, then commit offsets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from services.alerter.pipeline import Pipeline
from services.alerter.store import NotificationStore, RecordedState
from services.alerter.telemetry import AlerterMetrics
from services.shared import kafka
from services.shared.codec import decode_incident
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import BadInput, Reason, TransientError
from services.shared.events import IncidentEvent
from services.shared.kafka import BatchConsumer
from services.shared.logging import get_logger
from services.shared.timeutil import parse_rfc3339

log = get_logger("stormwatch.alerter.intake")

SOURCE = "alerter"
_MAX_RETRY_DELAY = 30.0


@dataclass(frozen=True, slots=True)
class _Message:
    """One consumed record, decoded or not, with its Kafka coordinates."""

    raw: bytes
    topic: str
    partition: int
    offset: int
    incident: IncidentEvent | None = None
    error: BadInput | None = None


class IncidentIntake:
    """The consume loop. Offsets are committed only after the batch's states and notifications are in
    PostgreSQL, so a crash replays the batch, and the log's unique keys make the replay create nothing new."""

    def __init__(
        self,
        consumer: BatchConsumer,
        store: NotificationStore,
        pipeline: Pipeline,
        deadletters: DeadLetterPublisher,
        metrics: AlerterMetrics,
        *,
        on_recorded: Callable[[], None],
        poll_timeout_ms: int = 500,
    ) -> None:
        self._consumer = consumer
        self._store = store
        self._pipeline = pipeline
        self._deadletters = deadletters
        self._metrics = metrics
        self._on_recorded = on_recorded
        self._poll_timeout_ms = poll_timeout_ms
        self._stopping = asyncio.Event()

    def request_stop(self) -> None:
        """Finish the batch in hand (unless it is stuck retrying) and return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            batch = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
            if batch:
                await self.process(batch)

    async def process(self, batch: dict[Any, list[Any]]) -> None:
        """Decode, dead-letter what is bad, record the rest, commit. Transient failures retry the same batch."""
        messages = [self._decode(record) for records in batch.values() for record in records]
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items() if records}
        rejected = [m for m in messages if m.error is not None]
        states = [m for m in messages if m.incident is not None]
        delay = 0.5
        while True:
            try:
                while rejected:
                    await self._dead_letter(rejected[0])
                    rejected.pop(0)  # published: a retry of the rest must not publish it again
                results = await self._record(states)
                break
            except TransientError as exc:
                if self._stopping.is_set():
                    # Uncommitted: whoever owns the partition next processes the batch again.
                    log.warning("batch abandoned at shutdown", error=str(exc))
                    return
                log.warning("recording incident states failed, retrying", error=str(exc), delay=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, _MAX_RETRY_DELAY)
        for result in results:
            self._log_state(result)
        if any(result.planned for result in results):
            self._on_recorded()
        await self._commit(offsets)

    async def _record(self, messages: Sequence[_Message]) -> list[RecordedState]:
        """One transaction for the batch; if PostgreSQL refuses a value, find the culprit one state at a time."""
        if not messages:
            return []
        try:
            return await self._store.record_states([m.incident for m in messages if m.incident], self._pipeline)
        except BadInput:
            if len(messages) == 1:
                raise
        results: list[RecordedState] = []
        for message in messages:
            try:
                results.extend(await self._record([message]))
            except BadInput as exc:
                await self._dead_letter(_with_error(message, exc))
        return results

    def _decode(self, record: Any) -> _Message:
        raw: bytes = record.value or b""
        message = _Message(raw, record.topic, record.partition, record.offset)
        try:
            incident = decode_incident(raw)
            _check_timestamps(incident)
        except BadInput as exc:
            return _with_error(message, exc)
        self._metrics.states_received.labels(incident.kind, incident.status).inc()
        return _Message(raw, record.topic, record.partition, record.offset, incident=incident)

    async def _dead_letter(self, message: _Message) -> None:
        error = message.error
        assert error is not None
        await self._deadletters.publish(
            reason=error.reason.value,
            detail=str(error),
            source=SOURCE,
            original=message.raw,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )

    async def _commit(self, offsets: dict[Any, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            # A rebalance took the partition: its new owner replays these records and the log deduplicates them.
            log.warning("offset commit failed", error=str(kafka.translate(exc)))

    def _log_state(self, result: RecordedState) -> None:
        incident = result.incident
        fields = {
            "title": incident.title,
            "incident_id": incident.incident_id,
            "version": incident.version,
            "status": incident.status,
            "kind": incident.kind,
            "severity": incident.severity,
            "merchant": incident.merchant_id,
        }
        for reason in result.suppressed:
            self._metrics.suppressed.labels(reason).inc()
        for reason in result.deferred:
            self._metrics.deferred.labels(reason).inc()
        if result.first_reply_seconds is not None:
            merchant = self._metrics.labels.merchant(incident.merchant_id)
            self._metrics.time_to_first_reply.labels(incident.platform or "", merchant).observe(
                result.first_reply_seconds
            )
        if result.outcome == "new":
            log.info(
                "incident state received",
                receivers=[p.receiver for p in result.planned],
                suppressed=list(result.suppressed) or None,
                deferred=list(result.deferred) or None,
                **fields,
            )
        else:
            # Replays and redeliveries land here: expected, and nothing is notified again.
            log.info("incident state already seen", outcome=result.outcome, **fields)


def _with_error(message: _Message, error: BadInput) -> _Message:
    return _Message(message.raw, message.topic, message.partition, message.offset, error=error)


def _check_timestamps(incident: IncidentEvent) -> None:
    """The schema checks the format; this checks Python can read it, before it reaches the transaction."""
    for name in ("started_at", "detected_at", "resolved_at", "observed_at", "first_reply_at"):
        value = getattr(incident, name)
        if value is None:
            continue
        try:
            parse_rfc3339(value)
        except ValueError:
            raise BadInput(f"{name}: unreadable timestamp", reason=Reason.SCHEMA_INVALID) from None
