"""Noise control and escalation stages: inhibition, silences, grouping, pending, escalation, rate caps; and
timeline acceptance tests in Alertmanager's style (an injected clock walks the plan)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.alerter.pipeline import IntakeContext, OpenIncident, Plan, Silence
from services.alerter.stages import full_pipeline
from services.shared.config import Config, parse_config
from services.shared.errors import ConfigError
from services.shared.events import Evidence, IncidentEvent
from services.shared.timeutil import ManualClock

NOW = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)

SPIKE = IncidentEvent(
    incident_id="e" * 32,
    version=1,
    status="open",
    kind="negative_spike",
    severity="high",
    merchant_id="acme",
    platform="trustpilot",
    category="logistics",
    title="Spike",
    summary="s",
    started_at="2026-03-01T09:00:00Z",
    detected_at="2026-03-01T09:30:00Z",
    evidence=Evidence(observed=10, expected=2, window_seconds=900, rate_per_hour=40),
)


class FakeFacts:
    def __init__(
        self,
        *,
        silences: Sequence[Silence] = (),
        open_incidents: Sequence[OpenIncident] = (),
        due: Mapping[str, Sequence[datetime]] | None = None,
        ages: Mapping[tuple[str, str], float] | None = None,
        paged: bool = True,
        waiting: Mapping[tuple[str, str], float] | None = None,
    ) -> None:
        self.waiting = dict(waiting or {})
        self.silences = tuple(silences)
        self.open = tuple(open_incidents)
        self.due = dict(due or {})
        self.ages = dict(ages or {})
        self.paged = paged

    async def now(self) -> datetime:
        return NOW

    async def active_silences(self) -> Sequence[Silence]:
        return self.silences

    async def open_incidents(self, merchant_id: str, exclude: str) -> Sequence[OpenIncident]:
        return [o for o in self.open if o.labels.get("merchant") == merchant_id and o.incident_id != exclude]

    async def count_due_between(self, receiver: str, start: datetime, end: datetime) -> int:
        return sum(1 for moment in self.due.get(receiver, ()) if start <= moment < end)

    async def group_age(self, group_key: str, receiver: str) -> float | None:
        return self.ages.get((group_key, receiver))

    async def group_pending_in(self, group_key: str, receiver: str) -> float | None:
        return self.waiting.get((group_key, receiver))

    async def paged_before(self, incident_id: str, receiver: str) -> bool:
        return self.paged


def _config(route: dict[str, Any], **extra: Any) -> Config:
    receivers = [
        {"name": "chat", "type": "log", "max_per_hour": 2},
        {"name": "pager", "type": "log"},
        {"name": "lead", "type": "log"},
    ]
    return parse_config({"merchants": [{"id": "acme"}], "receivers": receivers, "route": route, **extra}, env={})


async def _plan(config: Config, incident: IncidentEvent = SPIKE, **context: Any) -> Plan:
    facts = context.pop("facts", FakeFacts())
    state = context.pop("state", "triggered")
    previous = context.pop("previous", None)
    clock = context.pop("clock", ManualClock(NOW))
    return await full_pipeline(config, clock).plan(IntakeContext(incident, state, previous, facts))


def _active(plan: Plan) -> list[tuple[str, float, str]]:
    return [(p.receiver, p.delay_seconds, p.step) for p in plan if p.active]


async def test_defaults_send_each_state_at_once_to_each_routed_receiver() -> None:
    """Without noise-control settings nothing is delayed, suppressed or added (the demo's exactly-once path)."""
    plan = await _plan(_config({"receivers": ["chat", "pager"]}))
    assert _active(plan) == [("chat", 0.0, ""), ("pager", 0.0, "")]
    assert all(p.requires == "" for p in plan)


async def test_viral_thread_inhibits_the_merchants_spikes_but_not_other_merchants() -> None:
    """An open viral_thread incident of acme mutes acme's negative_spike (kept in the plan as 'inhibited', with
    the source incident in `why`); another merchant's viral thread does not."""
    config = _config(
        {"receivers": ["chat"]},
        inhibit_rules=[{"source_match": {"kind": "viral_thread"}, "target_match": {"kind": "negative_spike"}}],
    )
    viral = OpenIncident("f" * 32, {"merchant": "acme", "kind": "viral_thread"})
    plan = await _plan(config, facts=FakeFacts(open_incidents=[viral]))
    assert [p.suppressed for p in plan] == ["inhibited"]
    assert "f" * 32 in plan[0].why[-1]
    other = OpenIncident("f" * 32, {"merchant": "globex", "kind": "viral_thread"})
    assert _active(await _plan(config, facts=FakeFacts(open_incidents=[other]))) == [("chat", 0.0, "")]


async def test_silence_mutes_matching_incidents_and_says_who_and_why() -> None:
    """A silence on merchant=acme, kind=negative_spike suppresses the page and names owner, reason and expiry;
    resolved states still go out (whoever heard of it learns it is over)."""
    silence = Silence(
        "s1", {"merchant": "acme", "kind": "negative_spike"}, "ana", "maintenance", "2026-03-02T00:00:00Z"
    )
    config = _config({"receivers": ["chat"]})
    plan = await _plan(config, facts=FakeFacts(silences=[silence]))
    assert plan[0].suppressed == "silenced" and "ana" in plan[0].why[-1] and "maintenance" in plan[0].why[-1]
    resolved = dataclasses.replace(SPIKE, status="resolved", version=2)
    assert _active(await _plan(config, resolved, facts=FakeFacts(silences=[silence]), previous=1)) == [
        ("chat", 0.0, "")
    ]


async def test_group_wait_then_group_interval() -> None:
    """A new group waits group_wait; a group notified 60 s ago waits the rest of its 5 min group_interval."""
    config = _config({"receivers": ["chat"], "group_by": ["merchant"], "group_wait": "30s", "group_interval": "5m"})
    first = await _plan(config)
    assert _active(first) == [("chat", 30.0, "")]
    assert first[0].group_key == "route|merchant=acme"
    later = await _plan(config, facts=FakeFacts(ages={("route|merchant=acme", "chat"): 60.0}))
    assert _active(later) == [("chat", 240.0, "")]


async def test_a_state_arriving_during_group_wait_joins_the_waiting_notification() -> None:
    """Alertmanager's aggregation: the group's first notification is due in 20 s (group_wait running); a second
    incident of the same group is due then too (one message carries both), not group_interval later."""
    config = _config({"receivers": ["chat"], "group_by": ["merchant"], "group_wait": "30s", "group_interval": "5m"})
    joined = await _plan(config, facts=FakeFacts(waiting={("route|merchant=acme", "chat"): 20.0}))
    assert _active(joined) == [("chat", 20.0, "")]
    assert "joins" in joined[0].why[-1]


async def test_pending_for_delays_and_requires_still_unacknowledged() -> None:
    """pending_for 10m: the page is due in 10 minutes and only if still unacknowledged; a resolve before any page
    is suppressed for that receiver."""
    config = _config({"receivers": ["pager"], "pending_for": "10m"})
    plan = await _plan(config)
    assert _active(plan) == [("pager", 600.0, "")] and plan[0].requires == "unacknowledged"
    resolved = dataclasses.replace(SPIKE, status="resolved", version=2)
    quiet = await _plan(config, resolved, facts=FakeFacts(paged=False), previous=1)
    assert [p.suppressed for p in quiet] == ["resolved_while_pending"]


async def test_rate_cap_defers_beyond_the_receivers_hourly_budget_instead_of_dropping() -> None:
    """chat allows 2 per clock hour: with 2 already due this hour (10:00-11:00) the next page is not suppressed
    but deferred to 11:00 (the next window) and says so; pager, uncapped, goes at once."""
    facts = FakeFacts(due={"chat": [NOW - timedelta(minutes=10), NOW]})
    plan = await _plan(_config({"receivers": ["chat", "pager"]}), facts=facts)
    assert [(p.receiver, p.suppressed, p.deferred) for p in plan] == [
        ("chat", None, "rate_capped"),
        ("pager", None, None),
    ]
    assert plan[0].delay_seconds == 30 * 60  # NOW is 10:30
    assert "deferred to 2026-03-01T11:00:00Z" in plan[0].why[-1]


async def test_rate_cap_skips_full_windows_until_one_has_room() -> None:
    """With this hour and the next both at the cap, the page goes at the start of the hour after (12:00)."""
    full = [NOW, NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=1)]
    plan = await _plan(_config({"receivers": ["chat"]}), facts=FakeFacts(due={"chat": full}))
    assert (plan[0].deferred, plan[0].delay_seconds) == ("rate_capped", 90 * 60.0)


