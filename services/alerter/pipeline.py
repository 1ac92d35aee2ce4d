"""The intake pipeline: small uniform stages that turn one incident state into the notifications to plan.

Every stage has one signature: it gets the incident state (with the responder state it now has) and the
notifications planned so far, and returns the new plan. Routing creates the plan; the stages that come later
(silences, inhibition, grouping, escalation levels with a delay) filter, merge or extend it. Stages are pure and
synchronous-in-spirit, so each has its own unit test; state they need (active silences) is given to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from services.alerter.routing import route
from services.shared.config import RouteConfig
from services.shared.events import IncidentEvent
from services.shared.logging import get_logger

log = get_logger("stormwatch.alerter.pipeline")

ResponseState = Literal["triggered", "acknowledged", "resolved"]


@dataclass(frozen=True, slots=True)
class IntakeContext:
    """One new incident state as the pipeline sees it."""

    incident: IncidentEvent
    response_state: ResponseState
    previous_version: int | None


@dataclass(frozen=True, slots=True)
class PlannedNotification:
    """A notification to write to the log: to `receiver`, due `delay_seconds` from now, chosen by `route`."""

    receiver: str
    route: str
    delay_seconds: float = 0.0


Plan = tuple[PlannedNotification, ...]


class Stage(Protocol):
    """A pipeline step. `name` appears in logs when a stage changes the plan."""

    name: str

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan: ...


class RouteStage:
    """Adds one planned notification per receiver the routing tree picks for the incident."""

    name = "route"

    def __init__(self, tree: RouteConfig) -> None:
        self._tree = tree

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        result = route(self._tree, context.incident)
        planned = {p.receiver for p in plan}
        added = tuple(
            PlannedNotification(receiver=receiver, route=result.route_of(receiver))
            for receiver in result.receivers
            if receiver not in planned
        )
        return plan + added


class Pipeline:
    """Runs the stages in order; the result is what the intake writes to the notification log."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self._stages = tuple(stages)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self._stages)

    async def plan(self, context: IntakeContext) -> Plan:
        plan: Plan = ()
        for stage in self._stages:
            before = plan
            plan = await stage(context, plan)
            if plan != before and before:
                log.debug(
                    "plan changed",
                    stage=stage.name,
                    incident_id=context.incident.incident_id,
                    before=[p.receiver for p in before],
                    after=[p.receiver for p in plan],
                )
        return plan


def default_pipeline(tree: RouteConfig) -> Pipeline:
    """The foundation pipeline: routing only (silences, inhibition and escalation slot in after it)."""
    return Pipeline([RouteStage(tree)])
