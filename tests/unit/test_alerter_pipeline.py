"""The intake pipeline: routing plans the notifications, and later stages compose with one signature."""

from __future__ import annotations

from services.alerter.pipeline import IntakeContext, Pipeline, Plan, RouteStage, default_pipeline
from services.shared.config import parse_config
from services.shared.events import Evidence, IncidentEvent

INCIDENT = IncidentEvent(
    incident_id="d" * 32,
    version=1,
    status="open",
    kind="negative_spike",
    severity="critical",
    merchant_id="acme",
    title="Spike",
    summary="s",
    started_at="2026-03-01T09:00:00Z",
    detected_at="2026-03-01T09:30:00Z",
    evidence=Evidence(observed=10, expected=2, window_seconds=900, rate_per_hour=40),
)
CONTEXT = IntakeContext(INCIDENT, "triggered", None)
CONFIG = parse_config(
    {
        "merchants": [{"id": "acme"}],
        "receivers": [{"name": "console", "type": "log"}, {"name": "pager", "type": "log"}],
        "route": {
            "receivers": ["console"],
            "routes": [{"match": {"severity": "critical"}, "receivers": ["pager", "console"]}],
        },
    },
    env={},
)


class DropReceiver:
    """A stand-in for a later filtering stage (a silence): removes one receiver from the plan."""

    name = "drop"

    def __init__(self, receiver: str) -> None:
        self.receiver = receiver

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        return tuple(p for p in plan if p.receiver != self.receiver)


async def test_routing_plans_one_notification_per_receiver_with_its_route() -> None:
    """The route stage plans each chosen receiver once, due now, with the route path that chose it."""
    plan = await default_pipeline(CONFIG.route).plan(CONTEXT)
    assert [(p.receiver, p.route, p.delay_seconds) for p in plan] == [
        ("pager", "route.routes[0]", 0.0),
        ("console", "route.routes[0]", 0.0),
    ]


async def test_stages_compose_in_order() -> None:
    """A stage after routing sees routing's plan and its result is what gets written."""
    pipeline = Pipeline([RouteStage(CONFIG.route), DropReceiver("pager")])
    plan = await pipeline.plan(CONTEXT)
    assert [p.receiver for p in plan] == ["console"]
    assert pipeline.stage_names == ("route", "drop")