async def test_rate_cap_timeline_a_storm_of_five_pages_is_spread_over_hours_none_lost() -> None:
    """Timeline: five incidents at 10:30 to a receiver capped at 2/h: two go at 10:30, two at 11:00, one at
    12:00 (every page is sent, later); the facts are what the log holds after each intake."""
    config = _config({"receivers": ["chat"]})
    due: list[datetime] = []
    for n in range(5):
        incident = dataclasses.replace(SPIKE, incident_id=f"{n:032x}")
        plan = await _plan(config, incident, facts=FakeFacts(due={"chat": due}))
        assert plan[0].active
        due.append(NOW + timedelta(seconds=plan[0].delay_seconds))
    assert [moment.strftime("%H:%M") for moment in due] == ["10:30", "10:30", "11:00", "11:00", "12:00"]


POLICY = {
    "name": "oncall",
    "levels": [{"receivers": ["pager"]}, {"delay": "15m", "receivers": ["lead"]}],
    "repeat": 1,
    "ack_timeout": "30m",
}


def _sent_by(plan: Plan, *, acked_at: float | None = None, resolved_at: float | None = None) -> list[tuple[float, str]]:
    """The injected clock walks the plan: a notification fires at its delay unless its condition failed by then
    (the same rule the notification log applies when the row is due)."""
    fired = []
    for planned in sorted((p for p in plan if p.active), key=lambda p: p.delay_seconds):
        at = planned.delay_seconds
        if resolved_at is not None and at >= resolved_at and planned.requires:
            continue
        if planned.requires == "unacknowledged" and acked_at is not None and at >= acked_at:
            continue
        fired.append((at, f"{planned.receiver}{'+' + planned.step if planned.step else ''}"))
    return fired


