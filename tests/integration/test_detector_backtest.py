"""The live detector service and `stormwatch backtest` give identical incident events for the same review events."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from services.detector.app import DetectorApp
from services.detector.backtest import add_arguments, run_backtest
from services.detector.scenarios import thread
from services.shared import codec
from services.shared.config import parse_config
from services.shared.events import IncidentEvent, MerchantReply, ReviewEvent
from services.shared.http import HttpServer
from services.shared.settings import Settings
from services.shared.timeutil import format_rfc3339, parse_rfc3339
from tests.integration.test_detector_app import T0, TopicReader, incidents_of, keyed, produce, storm_stream

DOCUMENT: dict[str, Any] = {
    "merchants": [{"id": "m1", "name": "Shop One"}, {"id": "m2"}],
    "detection": {"bucket_seconds": 900, "response_deadline_hours": {"m1/trustpilot": 2}},
}


def _stream() -> list[ReviewEvent]:
    """m1's storm (with replies to some negatives, late and on time) and a viral thread of m2, in log order."""
    events = storm_stream()
    replies = []
    for index, event in enumerate(events):
        if event.merchant_id == "m1" and event.rating == 1.0 and index % 3 == 0:
            at = format_rfc3339(parse_rfc3339(event.created_at) + timedelta(hours=1 + index % 4))
            replies.append(
                dataclasses.replace(
                    event,
                    event_id=f"{index:032x}",
                    event_type="review.updated",
                    observed_at=at,
                    merchant_reply=MerchantReply("Sorry, on it.", at),
                )
            )
    viral = thread(
        "m2", "twitter", "video", T0 + timedelta(hours=2), 3.0, replies_total=200, shares_total=3000, views_total=9000,
        tau_hours=1.0, shape=0.6, reply_text=lambda _t: "Disgusting.", seed=1,
    )  # fmt: skip
    return sorted([*events, *replies, *viral], key=lambda e: (e.observed_at, e.event_id))


def _ordered(incidents: list[IncidentEvent]) -> list[IncidentEvent]:
    # Incident topics may have several partitions: compare per incident, in version order.
    return sorted(incidents, key=lambda i: (i.incident_id, i.version))


async def test_live_detector_and_backtest_emit_identical_incidents(
    test_settings: Settings, registry: CollectorRegistry, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    """The same stream (spike, SLA timers with replies, a viral thread, a repeated event) through Kafka +
    PostgreSQL and through a file gives the same incident events, field for field: the backtest runs the live
    detection code. The live service counts the recoveries."""
    events = _stream()
    stream = [*events[:40], events[10], *events[40:]]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(codec.encode_review(e) + b"\n" for e in stream))
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(DOCUMENT), encoding="utf-8")

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    output = tmp_path / "incidents.jsonl"
    assert run_backtest(parser.parse_args([str(path), "-o", str(output), "--config", str(config_path)])) == 0
    offline = [codec.decode_incident(line) for line in output.read_bytes().splitlines()]
    assert {i.kind for i in offline} == {"negative_spike", "sla_breach", "viral_thread"}

    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(stream))
    config = parse_config(DOCUMENT)
    app = DetectorApp(test_settings, config, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    async with TopicReader(kafka_bootstrap, test_settings.topics.incidents, f"r{unique}") as reader, app:
        values = await reader.read_until(lambda v: len(v) >= len(offline))
    assert _ordered(incidents_of(values)) == _ordered(offline)
    recovered = registry.get_sample_value("stormwatch_recoveries_total", {"platform": "trustpilot", "how": "replied"})
    assert recovered is not None and recovered > 0
