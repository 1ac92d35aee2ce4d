"""People and on-call schedules as escalation targets: rotations, handoffs in the schedule's time zone, layers,
overrides, config validation, and timelines where the schedule decides who is paged when a level fires."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from services.alerter.oncall import on_call
from services.alerter.pipeline import IntakeContext, Plan
from services.alerter.stages import ack_timeouts, full_pipeline
from services.shared.config import Config, parse_config
from services.shared.errors import ConfigError
from services.shared.events import Evidence, IncidentEvent
from services.shared.timeutil import ManualClock

SPIKE = IncidentEvent(
    incident_id="a" * 32,
    version=1,
    status="open",
    kind="negative_spike",
    severity="high",
    merchant_id="acme",
    platform="trustpilot",
    category="logistics",
    title="Spike",
    summary="s",
    started_at="2026-03-02T08:00:00Z",
    detected_at="2026-03-02T08:30:00Z",
    evidence=Evidence(observed=10, expected=2, window_seconds=900, rate_per_hour=40),
)

RECEIVERS = [
    {"name": "chat", "type": "log"},
    {"name": "ana-dm", "type": "log"},
    {"name": "ana-mail", "type": "log"},
    {"name": "bo-dm", "type": "log"},
    {"name": "cy-pager", "type": "log"},
]
PEOPLE = [
    {"name": "ana", "receivers": ["ana-dm", "ana-mail"]},
    {"name": "bo", "receivers": ["bo-dm"]},
    {"name": "cy", "receivers": ["cy-pager"]},
]
# Daily rotation ana -> bo -> cy, handing off at 09:00 Berlin time, from Monday 2026-03-02.
PRIMARY = {
    "name": "primary",
    "time_zone": "Europe/Berlin",
    "layers": [{"participants": ["ana", "bo", "cy"], "rotation": "1d", "handoff": "09:00", "start": "2026-03-02"}],
}


def _config(**extra: Any) -> Config:
    document = {
        "merchants": [{"id": "acme"}],
        "receivers": RECEIVERS,
        "people": PEOPLE,
        "schedules": [PRIMARY],
        "route": {"receivers": ["chat"]},
        **extra,
    }
    return parse_config(document, env={})


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_daily_rotation_hands_off_at_local_handoff_time() -> None:
    """09:00 Berlin is 08:00 UTC in winter: ana until 08:00 UTC on day 2, then bo, then cy, then ana again; before
    the layer starts nobody is on call."""
    schedule = _config().schedules["primary"]
    assert on_call(schedule, _at("2026-03-02T07:59:00+00:00")).person is None
    assert on_call(schedule, _at("2026-03-02T08:00:00+00:00")).person == "ana"
    assert on_call(schedule, _at("2026-03-03T07:59:59+00:00")).person == "ana"
    assert on_call(schedule, _at("2026-03-03T08:00:00+00:00")).person == "bo"
    assert on_call(schedule, _at("2026-03-04T12:00:00+00:00")).person == "cy"
    assert on_call(schedule, _at("2026-03-05T08:00:00+00:00")).person == "ana"


def test_handoff_keeps_its_local_time_across_daylight_saving() -> None:
    """After Berlin moves to summer time (2026-03-29), the 09:00 handoff is at 07:00 UTC, not 08:00."""
    schedule = _config().schedules["primary"]
    # 2026-03-30 is day 28 from the start: 28 % 3 == 1 -> bo from 09:00 local (07:00 UTC).
    assert on_call(schedule, _at("2026-03-30T06:59:00+00:00")).person == "ana"
    assert on_call(schedule, _at("2026-03-30T07:00:00+00:00")).person == "bo"


def test_later_layer_and_override_take_precedence() -> None:
    """A second layer (cy, from 2026-03-10) wins over the first once it starts; an override wins over both while
    it lasts, and says it is the source."""
    primary = {
        **PRIMARY,
        "layers": [
            *PRIMARY["layers"],
            {"participants": ["cy"], "rotation": "7d", "handoff": "09:00", "start": "2026-03-10"},
        ],
        "overrides": [{"person": "bo", "start": "2026-03-11T00:00:00Z", "end": "2026-03-12T00:00:00Z"}],
    }
    schedule = _config(schedules=[primary]).schedules["primary"]
    assert on_call(schedule, _at("2026-03-09T12:00:00+00:00")).source == "layer 1"
    assert on_call(schedule, _at("2026-03-10T12:00:00+00:00")).person == "cy"
    during = on_call(schedule, _at("2026-03-11T12:00:00+00:00"))
    assert (during.person, during.source) == ("bo", "override")
    assert on_call(schedule, _at("2026-03-12T00:00:00+00:00")).person == "cy"


def test_config_errors_name_the_key() -> None:
    """Unknown people, receivers, targets and bad rotations are ConfigErrors naming the exact key; names of
    receivers, people and schedules may not clash (a level's targets are plain names)."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"people": [{"name": "ana", "receivers": ["ghost"]}]}, r"people\[0\]\.receivers\[0\]: unknown receiver"),
        (
            {"schedules": [{**PRIMARY, "layers": [{"participants": ["zed"], "rotation": "1d"}]}]},
            r"schedules\[0\]\.layers\[0\]\.participants\[0\]: unknown person 'zed'",
        ),
        (
            {"schedules": [{**PRIMARY, "layers": [{"participants": ["ana"], "rotation": "0s"}]}]},
            r"schedules\[0\]\.layers\[0\]\.rotation",
        ),
        ({"schedules": [{**PRIMARY, "time_zone": "Mars/Olympus"}]}, r"schedules\[0\]\.time_zone"),
        (
            {"schedules": [{**PRIMARY, "layers": [{"participants": ["ana"], "rotation": "1d", "handoff": "9am"}]}]},
            r"schedules\[0\]\.layers\[0\]\.handoff",
        ),
        (
            {"escalation_policies": [{"name": "p", "levels": [{"targets": ["nobody"]}]}]},
            r"escalation_policies\[0\]\.levels\[0\]\.targets\[0\]: no receiver, person or schedule 'nobody'",
        ),
        (
            {"people": [*PEOPLE, {"name": "chat", "receivers": ["chat"]}]},
            r"people\[3\]\.name: 'chat' is also a receiver",
        ),
        (
            {"schedules": [PRIMARY, {**PRIMARY, "name": "ana"}]},
            r"schedules\[1\]\.name: 'ana' is also a receiver or a person",
        ),
    ]
    for extra, message in cases:
        with pytest.raises(ConfigError, match=message):
            _config(**extra)