async def test_timeline_group_wait_page_escalate_then_ack_stops_everything() -> None:
    """Incident opens at t=0 with group_wait 30 s: page at 30 s; no ack: escalate to the lead at 15 min 30 s;
    ack at 16 min: nothing more (the second round at 45 min and later never fires)."""
    config = _config({"receivers": ["chat"], "group_wait": "30s", "escalation": "oncall"}, escalation_policies=[POLICY])
    plan = await _plan(config)
    assert _sent_by(plan, acked_at=16 * 60) == [
        (30.0, "chat"),
        (30.0, "pager+escalation:oncall:0:0"),
        (930.0, "lead+escalation:oncall:1:0"),
    ]


async def test_timeline_without_ack_loops_the_policy_repeat_times() -> None:
    """No ack: level 1 at 30 s, level 2 at 15.5 min, then after the 30 min ack timeout the loop repeats once."""
    config = _config({"receivers": ["chat"], "group_wait": "30s", "escalation": "oncall"}, escalation_policies=[POLICY])
    fired = _sent_by(await _plan(config))
    assert [at for at, _ in fired] == [30.0, 30.0, 930.0, 2730.0, 3630.0]


async def test_escalation_only_on_the_first_state_while_triggered() -> None:
    """Updates and already acknowledged incidents do not start the escalation again."""
    config = _config({"receivers": ["chat"], "escalation": "oncall"}, escalation_policies=[POLICY])
    update = dataclasses.replace(SPIKE, status="update", version=2)
    assert _active(await _plan(config, update, previous=1)) == [("chat", 0.0, "")]
    assert _active(await _plan(config, state="acknowledged")) == [("chat", 0.0, "")]


async def test_a_silence_mutes_the_escalation_too() -> None:
    """Escalation steps of a silenced incident are suppressed with the page itself: a silence mutes every path."""
    config = _config({"receivers": ["chat"], "escalation": "oncall"}, escalation_policies=[POLICY])
    silence = Silence("s1", {"merchant": "acme"}, "ana", "maintenance", "2026-03-02T00:00:00Z")
    plan = await _plan(config, facts=FakeFacts(silences=[silence]))
    assert len(plan) == 5 and all(p.suppressed == "silenced" for p in plan)


def test_route_timings_parse_durations_and_inherit() -> None:
    """Durations accept numbers and 30s / 15m / 1h; children inherit group and pending settings unless they set
    their own; escalation names must exist; defaults are all zero (nothing waits)."""
    config = _config(
        {
            "receivers": ["chat"],
            "group_by": ["merchant"],
            "group_wait": "30s",
            "repeat_interval": "4h",
            "routes": [{"match": {"kind": "viral_thread"}, "pending_for": 600, "group_wait": "1m"}],
        }
    )
    child = config.route.routes[0]
    assert (child.group_by, child.group_wait_seconds, child.pending_for_seconds) == (("merchant",), 60.0, 600.0)
    assert child.repeat_interval_seconds == 4 * 3600
    plain = _config({"receivers": ["chat"]}).route
    assert (plain.group_wait_seconds, plain.group_interval_seconds, plain.pending_for_seconds) == (0.0, 0.0, 0.0)
    with pytest.raises(ConfigError, match=r"route\.escalation: unknown escalation policy"):
        _config({"receivers": ["chat"], "escalation": "nobody"})
    with pytest.raises(ConfigError, match=r"escalation_policies\[0\]\.levels\[0\]\.receivers\[0\]"):
        _config({"receivers": ["chat"]}, escalation_policies=[{"name": "p", "levels": [{"receivers": ["ghost"]}]}])


async def test_repeat_interval_plans_bounded_repeats_while_unacknowledged() -> None:
    """repeat_interval 4h: the page is repeated at +4h, +8h, ... (12 at most), each only while unacknowledged;
    resolved states are never repeated."""
    config = _config({"receivers": ["pager"], "repeat_interval": "4h"})
    plan = await _plan(config)
    repeats = [p for p in plan if p.step.startswith("repeat:")]
    assert len(repeats) == 12
    assert [p.delay_seconds for p in repeats[:2]] == [4 * 3600.0, 8 * 3600.0]
    assert all(p.requires == "unacknowledged" for p in repeats)
    resolved = dataclasses.replace(SPIKE, status="resolved", version=2)
    assert _active(await _plan(config, resolved, previous=1)) == [("pager", 0.0, "")]
