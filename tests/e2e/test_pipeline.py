"""The whole pipeline in-process: simulator → pollers → Kafka → detector → Kafka → alerter → a local HTTP receiver."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.local_run import DEMO_NOTIFY_FILE, LocalPipeline, LocalRunOptions
from services.shared.codec import decode_deadletter, decode_review
from services.shared.kafka import BatchConsumer, ConsumerSettings
from services.shared.settings import Settings
from services.simulator.scenario import demo_scenario
from tests.conftest import TEST_SESSION_TIMEOUT_MS

# 900x: the demo's 48 h of history, a storm 20 simulated minutes in and its resolution take about 15 s.
SPEED = 900.0
SCENARIO_HOURS = 3.0
DEADLINE_SECONDS = 150.0
SAMPLED = frozenset({"yelp"})
EDITED = frozenset({"google_business", "ebay"})  # reviews there change after creation (replies, raised ratings)


# A fixed origin gives the same simulated world every run: the storm's single incident must not depend on which
# minute the test started (the demo's default origin is "now", whose timeline varies with the clock).
ORIGIN = datetime(2026, 11, 23, tzinfo=UTC)


def _scenario() -> Any:
    return dataclasses.replace(demo_scenario(speed=SPEED, origin=ORIGIN), duration_seconds=SCENARIO_HOURS * 3600)


async def _drain(
    settings: Settings,
    topic: str,
    group: str,
    expect_at_least: int,
    quiet_seconds: float = 3.0,
    *,
    after: asyncio.Event | None = None,
    done: asyncio.Event | None = None,
) -> list[Any]:
    """Every record of `topic`, read by a fresh consumer group until nothing new arrives for `quiet_seconds`
    (and not before `after` is set, when given); sets `done`, when given, once it has read everything."""
    consumer = BatchConsumer(
        ConsumerSettings(
            settings.require_kafka(),
            group_id=group,
            topics=(topic,),
            session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=1000,
            fetch_max_wait_ms=20,
        )
    )
    await consumer.start()
    records: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    last_new = loop.time()
    try:
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for partition_records in batch.values():
                records.extend(partition_records)
                last_new = loop.time()
            quiet = loop.time() - last_new > quiet_seconds
            if len(records) >= expect_at_least and quiet and (after is None or after.is_set()):
                break
    finally:
        await consumer.stop()
        if done is not None:
            done.set()
    return records


async def _api(pipeline: LocalPipeline, path: str) -> Any:
    assert pipeline.http is not None and pipeline.settings.api_token is not None
    headers = {"Authorization": f"Bearer {pipeline.settings.api_token.reveal()}"}
    async with aiohttp.ClientSession() as session, session.get(f"{pipeline.http.url}{path}", headers=headers) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _metrics(pipeline: LocalPipeline) -> str:
    assert pipeline.http is not None
    async with aiohttp.ClientSession() as session, session.get(f"{pipeline.http.url}/metrics") as response:
        return await response.text()


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return 0.0


async def _wait_for_resolution(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    """Wait until the simulated scenario is over and every incident the alerter knows is resolved and delivered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    scenario_end = pipeline.simulator.scenario.end
    incidents: list[dict[str, Any]] = []
    while loop.time() < deadline:
        incidents = (await _api(pipeline, "/api/v1/incidents"))["incidents"]
        over = pipeline.simulator.clock.now() >= scenario_end
        if over and incidents and all(i["status"] == "resolved" for i in incidents):
            delivered = {(n["incident"]["incident_id"], n["incident"]["version"]) for n in _inbox_bodies(pipeline)}
            if all((i["incident_id"], i["version"]) in delivered for i in incidents):
                return list(incidents)
        await asyncio.sleep(0.5)
    summary = [(i["kind"], i["status"], i["version"], i.get("platform"), i.get("started_at")) for i in incidents]
    raise AssertionError(f"no resolved incident within {DEADLINE_SECONDS}s: {summary}")


