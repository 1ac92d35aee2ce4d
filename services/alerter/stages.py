"""The noise-control and escalation stages of the intake pipeline, in Alertmanager's order.

route -> escalate -> inhibit -> silence -> group (group_wait / group_interval) -> pending (pending_for) -> repeat
(repeat_interval) -> rate cap.
Each stage only rewrites the plan and says why; nothing here does I/O except through `context.facts`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from services.alerter.oncall import resolve_target
from services.alerter.pipeline import IntakeContext, Pipeline, Plan, PlannedNotification, RouteStage
from services.alerter.routing import incident_labels, matches, route
from services.shared.config import (
    Config,
    EscalationPolicyConfig,
    InhibitRuleConfig,
    PersonConfig,
    RouteConfig,
    ScheduleConfig,
)
from services.shared.events import IncidentEvent
from services.shared.timeutil import Clock, WallClock, format_rfc3339

# After the last level of an escalation round, wait this long before the next round when the policy says nothing.
DEFAULT_ROUND_GAP_SECONDS = 300.0
MAX_REPEATS = 12
# Rate caps count per clock hour; a notification over the cap moves to the next hour with room, at most this far.
RATE_WINDOW_SECONDS = 3600.0
MAX_DEFER_WINDOWS = 48


def _note(planned: PlannedNotification, why: str, **changes: object) -> PlannedNotification:
    return dataclasses.replace(planned, why=(*planned.why, why), **changes)  # type: ignore[arg-type]


def _suppress(plan: Plan, reason: str, why: str) -> Plan:
    return tuple(_note(p, why, suppressed=reason) if p.active else p for p in plan)


class InhibitStage:
    """An open incident matching a rule's source mutes this one when it matches the target and the `equal`
    labels agree (a viral thread of a merchant mutes its negative spikes). Resolved states are never muted:
    whoever was paged must learn it is over."""

    name = "inhibit"

    def __init__(self, rules: Sequence[InhibitRuleConfig]) -> None:
        self._rules = tuple(rules)

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        incident = context.incident
        if not self._rules or not plan or incident.status == "resolved":
            return plan
        labels = incident_labels(incident)
        candidates = [rule for rule in self._rules if matches(rule.target_match, labels)]
        if not candidates:
            return plan
        for other in await context.facts.open_incidents(incident.merchant_id, incident.incident_id):
            for index, rule in enumerate(self._rules):
                if rule not in candidates or not matches(rule.source_match, other.labels):
                    continue
                if all((other.labels.get(key) or "") == (labels.get(key) or "") for key in rule.equal):
                    why = f"inhibit: muted by open incident {other.incident_id} (inhibit_rules[{index}])"
                    return _suppress(plan, "inhibited", why)
        return plan


class SilenceStage:
    """An active silence whose matchers all match mutes the incident (resolved states pass, as above)."""

    name = "silence"

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        if not plan or context.incident.status == "resolved":
            return plan
        labels = incident_labels(context.incident)
        for silence in await context.facts.active_silences():
            if silence.matchers and matches(silence.matchers, labels):
                why = f"silence: {silence.silence_id} by {silence.owner} until {silence.ends_at} ({silence.reason})"
                return _suppress(plan, "silenced", why)
        return plan


def group_key(route_config: RouteConfig | None, path: str, context: IntakeContext) -> str:
    """Route path plus the group_by values; without group_by each incident is its own group."""
    keys = route_config.group_by if route_config is not None else ()
    if not keys:
        return f"{path}|incident={context.incident.incident_id}"
    labels = incident_labels(context.incident)
    return f"{path}|" + ",".join(f"{key}={labels.get(key) or ''}" for key in keys)


class GroupStage:
    """group_wait delays the first notification of a new group; group_interval spaces later ones in the same
    group; a state arriving while the group's next notification is still waiting joins it (delivery sends the
    group's due states as one message). Resolved states go out at once (not on the next group tick)."""

    name = "group"

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        out = []
        for original in plan:
            key = group_key(original.config, original.route, context)
            planned = dataclasses.replace(original, group_key=key)
            config = planned.config
            # Escalation steps carry their own delays (group_wait included).
            if not planned.active or config is None or planned.step or context.incident.status == "resolved":
                out.append(planned)
                continue
            waiting = await context.facts.group_pending_in(key, planned.receiver) if config.group_by else None
            age = None if waiting is not None else await context.facts.group_age(key, planned.receiver)
            if waiting is not None:
                delay = max(0.0, waiting)
                why = f"group: joins {key}'s notification due in {delay:.0f}s"
            elif age is None:
                delay = config.group_wait_seconds
                why = f"group: {key} is new, group_wait {delay:g}s"
            else:
                delay = max(0.0, config.group_interval_seconds - age)
                why = f"group: {key} notified {age:.0f}s ago, group_interval {config.group_interval_seconds:g}s"
            out.append(_note(planned, why, delay_seconds=max(planned.delay_seconds, delay)))
        return tuple(out)


