"""The same minimal windowed-count job in another Python stream processor (Bytewax), for the live benchmark.

Reads the review topic from the start to its end, decodes each value with orjson, and counts reviews per merchant
in one-hour tumbling windows of event time (`created_at`): the job the issue's comparison figures describe.
Bytewax's Kafka connector is confluent-kafka (librdkafka); it reads by assignment, without a consumer group.
"""

from __future__ import annotations

import importlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson


def bytewax_windowed_count(bootstrap: str, topic: str, count: int) -> float:
    """Events/s of the Bytewax job over `count` events, sustained: between its 20 % and 90 % records (the same
    span the detector benchmark times; Bytewax runs the job in this one thread, so records go in as they are done)."""
    # Bytewax is an optional benchmark dependency (the `bench` extra), not a runtime one: imported by name here, so
    # the project type-checks and imports without it.
    op: Any = importlib.import_module("bytewax.operators")
    win: Any = importlib.import_module("bytewax.operators.windowing")
    kafka: Any = importlib.import_module("bytewax.connectors.kafka")
    dataflow: Any = importlib.import_module("bytewax.dataflow")
    testing: Any = importlib.import_module("bytewax.testing")

    seen = [0]
    marks: dict[int, float] = {}
    low, high = int(0.2 * count), int(0.9 * count)
    windows: list[Any] = []

    def decode(message: Any) -> dict[str, Any]:
        seen[0] += 1
        if seen[0] in (low, high):
            marks[seen[0]] = time.perf_counter()
        decoded: dict[str, Any] = orjson.loads(message.value)
        return decoded

    def event_time(review: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(review["created_at"])

    flow = dataflow.Dataflow("windowed_count")
    messages = op.input("reviews", flow, kafka.KafkaSource([bootstrap], [topic], tail=False, batch_size=5000))
    reviews = op.map("decode", messages, decode)
    clock = win.EventClock(event_time, wait_for_system_duration=timedelta(seconds=0))
    windower = win.TumblingWindower(length=timedelta(hours=1), align_to=datetime(2026, 1, 1, tzinfo=UTC))
    counted = win.count_window("count", reviews, clock, windower, lambda review: str(review["merchant_id"]))
    op.output("out", counted.down, testing.TestingSink(windows))
    testing.run_main(flow)
    total = sum(value[1] for _, value in windows)
    if total != count:
        raise RuntimeError(f"bytewax counted {total} events, expected {count}")
    return (high - low) / (marks[high] - marks[low])