def test_levels_mix_receivers_and_targets() -> None:
    """`receivers:` keeps working; `targets:` names receivers, people and schedules; a level needs one of them."""
    policy = {"name": "p", "levels": [{"receivers": ["chat"], "targets": ["ana", "primary", "chat"]}]}
    level = _config(escalation_policies=[policy]).escalation_policies["p"].levels[0]
    assert level.receivers == ("chat",)
    assert [(t.kind, t.name) for t in level.targets] == [
        ("receiver", "chat"),
        ("person", "ana"),
        ("schedule", "primary"),
    ]
    with pytest.raises(ConfigError, match=r"escalation_policies"):
        _config(escalation_policies=[{"name": "p", "levels": [{"delay": "5m"}]}])


async def _plan(config: Config, now: datetime) -> Plan:
    return await full_pipeline(config, ManualClock(now)).plan(IntakeContext(SPIKE, "triggered", None))


async def test_timeline_schedule_resolves_to_whoever_is_on_call_when_each_level_fires() -> None:
    """Incident opens 07:30 UTC on 2026-03-04 (bo's turn until 08:00): level 1 (schedule, at once) pages bo;
    level 2 (schedule again, after 45 min, at 08:15) pages cy, who took over at 08:00; level 3 (person ana, +15
    min) pages both of ana's receivers. Each row names who was targeted."""
    policy = {
        "name": "follow",
        "levels": [
            {"targets": ["primary"]},
            {"delay": "45m", "targets": ["primary"]},
            {"delay": "15m", "targets": ["ana"]},
        ],
    }
    config = _config(escalation_policies=[policy], route={"receivers": ["chat"], "escalation": "follow"})
    plan = await _plan(config, _at("2026-03-04T07:30:00+00:00"))
    steps = [(p.delay_seconds, p.receiver, p.target) for p in plan if p.step]
    assert steps == [
        (0.0, "bo-dm", "schedule:primary -> person:bo"),
        (2700.0, "cy-pager", "schedule:primary -> person:cy"),
        (3600.0, "ana-dm", "person:ana"),
        (3600.0, "ana-mail", "person:ana"),
    ]
    assert "target schedule:primary -> person:bo" in plan[1].why[-1]


async def test_a_person_reached_twice_in_one_level_is_paged_once() -> None:
    """ana as a person and via the schedule (her turn) in one level: one row per receiver, not two."""
    policy = {"name": "both", "levels": [{"targets": ["ana", "primary"]}]}
    config = _config(escalation_policies=[policy], route={"receivers": ["chat"], "escalation": "both"})
    plan = await _plan(config, _at("2026-03-02T10:00:00+00:00"))
    assert sorted(p.receiver for p in plan if p.step) == ["ana-dm", "ana-mail"]


def test_ack_timeout_renotifies_whoever_is_on_call_when_it_expires() -> None:
    """Acknowledged at 07:30 on bo's day with a 1 h ack timeout: the re-notification goes to cy (on call at 08:30)."""
    policy = {"name": "p", "levels": [{"targets": ["primary"]}], "ack_timeout": "1h"}
    config = _config(escalation_policies=[policy], route={"receivers": ["chat"], "escalation": "p"})
    plan = ack_timeouts(config, ManualClock(_at("2026-03-04T07:30:00+00:00")))
    assert plan(SPIKE) == [("cy-pager", 3600.0)]
