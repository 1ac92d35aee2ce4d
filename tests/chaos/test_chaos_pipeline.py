"""Chaos run: the live pipeline (real processes) under SIGKILLs, rebalances, PostgreSQL restarts and failing
receivers ends with the same reviews, incidents and deliveries as an uninterrupted run of the same stream.

Two pipelines run side by side on the same broker, each with its own topics, consumer groups and database: the
baseline (session PostgreSQL, nothing disturbed) and the chaos one (a private PostgreSQL the loop restarts). Both get
the same replayed review stream produced straight to their reviews topic, chunk by chunk, and both poll the same
simulated Trustpilot (a poller leg). Short form by default; `make chaos` sets STORMWATCH_CHAOS_EVENTS and
STORMWATCH_CHAOS_SECONDS for the long form.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from services.alerter.backoff import DeliveryPolicy
from services.shared import codec
from services.shared.config import parse_config
from services.shared.kafka import EventProducer, ProducerSettings, ensure_topics
from services.simulator.scenario import parse_scenario
from services.simulator.trustpilot import credentials_for
from tests.chaos.harness import (
    DEFAULT_CHAOS_SECONDS,
    DEFAULT_EVENTS,
    ChaosCounts,
    ChaosReceiver,
    Mode,
    RestartablePostgres,
    ServiceProcess,
    chunks,
    env_float,
    env_int,
    query,
    receivers,
    review_stream,
    service_env,
)

EVENTS = env_int("STORMWATCH_CHAOS_EVENTS", DEFAULT_EVENTS)
CHAOS_SECONDS = env_float("STORMWATCH_CHAOS_SECONDS", DEFAULT_CHAOS_SECONDS)
SEED = env_int("STORMWATCH_CHAOS_SEED", 8)
# After the chaos: long enough for a 'sending' row a killed alerter left behind to pass its 90 s lease.
SETTLE_SECONDS = env_float("STORMWATCH_CHAOS_SETTLE_SECONDS", 150.0 + EVENTS / 1000)
POLLED_MERCHANTS = 3
RECEIVERS = ("ops", "team")
# Roomy: the receivers live in the test process, which also produces the stream; a late 200 would be re-sent.
WEBHOOK_TIMEOUT_SECONDS = 5.0
# A receiver fault (503s, or hanging past the webhook timeout) lasts at most this long, and the receiver then stays
# healthy for at least RECEIVER_HEALTHY_SECONDS before its next fault, so the longest run of faults one receiver
# sees is one window.
RECEIVER_FAIL_SECONDS = (2.0, 8.0)
RECEIVER_HANG_SECONDS = (WEBHOOK_TIMEOUT_SECONDS + 1, 10.0)
RECEIVER_HEALTHY_SECONDS = 10.0
# The alerters' retry budget (the config file's `delivery:`): waits of 1, 2, 4, 4, ... s, under the healthy gap, so
# a retry after a fault window lands while the receiver is healthy; 30 attempts keep trying for about two minutes,
# far longer than a window even behind a backlog, so a notification given up ('dead') is a real failure.
DELIVERY = {"max_attempts": 30, "initial_backoff": "1s", "max_backoff": "4s"}
# The alerters keep a delivery journal (STORMWATCH_ALERTER_JOURNAL), so a SIGKILL after a receiver's 200 re-sends
# nothing, even during a database outage. The one window left is a send in flight: the receiver took the request
# and the alerter was killed before it read the answer; that copy is re-sent (same Idempotency-Key) once the 90 s
# lease runs out. A duplicate counts as that only when an alerter was killed at most this long after the first copy
# arrived (a loopback send answered at once; the margin is for a loaded machine) and the copy came a lease later.
KILL_IN_FLIGHT_SECONDS = 2.0
RESEND_AFTER_LEASE_SECONDS = 60.0


def _scenario_document(speed: float) -> dict[str, Any]:
    """The poller leg's simulated world: a few Trustpilot merchants, one with a storm, fixed origin and seed."""
    merchants = []
    for index in range(POLLED_MERCHANTS):
        merchant: dict[str, Any] = {
            "id": f"pm{index}",
            "trustpilot": {"business_unit_id": f"bu-pm{index}"},
            "baseline_per_hour": 40,
            "languages": {"en": 1.0},
        }
        if index == 0:
            merchant["storms"] = [{"start_minutes": 10, "duration_minutes": 30, "extra_negative_per_hour": 150}]
        merchants.append(merchant)
    return {
        "origin": "2026-03-05T12:00:00Z",
        "seed": SEED,
        "speed": speed,
        "history_hours": 2,
        "duration_hours": 1,
        "merchants": merchants,
    }