class PendingStage:
    """pending_for: page only if the incident is still unacknowledged and unresolved after that long. A resolved
    state is not announced to a receiver that was never paged for the incident."""

    name = "pending"

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        out = []
        for planned in plan:
            config = planned.config
            pending = config.pending_for_seconds if config is not None else 0.0
            if not planned.active or pending <= 0 or planned.step:
                out.append(planned)
            elif context.incident.status == "resolved":
                if await context.facts.paged_before(context.incident.incident_id, planned.receiver):
                    out.append(planned)
                else:
                    why = "pending: resolved before anyone was paged"
                    out.append(_note(planned, why, suppressed="resolved_while_pending"))
            else:
                why = f"pending: sent only if still unacknowledged after {pending:g}s"
                out.append(
                    _note(
                        planned,
                        why,
                        delay_seconds=max(planned.delay_seconds, pending),
                        requires="unacknowledged",
                    )
                )
        return tuple(out)


class EscalationStage:
    """When a matching route names an escalation policy, the first state of an incident plans every level of
    every round, each due at its cumulative delay (after the route's group_wait) and sent only while nobody has
    acknowledged; an acknowledgement (or the resolve) stops them all at once, because each is checked when due.
    A route may escalate without receivers of its own."""

    name = "escalate"

    def __init__(
        self,
        tree: RouteConfig,
        policies: Mapping[str, EscalationPolicyConfig],
        people: Mapping[str, PersonConfig] | None = None,
        schedules: Mapping[str, ScheduleConfig] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._tree = tree
        self._policies = dict(policies)
        self._people = dict(people or {})
        self._schedules = dict(schedules or {})
        self._clock = clock or WallClock()

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        incident = context.incident
        if not self._policies or context.previous_version is not None or incident.status == "resolved":
            return plan
        if context.response_state != "triggered":
            return plan
        added: list[PlannedNotification] = []
        seen: set[str] = set()
        for match in route(self._tree, incident).matches:
            name = match.config.escalation
            if name is None or name in seen:
                continue
            seen.add(name)
            carrier = PlannedNotification(
                receiver="",
                route=match.path,
                group_key=group_key(match.config, match.path, context),
                config=match.config,
            )
            added.extend(self._steps(self._policies[name], carrier, match.config.group_wait_seconds))
        return plan + tuple(added)

    def _steps(
        self, policy: EscalationPolicyConfig, planned: PlannedNotification, base: float
    ) -> list[PlannedNotification]:
        """Every level of every round; people and schedules are resolved for the moment the level fires (a
        schedule's rotation is known in advance, so the row written now names who will be paged then)."""
        now = self._clock.now()
        steps: list[PlannedNotification] = []
        offset = base
        gap = policy.ack_timeout_seconds or DEFAULT_ROUND_GAP_SECONDS
        for round_number in range(policy.repeat + 1):
            for level_number, level in enumerate(policy.levels):
                offset += level.delay_seconds
                fires = now + timedelta(seconds=offset)
                seen: set[str] = set()
                for target in level.targets:
                    for resolved in resolve_target(target, fires, self._people, self._schedules):
                        if resolved.receiver in seen:
                            continue  # one row per receiver and step: two targets sharing a receiver page once
                        seen.add(resolved.receiver)
                        steps.append(
                            PlannedNotification(
                                receiver=resolved.receiver,
                                route=planned.route,
                                delay_seconds=offset,
                                step=f"escalation:{policy.name}:{level_number}:{round_number}",
                                requires="unacknowledged",
                                group_key=planned.group_key,
                                why=(
                                    f"escalate: policy {policy.name} level {level_number + 1} round "
                                    f"{round_number + 1} at +{offset:g}s ({format_rfc3339(fires)}) unless "
                                    f"acknowledged; target {resolved.target}",
                                ),
                                config=planned.config,
                                target=resolved.target,
                            )
                        )
            offset += gap
        return steps


class RepeatStage:
    """repeat_interval: while an incident stays unacknowledged and this is still its newest state, its page is
    repeated every repeat_interval (at most MAX_REPEATS times per state; a newer state plans its own)."""

    name = "repeat"

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        if context.incident.status == "resolved" or context.response_state != "triggered":
            return plan
        added: list[PlannedNotification] = []
        for planned in plan:
            interval = planned.config.repeat_interval_seconds if planned.config is not None else 0.0
            if not planned.active or planned.step or interval <= 0:
                continue
            added.extend(
                dataclasses.replace(
                    planned,
                    delay_seconds=planned.delay_seconds + n * interval,
                    step=f"repeat:{n}",
                    requires="unacknowledged",
                    why=(*planned.why, f"repeat: {n} x repeat_interval {interval:g}s while unacknowledged"),
                )
                for n in range(1, MAX_REPEATS + 1)
            )
        return plan + tuple(added)


class RateCapStage:
    """Per-receiver cap (`max_per_hour` on a receiver), counted per clock hour on when notifications are due.
    A page over the cap is deferred to the next hour with room (and says so), never dropped: a storm's pages arrive
    late rather than not at all. Resolved states and escalation steps are not capped."""

    name = "rate_cap"

    def __init__(self, caps: Mapping[str, int]) -> None:
        self._caps = dict(caps)

    async def __call__(self, context: IntakeContext, plan: Plan) -> Plan:
        if not self._caps or context.incident.status == "resolved":
            return plan
        # The log's clock (the database's), the one its due times are written with.
        now = await context.facts.now()
        out = []
        # What this plan already put in each window (not in the log yet).
        planned_here: dict[tuple[str, datetime], int] = {}
        for planned in plan:
            cap = self._caps.get(planned.receiver)
            if cap is None or not planned.active or planned.step:
                out.append(planned)
                continue
            due = now + timedelta(seconds=planned.delay_seconds)
            for _ in range(MAX_DEFER_WINDOWS):
                start = _window_start(due)
                end = start + timedelta(seconds=RATE_WINDOW_SECONDS)
                taken = await context.facts.count_due_between(planned.receiver, start, end)
                taken += planned_here.get((planned.receiver, start), 0)
                if taken < cap:
                    break
                due = end
            start = _window_start(due)
            planned_here[(planned.receiver, start)] = planned_here.get((planned.receiver, start), 0) + 1
            delay = (due - now).total_seconds()
            if delay > planned.delay_seconds:
                why = (
                    f"rate_cap: {planned.receiver} is at its cap of {cap} per hour; deferred to "
                    f"{format_rfc3339(due)} (+{delay:g}s)"
                )
                out.append(_note(planned, why, delay_seconds=delay, deferred="rate_capped", not_before=due))
            else:
                out.append(planned)
        return tuple(out)


def _window_start(moment: datetime) -> datetime:
    seconds = moment.timestamp()
    return datetime.fromtimestamp(seconds - seconds % RATE_WINDOW_SECONDS, tz=moment.tzinfo)


def rate_caps(config: Config) -> dict[str, int]:
    caps = {}
    for receiver in config.receivers:
        value = receiver.settings.get("max_per_hour")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            caps[receiver.name] = value
    return caps


def full_pipeline(config: Config, clock: Clock | None = None) -> Pipeline:
    """The alerter's pipeline, in Alertmanager's stage order; `clock` says who a schedule puts on call when."""
    return Pipeline(
        [
            RouteStage(config.route),
            # Escalation steps are planned before the filters, so silences and inhibitions mute them too.
            EscalationStage(config.route, config.escalation_policies, config.people, config.schedules, clock),
            InhibitStage(config.inhibit_rules),
            SilenceStage(),
            GroupStage(),
            PendingStage(),
            RepeatStage(),
            RateCapStage(rate_caps(config)),
        ]
    )


def ack_timeouts(config: Config, clock: Clock | None = None) -> Callable[[IncidentEvent], list[tuple[str, float]]]:
    """For an acknowledged incident: the first-level targets of its escalation policies (schedules resolved for
    when it fires), to re-notify after the policy's ack_timeout unless it is resolved by then (the
    acknowledgement-expiry Alertmanager lacks)."""
    wall = clock or WallClock()

    def plan(incident: IncidentEvent) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for match in route(config.route, incident).matches:
            policy = config.escalation_policies.get(match.config.escalation or "")
            if policy is None or policy.ack_timeout_seconds <= 0:
                continue
            fires = wall.now() + timedelta(seconds=policy.ack_timeout_seconds)
            for target in policy.levels[0].targets:
                out.extend(
                    (resolved.receiver, policy.ack_timeout_seconds)
                    for resolved in resolve_target(target, fires, config.people, config.schedules)
                )
        return list(dict.fromkeys(out))

    return plan
