"""Dead-letter publishing: bad input is counted, logged once with context, sent to the dead-letter topic, skipped."""

from __future__ import annotations

import base64

from prometheus_client import CollectorRegistry

from services.shared import metrics
from services.shared.codec import encode_deadletter
from services.shared.events import DeadLetterRecord
from services.shared.kafka import EventProducer
from services.shared.logging import get_logger
from services.shared.timeutil import format_rfc3339, utcnow

log = get_logger("stormwatch.deadletter")

# The detail is free text for people; keep it short so a hostile payload cannot bloat the record.
_MAX_DETAIL = 2000


class DeadLetterPublisher:
    def __init__(self, producer: EventProducer, topic: str, registry: CollectorRegistry) -> None:
        self._producer = producer
        self._topic = topic
        self._counter = metrics.counter(
            registry,
            "stormwatch_deadletters_total",
            "Inputs rejected and sent to the dead-letter topic, by rejecting component and reason.",
            ["source", "reason"],
        )

    async def publish(
        self,
        *,
        reason: str,
        detail: str,
        source: str,
        original: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        context: dict[str, str | int | float | None] | None = None,
    ) -> DeadLetterRecord:
        record = DeadLetterRecord(
            reason=reason,
            detail=detail[:_MAX_DETAIL],
            source=source,
            original_b64=base64.b64encode(original).decode("ascii"),
            received_at=format_rfc3339(utcnow()),
            topic=topic,
            partition=partition,
            offset=offset,
            context=dict(context or {}),
        )
        await self._producer.send(self._topic, encode_deadletter(record), key=source.encode())
        self._counter.labels(source=source, reason=reason).inc()
        log.warning(
            "dead-lettered",
            source=source,
            reason=reason,
            detail=record.detail,
            topic=topic,
            partition=partition,
            offset=offset,
            **(context or {}),
        )
        return record