def _config(
    direct_merchants: list[str], simulator_url: str, scenario: dict[str, Any], hooks: list[ChaosReceiver]
) -> dict[str, Any]:
    parsed = parse_scenario(scenario)
    sources = []
    for merchant in scenario["merchants"]:
        api_key, api_secret = credentials_for(parsed, merchant["id"])
        sources.append(
            {
                "id": f"{merchant['id']}/trustpilot",
                "merchant": merchant["id"],
                "platform": "trustpilot",
                "base_url": simulator_url,
                "poll_interval_seconds": 1,
                # Everything the simulator ever serves, whenever the first poll happens (both runs see the same).
                "backfill_hours": 1000,
                "credentials": {"api_key": api_key, "api_secret": api_secret},
                "options": {"business_unit_id": merchant["trustpilot"]["business_unit_id"]},
            }
        )
    document: dict[str, Any] = {
        "merchants": [{"id": m} for m in direct_merchants] + [{"id": m["id"]} for m in scenario["merchants"]],
        "sources": sources,
        "receivers": [
            {"name": hook.name, "type": "webhook", "url": hook.url, "timeout_seconds": WEBHOOK_TIMEOUT_SECONDS}
            for hook in hooks
        ],
        "route": {"receivers": [hook.name for hook in hooks]},
        "delivery": dict(DELIVERY),
    }
    parse_config(document, env={})  # fail here, with the key named, rather than in three child processes
    return document


def test_delivery_budget_outlasts_the_receiver_faults() -> None:
    """The chaos alerters' retry budget is longer than the longest run of faults the loop deals one receiver, and
    their longest wait between attempts is shorter than the healthy gap after each fault: a notification the
    alerter gives up on in the chaos run points at a bug, not at the policy."""
    policy = DeliveryPolicy.from_config(
        parse_config(_config([], "http://sim", _scenario_document(1.0), []), {}).delivery
    )
    longest_fault = max(RECEIVER_FAIL_SECONDS[1], RECEIVER_HANG_SECONDS[1])
    # A hung attempt costs the webhook timeout on top of the wait before it.
    assert policy.budget_seconds() > 5 * (longest_fault + WEBHOOK_TIMEOUT_SECONDS)
    assert policy.max_backoff_seconds * (1 + policy.jitter) < RECEIVER_HEALTHY_SECONDS


