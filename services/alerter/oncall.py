"""On-call resolution: who a schedule puts on call at a moment, and which receivers an escalation target reaches.

Rotations run on the schedule's wall clock: a 1d rotation with handoff 09:00 hands off at 09:00 local time every
day, also across daylight-saving changes (PagerDuty and Grafana OnCall do the same).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.shared.config import (
    EscalationTarget,
    PersonConfig,
    ScheduleConfig,
    ScheduleLayerConfig,
)
from services.shared.timeutil import parse_rfc3339


@dataclass(frozen=True, slots=True)
class OnCall:
    """The person `schedule` puts on call `at`, and why ('override' or 'layer N'); person None: nobody."""

    schedule: str
    at: dt.datetime
    person: str | None
    source: str


def on_call(schedule: ScheduleConfig, at: dt.datetime) -> OnCall:
    """Overrides first (the latest-starting active one), then the last layer with someone on call."""
    active = [o for o in schedule.overrides if parse_rfc3339(o.start) <= at < parse_rfc3339(o.end)]
    if active:
        override = max(active, key=lambda o: parse_rfc3339(o.start))
        return OnCall(schedule.name, at, override.person, "override")
    zone = ZoneInfo(schedule.time_zone)
    for index in range(len(schedule.layers) - 1, -1, -1):
        person = _layer_person(schedule.layers[index], at, zone)
        if person is not None:
            return OnCall(schedule.name, at, person, f"layer {index + 1}")
    return OnCall(schedule.name, at, None, "before every layer's start")


def _layer_person(layer: ScheduleLayerConfig, at: dt.datetime, zone: ZoneInfo) -> str | None:
    # Naive local wall-clock times: turns are counted in local hours, so handoffs keep their local time.
    start = dt.datetime.combine(dt.date.fromisoformat(layer.start), dt.time.fromisoformat(layer.handoff))
    local = at.astimezone(zone).replace(tzinfo=None)
    if local < start:
        return None
    turns = int((local - start).total_seconds() // layer.rotation_seconds)
    return layer.participants[turns % len(layer.participants)]


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """One receiver to notify and the target that led to it ('schedule:primary -> person:ana' in the log)."""

    receiver: str
    target: str


def resolve_target(
    target: EscalationTarget,
    at: dt.datetime,
    people: Mapping[str, PersonConfig],
    schedules: Mapping[str, ScheduleConfig],
) -> list[ResolvedTarget]:
    """The receivers a target reaches at `at` (a schedule with nobody on call reaches nobody)."""
    if target.kind == "receiver":
        return [ResolvedTarget(target.name, f"receiver:{target.name}")]
    if target.kind == "person":
        person = people[target.name]
        return [ResolvedTarget(r, f"person:{person.name}") for r in person.receivers]
    current = on_call(schedules[target.name], at)
    if current.person is None:
        return []
    return [
        ResolvedTarget(r, f"schedule:{target.name} -> person:{current.person}")
        for r in people[current.person].receivers
    ]
