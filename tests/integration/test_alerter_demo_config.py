"""The built-in demo (`stormwatch run`) exercises routing and escalation: its negative spikes take a child route
that runs an on-call escalation over a schedule, besides the team's receivers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from services.alerter.pipeline import IntakeContext
from services.alerter.stages import full_pipeline
from services.local_run import DEMO_MERCHANT, demo_config
from services.shared import metrics
from services.shared.timeutil import ManualClock
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import demo_scenario
from tests.unit.test_alerter_stages import NOW, SPIKE, FakeFacts

ORIGIN = datetime(2026, 11, 23, tzinfo=UTC)


async def test_the_demo_storm_pages_the_team_and_runs_the_on_call_escalation() -> None:
    """A demo negative spike is routed to the console log and the team webhook, and its escalation pages whoever
    the daily schedule puts on call at once (on the `oncall-page` receiver) and the second person 10 minutes later;
    a viral thread takes the root route only (no escalation)."""
    clock = SimClock.manual(ORIGIN)
    async with SimulatorApp(demo_scenario(origin=ORIGIN), registry=metrics.new_registry(), clock=clock) as sim:
        config = demo_config(sim, "http://127.0.0.1:9/hooks/stormwatch")
    spike = dataclasses.replace(SPIKE, merchant_id=DEMO_MERCHANT)
    pipeline = full_pipeline(config, ManualClock(NOW))
    plan = await pipeline.plan(IntakeContext(spike, "triggered", None, FakeFacts()))
    active = sorted((p.receiver, p.delay_seconds, p.step, p.target) for p in plan if p.active)
    assert [(receiver, step) for receiver, _delay, step, _target in active] == [
        ("console", ""),
        ("oncall-page", "escalation:demo-oncall:0:0"),
        ("oncall-page", "escalation:demo-oncall:1:0"),
        ("team-webhook", ""),
    ]
    first, second = active[1], active[2]
    # 2026-03-01 is day 55 of the rotation that started on Monday 2026-01-05 with sam: lee is on call.
    assert (first[1], first[3]) == (0.0, "schedule:demo-primary -> person:lee")
    assert (second[1], second[3]) == (600.0, "person:lee")
    viral = dataclasses.replace(spike, kind="viral_thread")
    plan = await pipeline.plan(IntakeContext(viral, "triggered", None, FakeFacts()))
    assert sorted(p.receiver for p in plan if p.active) == ["console", "team-webhook"]