@dataclass
class Pipeline:
    """One pipeline's processes and where its state lives."""

    name: str
    env: dict[str, str]
    dsn: Callable[[], str]
    schema: str
    log_dir: Path
    hooks: list[ChaosReceiver]
    topic: str
    pollers: ServiceProcess = field(init=False)
    detector: ServiceProcess = field(init=False)
    alerter: ServiceProcess = field(init=False)
    replicas: list[ServiceProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pollers = ServiceProcess(f"{self.name}-pollers", ["pollers"], self.env, self.log_dir)
        self.detector = ServiceProcess(f"{self.name}-detector", ["detector"], self.env, self.log_dir)
        self.alerter = ServiceProcess(f"{self.name}-alerter", ["alerter"], self.env, self.log_dir)

    @property
    def services(self) -> list[ServiceProcess]:
        return [self.alerter, self.detector, self.pollers, *self.replicas]

    async def start(self) -> None:
        for service in (self.alerter, self.detector, self.pollers):
            await service.start()

    async def wait_ready(self) -> None:
        for service in (self.alerter, self.detector, self.pollers):
            await service.wait_ready()

    async def stop(self) -> None:
        await asyncio.gather(*(service.stop() for service in self.services if service.running))

    async def snapshot(self) -> dict[str, Any]:
        """What the pipeline stored so far (reviews, incident states, final states, undelivered notifications)."""
        dsn = self.dsn()
        reviews = await query(dsn, self.schema, "SELECT event_id FROM reviews")
        states = await query(dsn, self.schema, "SELECT incident_id, version, status FROM detector_incidents")
        finals = await query(dsn, self.schema, "SELECT incident_id, version, status FROM incidents")
        open_rows = await query(
            dsn, self.schema, "SELECT count(*) AS n FROM notifications WHERE status IN ('pending', 'sending')"
        )
        dead = await query(dsn, self.schema, "SELECT count(*) AS n FROM notifications WHERE status = 'dead'")
        return {
            "reviews": {r["event_id"] for r in reviews},
            "states": {(r["incident_id"], r["version"], r["status"]) for r in states},
            "finals": {r["incident_id"]: (r["version"], r["status"]) for r in finals},
            "undelivered": open_rows[0]["n"],
            "dead": dead[0]["n"],
            "deliveries": {hook.name: dict(hook.deliveries) for hook in self.hooks},
        }


class ChaosLoop:
    """Seeded random faults against the chaos pipeline until `seconds` have passed; every fault heals itself."""

    def __init__(
        self, pipeline: Pipeline, postgres: RestartablePostgres, counts: ChaosCounts, rng: random.Random
    ) -> None:
        self._pipeline = pipeline
        self._postgres = postgres
        self._counts = counts
        self._rng = rng
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, seconds: float) -> None:
        """Faults are dealt from a shuffled deck holding each kind once, so even a short run sees every kind."""
        actions: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("pollers", lambda: self._kill_restart(self._pipeline.pollers, "pollers")),
            ("detector", lambda: self._kill_restart(self._pipeline.detector, "detector")),
            ("alerter", lambda: self._kill_restart(self._pipeline.alerter, "alerter")),
            ("replica", self._replica),
            ("postgres", self._postgres_restart),
            ("postgres", self._postgres_outage),
            ("postgres", self._postgres_crash),
        ]
        for hook in self._pipeline.hooks:
            actions += [
                (f"receiver:{hook.name}", self._receiver_fault(hook, "fail")),
                (f"receiver:{hook.name}", self._receiver_fault(hook, "hang")),
            ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        deck: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        try:
            while loop.time() < deadline:
                await asyncio.sleep(self._rng.uniform(0.5, 3.0))
                if not deck:
                    deck = list(actions)
                    self._rng.shuffle(deck)
                target, action = deck.pop()
                if target in self._busy:
                    if target.startswith("receiver:"):
                        continue  # still in a fault or the healthy gap after it: this deck skips it
                    deck.insert(0, (target, action))  # its resource is still in a fault: deal it later
                    continue
                self._busy.add(target)
                task = asyncio.create_task(self._guarded(target, action))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if self._tasks:
                await asyncio.gather(*self._tasks)
        finally:
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def watch(self) -> None:
        """A supervisor's view: a service that exited although nobody killed or stopped it crashed. Record it (the
        test fails on any crash) with the end of its log, and start it again as an orchestrator would."""
        pipeline = self._pipeline
        while True:
            await asyncio.sleep(0.5)
            for name, service in (
                ("pollers", pipeline.pollers),
                ("detector", pipeline.detector),
                ("alerter", pipeline.alerter),
            ):
                if name in self._busy or service.running or service.process is None:
                    continue
                self._crash(name, service)
                await service.start()
            for replica in pipeline.replicas:
                if replica.process is not None and replica.process.returncode not in {None, 0, -9}:
                    self._crash("detector-replica", replica)
                    replica.process = None

    def _crash(self, name: str, service: ServiceProcess) -> None:
        code = service.process.returncode if service.process is not None else None
        self._counts.crashes[name] += 1
        self._counts.crash_logs.append(f"{service.label} exited with {code}:\n{service.tail(12)}")

    async def _guarded(self, target: str, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except Exception as exc:  # noqa: BLE001 - recorded; the test fails on it after healing
            self._counts.harness_errors.append(f"{target}: {exc!r}")
            if target == "postgres":
                await self._postgres.ensure_running()
        finally:
            self._busy.discard(target)

    async def _kill_restart(self, service: ServiceProcess, name: str) -> None:
        await service.kill()
        self._counts.kills[name] += 1
        if name == "alerter":
            self._counts.alerter_kills_at.append(time.monotonic())
        await asyncio.sleep(self._rng.uniform(0.2, 3.0))
        await service.start()
        self._counts.restarts[name] += 1

    async def _replica(self) -> None:
        """An extra detector joins the group, works a while, and leaves (gracefully or killed): two rebalances."""
        pipeline = self._pipeline
        replica = ServiceProcess(
            f"{pipeline.name}-detector-replica{len(pipeline.replicas)}", ["detector"], pipeline.env, pipeline.log_dir
        )
        pipeline.replicas.append(replica)
        await replica.start()
        self._counts.rebalances += 1
        await asyncio.sleep(self._rng.uniform(8.0, 15.0))
        if self._rng.random() < 0.5:
            await replica.kill()
            self._counts.kills["detector-replica"] += 1
        else:
            await replica.stop()
        self._counts.rebalances += 1

    async def _postgres_restart(self) -> None:
        await self._postgres.restart()
        self._counts.postgres_restarts += 1

    async def _postgres_crash(self) -> None:
        await self._postgres.crash()
        self._counts.postgres_crashes += 1

    async def _postgres_outage(self) -> None:
        await self._postgres.outage(self._rng.uniform(1.0, 4.0))
        self._counts.postgres_outages += 1

    def _receiver_fault(self, hook: ChaosReceiver, mode: Mode) -> Callable[[], Awaitable[None]]:
        async def fault() -> None:
            # Far shorter than the alerters' retry budget (DELIVERY), and followed by a healthy gap longer than
            # their longest wait between attempts (test_delivery_budget_outlasts_the_receiver_faults).
            if mode == "fail":
                self._counts.receiver_failures += 1
                seconds = self._rng.uniform(*RECEIVER_FAIL_SECONDS)
            else:
                self._counts.receiver_hangs += 1
                seconds = self._rng.uniform(*RECEIVER_HANG_SECONDS)
            hook.mode = mode
            try:
                await asyncio.sleep(seconds)
            finally:
                hook.mode = "ok"
            await asyncio.sleep(RECEIVER_HEALTHY_SECONDS)  # still busy: no fault for this receiver meanwhile

        return fault


async def _produce_paced(bootstrap: str, topics: list[str], stream: list[Any], seconds: float) -> None:
    """The same chunks to every pipeline's reviews topic, in the same order, spread over `seconds`."""
    producer = EventProducer(ProducerSettings(bootstrap, client_id="chaos-replay"))
    await producer.start()
    try:
        parts = chunks(stream, 30)
        for part in parts:
            records = [(event.merchant_id.encode(), codec.encode_review(event)) for event in part]
            for topic in topics:
                await producer.send_batch(topic, records)
            await asyncio.sleep(seconds / len(parts))
    finally:
        await producer.stop()


def _compare(
    baseline: dict[str, Any], chaos: dict[str, Any], hooks: dict[str, ChaosReceiver], counts: ChaosCounts
) -> None:
    counts.reviews_stored = len(chaos["reviews"])
    counts.lost_reviews = len(baseline["reviews"] - chaos["reviews"])
    counts.extra_reviews = len(chaos["reviews"] - baseline["reviews"])
    counts.incidents = len(chaos["finals"])
    counts.incident_states = len(chaos["states"])
    counts.lost_incident_states = len(baseline["states"] - chaos["states"])
    counts.extra_incident_states = len(chaos["states"] - baseline["states"])
    counts.wrong_final_states = sum(
        1 for incident, final in baseline["finals"].items() if chaos["finals"].get(incident) != final
    ) + len(set(chaos["finals"]) - set(baseline["finals"]))
    for name, hook in hooks.items():
        expected = set(baseline["deliveries"][name])
        got: Counter[tuple[str, int]] = hook.deliveries
        counts.deliveries += sum(got.values())
        for key, moments in hook.arrivals.items():
            first = moments[0]
            sent_as = hook.keys[key]
            for index, later in enumerate(moments[1:], start=1):
                kills = [k - first for k in counts.alerter_kills_at if 0 <= k - first <= KILL_IN_FLIGHT_SECONDS]
                detail = f"{name} {key[0]} v{key[1]}: again after {later - first:.1f}s"
                same_send = sent_as[index] in sent_as[:index]
                if same_send and kills and later - first >= RESEND_AFTER_LEASE_SECONDS:
                    counts.resends_in_flight += 1
                    detail += f" (same Idempotency-Key; alerter SIGKILLed {kills[0]:.1f}s after the first)"
                else:
                    counts.duplicates += 1
                    detail += " (same Idempotency-Key)" if same_send else " (another Idempotency-Key)"
                counts.duplicate_details.append(detail)
        counts.lost_deliveries += len(expected - set(got))
        counts.unexpected_deliveries += len(set(got) - expected)
        counts.failed_requests += hook.failed
        counts.hung_requests += hook.hung
    counts.baseline_deliveries = sum(len(d) for d in baseline["deliveries"].values())
    counts.losses = counts.lost_reviews + counts.lost_incident_states + counts.lost_deliveries


def _journal_replays(log_dir: Path, label: str) -> int:
    """Deliveries the alerters logged from their journal at start-up, from their JSON logs."""
    replayed = 0
    for path in log_dir.glob(f"{label}-*.log"):
        for line in path.read_bytes().splitlines():
            if b"delivery journal replayed" in line:
                with contextlib.suppress(orjson.JSONDecodeError):
                    replayed += int(orjson.loads(line).get("recorded", 0))
    return replayed


def _settled(baseline: dict[str, Any], chaos: dict[str, Any], produced: set[str]) -> bool:
    return (
        produced <= baseline["reviews"]
        and baseline["reviews"] == chaos["reviews"]
        and baseline["states"] == chaos["states"]
        and baseline["finals"] == chaos["finals"]
        and baseline["undelivered"] == 0
        and chaos["undelivered"] == 0
        and {k: set(v) for k, v in baseline["deliveries"].items()}
        == {k: set(v) for k, v in chaos["deliveries"].items()}
    )


@pytest.mark.e2e
@pytest.mark.timeout(int(300 + CHAOS_SECONDS + SETTLE_SECONDS + EVENTS / 200))
async def test_chaos_run_matches_an_uninterrupted_run(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    """While seeded chaos SIGKILLs and restarts pollers, detector and alerter, adds and removes detector replicas,
    restarts or stops PostgreSQL and makes receivers fail and hang, the pipeline stores every review exactly once
    (the same set as an uninterrupted run of the same stream), emits the same incident states with the same final
    states, and every receiver gets every incident state the uninterrupted run delivered exactly once, counted raw
    at the receiver (a re-send with the same Idempotency-Key counts as a duplicate). The counts are printed,
    logged and written to chaos-counts.json; zero losses are required, and zero duplicates other than lease
    re-sends after an alerter was SIGKILLed between a 200 and logging it (the stated at-least-once window)."""
    started = time.monotonic()
    rng = random.Random(SEED)
    counts = ChaosCounts(seed=SEED)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    stream = review_stream(EVENTS, SEED)
    counts.events_produced = len(stream)
    produced_ids = {event.event_id for event in stream}
    direct_merchants = sorted({event.merchant_id for event in stream})

    postgres = RestartablePostgres(tmp_path / "pg" / "pgdata")
    await postgres.start()
    # The poller leg's simulated hour passes in about half the chaos window.
    scenario = _scenario_document(speed=3600.0 / max(10.0, CHAOS_SECONDS * 0.5))
    scenario_path = tmp_path / "scenario.yaml"
    scenario_path.write_text(yaml.safe_dump(scenario))
    simulator = ServiceProcess(
        "simulator",
        ["simulator", "--scenario", str(scenario_path)],
        service_env(bootstrap=kafka_bootstrap, database_url="", schema="", prefix="sim", config_path=scenario_path),
        log_dir,
        port_flag="--port",
    )
    pipelines: list[Pipeline] = []
    try:
        async with (
            receivers(*RECEIVERS, hang_seconds=WEBHOOK_TIMEOUT_SECONDS + 2) as base_hooks,
            receivers(*RECEIVERS, hang_seconds=WEBHOOK_TIMEOUT_SECONDS + 2) as chaos_hooks,
        ):
            await simulator.start()
            await simulator.wait_ready(path="/healthz")

            def base_dsn() -> str:
                return database_url

            def chaos_dsn() -> str:
                return postgres.dsn  # read at each use: the socket folder is the same across restarts anyway

            for name, hooks, dsn in (("base", base_hooks, base_dsn), ("chaos", chaos_hooks, chaos_dsn)):
                prefix = f"c{unique}{name}"
                config_path = tmp_path / f"{name}.yaml"
                config_path.write_text(yaml.safe_dump(_config(direct_merchants, simulator.url, scenario, hooks)))
                env = service_env(
                    bootstrap=kafka_bootstrap,
                    database_url=dsn(),
                    schema=f"chaos_{unique}_{name}",
                    prefix=prefix,
                    config_path=config_path,
                )
                env["STORMWATCH_ALERTER_JOURNAL"] = str(tmp_path / f"{name}-alerter.journal")
                await ensure_topics(
                    kafka_bootstrap, {f"{prefix}.reviews": 4, f"{prefix}.incidents": 4, f"{prefix}.deadletter": 1}
                )
                pipelines.append(
                    Pipeline(name, env, dsn, f"chaos_{unique}_{name}", log_dir, hooks, f"{prefix}.reviews")
                )
            baseline, chaos = pipelines
            for pipeline in pipelines:
                await pipeline.start()
            for pipeline in pipelines:
                await pipeline.wait_ready()

            chaos_loop = ChaosLoop(chaos, postgres, counts, rng)
            watchdog = asyncio.create_task(chaos_loop.watch())
            try:
                await asyncio.gather(
                    _produce_paced(kafka_bootstrap, [baseline.topic, chaos.topic], stream, CHAOS_SECONDS * 0.8),
                    chaos_loop.run(CHAOS_SECONDS),
                )
                # Every fault above heals itself; now wait until both runs agree (twice in a row) or time is up.
                await postgres.ensure_running()
                loop = asyncio.get_running_loop()
                deadline = loop.time() + SETTLE_SECONDS
                agreed = 0
                while agreed < 2 and loop.time() < deadline:
                    await asyncio.sleep(2.0)
                    base_state, chaos_state = await baseline.snapshot(), await chaos.snapshot()
                    agreed = agreed + 1 if _settled(base_state, chaos_state, produced_ids) else 0
            finally:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
            counts.events_polled = len(base_state["reviews"] - produced_ids)
            counts.journal_replayed = _journal_replays(log_dir, chaos.alerter.label)
            _compare(base_state, chaos_state, {hook.name: hook for hook in chaos_hooks}, counts)
            counts.seconds = round(time.monotonic() - started, 1)
            counts.report(tmp_path / "chaos-counts.json")

            for pipeline in pipelines:
                await pipeline.stop()

            diagnostics = {
                "baseline_missing_produced": len(produced_ids - base_state["reviews"]),
                "undelivered": (base_state["undelivered"], chaos_state["undelivered"]),
                "dead": (base_state["dead"], chaos_state["dead"]),
                "baseline_duplicates": sum(n - 1 for h in base_hooks for n in h.deliveries.values() if n > 1),
            }
            assert produced_ids <= base_state["reviews"], diagnostics
            assert counts.events_polled > 0, "the poller leg brought nothing in"
            assert counts.incidents > 0, "the stream raised no incident: the delivery checks would mean nothing"
            assert diagnostics["baseline_duplicates"] == 0, diagnostics
            # Every kind of fault happened (the deck guarantees it unless the window is too short to deal it once).
            assert all(counts.kills[name] for name in ("pollers", "detector", "alerter")), counts.as_dict()
            assert counts.rebalances >= 2 and counts.postgres_restarts and counts.postgres_outages, counts.as_dict()
            assert counts.postgres_crashes, counts.as_dict()
            assert counts.receiver_failures and counts.receiver_hangs, counts.as_dict()
            assert not counts.harness_errors, counts.harness_errors
            assert not counts.crashes, "\n\n".join(counts.crash_logs)
            assert counts.losses == 0, (counts.as_dict(), diagnostics)
            # Every repeat is the stated window (a send in flight at a SIGKILL, re-sent with its key): no duplicate.
            assert counts.duplicates == 0, (counts.duplicate_details, diagnostics)
            assert counts.extra_reviews == 0 and counts.extra_incident_states == 0, counts.as_dict()
            assert counts.wrong_final_states == 0 and counts.unexpected_deliveries == 0, counts.as_dict()
            assert chaos_state["dead"] == 0, diagnostics
    finally:
        for pipeline in pipelines:
            await pipeline.stop()
        await simulator.stop()
        await postgres.close()
