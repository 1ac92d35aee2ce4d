"""The intake pipeline: small uniform stages that turn one incident state into the notifications to plan.

Every stage has one signature: it gets the incident state (with the responder state it now has and the facts it
may consult) and the notifications planned so far, and returns the new plan. Routing creates the plan; the stages
after it (inhibition, silences, grouping, pending, escalation, rate caps in `stages.py`) suppress, delay or extend
it, and say why in each notification's `why`, which the explain endpoint and the audit show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from services.alerter.routing import route
from services.shared.config import RouteConfig
from services.shared.events import IncidentEvent
from services.shared.logging import get_logger

log = get_logger("stormwatch.alerter.pipeline")

ResponseState = Literal["triggered", "acknowledged", "resolved"]
Requirement = Literal["", "unacknowledged", "acknowledged"]


@dataclass(frozen=True, slots=True)
class Silence:
    silence_id: str
    matchers: Mapping[str, str]
    owner: str
    reason: str
    ends_at: str


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """Another incident not yet resolved, with the labels inhibition rules compare."""

    incident_id: str
    labels: Mapping[str, str | None]


class Facts(Protocol):
    """What stages may look up besides the incident: backed by the notification log's transaction in the store,
    by fixed values in unit tests."""

    async def now(self) -> datetime: ...

    async def active_silences(self) -> Sequence[Silence]: ...

    async def open_incidents(self, merchant_id: str, exclude: str) -> Sequence[OpenIncident]: ...

    async def count_due_between(self, receiver: str, start: datetime, end: datetime) -> int: ...

    async def group_age(self, group_key: str, receiver: str) -> float | None: ...

    async def group_pending_in(self, group_key: str, receiver: str) -> float | None: ...

    async def paged_before(self, incident_id: str, receiver: str) -> bool: ...


class NoFacts:
    """Nothing silenced, nothing else open, nothing sent before: the facts of a fresh system."""

    async def now(self) -> datetime:
        return datetime.now(UTC)

    async def active_silences(self) -> Sequence[Silence]:
        return ()

    async def open_incidents(self, merchant_id: str, exclude: str) -> Sequence[OpenIncident]:
        return ()

    async def count_due_between(self, receiver: str, start: datetime, end: datetime) -> int:
        return 0

    async def group_age(self, group_key: str, receiver: str) -> float | None:
        return None

    async def group_pending_in(self, group_key: str, receiver: str) -> float | None:
        return None

    async def paged_before(self, incident_id: str, receiver: str) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class IntakeContext:
    """One new incident state as the pipeline sees it."""

    incident: IncidentEvent
    response_state: ResponseState
    previous_version: int | None
    facts: Facts = field(default_factory=NoFacts)


@dataclass(frozen=True, slots=True)
class PlannedNotification:
    """A notification to write to the log: to `receiver`, due `delay_seconds` from now, chosen by `route`.

    `step` tells escalation steps apart from the state's own notification (''); `requires` is checked when it is
    due; `suppressed` (a reason) keeps it in the log without sending it; `why` explains each stage's decision.
    """

    receiver: str
    route: str
    delay_seconds: float = 0.0
    step: str = ""
    requires: Requirement = ""
    group_key: str = ""
    suppressed: str | None = None
    why: tuple[str, ...] = ()
    # Who was targeted ('schedule:primary -> person:ana'); '' for the route's own receivers.
    target: str = ""
    # Why it was moved later than planned ('rate_capped'): still sent, counted as deferred.
    deferred: str | None = None
    # An exact due time, when a stage fixed one (a rate window's start): the log uses it instead of now + delay.
    not_before: datetime | None = None
    config: RouteConfig | None = field(default=None, compare=False, repr=False)

    @property
    def active(self) -> bool:
        return self.suppressed is None


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
        added = []
        for receiver in result.receivers:
            if receiver in planned:
                continue
            match = result.match_of(receiver)
            added.append(
                PlannedNotification(
                    receiver=receiver,
                    route=match.path,
                    why=(f"route: {match.explain()}",),
                    config=match.config,
                )
            )
        return plan + tuple(added)


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
    """Routing only (the App composes the full pipeline with `stages.full_pipeline`)."""
    return Pipeline([RouteStage(tree)])