def _inbox_bodies(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    return [r.body for r in pipeline.inbox.received]


async def _check_invariants(pipeline: LocalPipeline, settings: Settings, notify_file: Path, unique: str) -> None:
    simulator = pipeline.simulator
    everything = simulator.visible_reviews(platform=None)
    platforms = {r.platform for r in everything}
    assert {"trustpilot", "google_business", "etsy", "ebay", "yelp", "facebook", "x"} <= platforms, platforms
    # Yelp shows only its three newest excerpts: a sampling source, checked separately below.
    visible = [r for r in everything if r.platform not in SAMPLED]
    sampled = {r.id for r in everything if r.platform in SAMPLED and r.malformed is None}
    wellformed = {r.id for r in visible if r.malformed is None}
    malformed = [r for r in visible if r.malformed is not None]

    # Every simulated review was published exactly once as review.created, on every platform of the demo; edits
    # (Google replies and raised ratings) came as review.updated events of published reviews, none twice.
    # Both topics drained at once (each drain costs a group join and a quiet spell); the dead letters are read
    # until the reviews drain is over too, as when they were read after it.
    reviews_read = asyncio.Event()
    reviews, dead_records = await asyncio.gather(
        _drain(settings, settings.topics.reviews, f"check-reviews-{unique}", len(wellformed), done=reviews_read),
        _drain(settings, settings.topics.deadletter, f"check-dl-{unique}", 1, after=reviews_read),
    )
    published: Counter[str] = Counter()
    event_ids: Counter[str] = Counter()
    updated: set[str] = set()
    deleted: set[str] = set()
    sampled_published: set[str] = set()
    for record in reviews:
        try:
            event = decode_review(record.value)
        except Exception:  # noqa: BLE001 - the injected garbage message is not a review
            continue
        event_ids[event.event_id] += 1
        if event.event_type == "thread.snapshot":
            continue  # a post's counters over time (Facebook, X), not an item of the review ground truth
        if event.platform in SAMPLED:
            sampled_published.add(event.item_id)
        elif event.event_type == "review.created":
            published[event.item_id] += 1
        else:
            updated.add(event.item_id)
            if event.event_type == "review.deleted":
                deleted.add(event.item_id)
    duplicates = {item: n for item, n in published.items() if n > 1}
    assert duplicates == {}, f"published more than once: {list(duplicates.items())[:5]}"
    # A review withdrawn before its first poll (eBay) is seen only as its review.deleted event.
    unseen_created = deleted - set(published)
    assert set(published) | unseen_created == wellformed, (len(set(published)), len(unseen_created), len(wellformed))
    assert updated <= set(published) | unseen_created
    assert sampled_published and sampled_published <= sampled
    assert max(event_ids.values()) == 1, "an event id was published twice"

    # Bad input was dead-lettered with a reason: every malformed platform item, and the garbage Kafka message.
    dead = [decode_deadletter(r.value) for r in dead_records]
    from_pollers = Counter(str(d.context.get("platform")) for d in dead if d.source.startswith("pollers"))
    from_detector = [d for d in dead if d.source.startswith("detector")]
    for platform in platforms - SAMPLED:
        broken = sum(1 for r in malformed if r.platform == platform)
        if platform in EDITED:
            # A broken review that is later answered or edited is served (broken) again: one dead letter per version.
            assert broken <= from_pollers[platform] <= 3 * broken, (platform, from_pollers[platform], broken)
        else:
            assert from_pollers[platform] == broken, (platform, from_pollers[platform], broken)
    assert all(d.reason for d in dead)
    assert [d.reason for d in from_detector] == ["schema_invalid"]

    # The storm produced exactly one incident, which opened and later resolved.
    incidents = (await _api(pipeline, "/api/v1/incidents"))["incidents"]
    assert len(incidents) == 1, incidents
    incident_id = incidents[0]["incident_id"]
    detail = await _api(pipeline, f"/api/v1/incidents/{incident_id}")
    final_version = detail["incident"]["version"]
    assert detail["incident"]["status"] == "resolved"
    # The audit trail shows every state delivered once to each of the three receivers.
    audit = Counter((n["receiver"], n["version"], n["status"]) for n in detail["notifications"])
    for receiver in ("console", "team-webhook", "notify-file"):
        for version in range(1, final_version + 1):
            assert audit[(receiver, version, "delivered")] == 1, (receiver, version, audit)

    # The receiver got exactly one notification per incident state, in order, open first and resolved last.
    received = [
        (b["incident"]["incident_id"], b["incident"]["version"], b["incident"]["status"])
        for b in _inbox_bodies(pipeline)
    ]
    assert len(received) == len(set(received)), f"a state was delivered twice: {received}"
    assert [v for _i, v, _s in received] == list(range(1, final_version + 1))
    assert received[0][2] == "open" and received[-1][2] == "resolved"
    assert {i for i, _v, _s in received} == {incident_id}

    # The --notify-file receiver saw the same states, one line each.
    lines = [orjson.loads(line) for line in (await asyncio.to_thread(notify_file.read_bytes)).splitlines()]
    assert sorted((n["incident"]["version"]) for n in lines) == list(range(1, final_version + 1))

    # Metrics moved.
    text = await _metrics(pipeline)
    for platform in platforms - SAMPLED:
        created = sum(1 for r in visible if r.platform == platform and r.malformed is None)
        assert _sample(text, "stormwatch_reviews_published_total", platform=platform) >= created > 0
    tp_created = sum(1 for r in visible if r.platform == "trustpilot" and r.malformed is None)
    assert _sample(text, "stormwatch_reviews_published_total", platform="trustpilot") == tp_created
    assert _sample(text, "stormwatch_reviews_processed_total", platform="trustpilot", polarity="negative") > 0
    assert _sample(text, "stormwatch_incidents_total", kind="negative_spike", status="open") == 1
    assert _sample(text, "stormwatch_incidents_total", kind="negative_spike", status="resolved") == 1
    assert _sample(text, "stormwatch_notifications_total", notifier="webhook", outcome="delivered") == final_version
    assert _sample(text, "stormwatch_pipeline_latency_seconds_count") >= final_version
    assert _sample(text, "stormwatch_deadletters_total", source="detector", reason="schema_invalid") == 1


async def _inject_garbage(settings: Settings) -> None:
    """A schema-invalid message on the reviews topic, as a buggy or hostile producer would send."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.require_kafka())
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topics.reviews, orjson.dumps({"schema": "review-event.v1", "rating": "lots"}), key=b"demo-shop"
        )
    finally:
        await producer.stop()


@pytest.mark.e2e
async def test_demo_storm_end_to_end(test_settings: Settings, schema_name: str, tmp_path: Path, unique: str) -> None:
    """Every simulated review is published exactly once, bad input is dead-lettered while the pipeline goes on, the
    storm becomes exactly one incident that opens and resolves, each state reaches the receiver once, metrics move.
    Without --notify-file the demo writes its file notifier's lines into the state dir, starting it empty."""
    notify_file = tmp_path / DEMO_NOTIFY_FILE
    notify_file.write_text('{"left over from": "an earlier demo run"}\n', encoding="utf-8")
    options = LocalRunOptions(http_port=0, state_dir=tmp_path, scenario=_scenario(), demo_schema=schema_name)
    async with LocalPipeline(test_settings, options) as pipeline:
        await _inject_garbage(test_settings)
        await _wait_for_resolution(pipeline)
        await _check_invariants(pipeline, test_settings, notify_file, unique)


@pytest.mark.e2e
async def test_restarts_lose_and_repeat_nothing(
    test_settings: Settings, schema_name: str, tmp_path: Path, unique: str
) -> None:
    """Stopping and restarting the pollers, the detector and the alerter mid-run loses no review, publishes none
    twice, and sends no notification twice."""
    notify_file = tmp_path / "notifications.jsonl"
    options = LocalRunOptions(
        http_port=0, notify_file=notify_file, scenario=_scenario(), demo_schema=schema_name, state_dir=tmp_path
    )
    async with LocalPipeline(test_settings, options) as pipeline:
        await _inject_garbage(test_settings)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        # Restart while the storm is being paged: after the first notification, before the resolution.
        while not pipeline.inbox.received:
            assert loop.time() < deadline, "no notification arrived"
            await asyncio.sleep(0.2)
        await pipeline.restart("pollers")
        await pipeline.restart("alerter")
        await asyncio.sleep(1.0)
        await pipeline.restart("detector")
        await _wait_for_resolution(pipeline)
        await _check_invariants(pipeline, test_settings, notify_file, unique)


@pytest.mark.e2e
async def test_stop_stops_restarted_services(test_settings: Settings, schema_name: str, tmp_path: Path) -> None:
    """Stopping the local run stops the instances that `restart` put in place, not only the ones it started."""
    options = LocalRunOptions(http_port=0, state_dir=tmp_path, scenario=_scenario(), demo_schema=schema_name)
    pipeline = LocalPipeline(test_settings, options)
    async with pipeline:
        await pipeline.restart("alerter")
        fresh = pipeline.apps["alerter"]
        assert fresh.is_alive()
    assert not fresh.is_alive()
    assert not any(app.is_alive() for app in pipeline.apps.values())
