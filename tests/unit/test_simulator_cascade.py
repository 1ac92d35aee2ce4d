"""The simulator's viral cascade: deterministic self-exciting growth to the scenario's target, described in YAML,
and (through the Facebook normaliser) snapshots that make the detector open a viral_thread incident early."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from services.detector.engine import DetectionEngine
from services.pollers.adapters.facebook_items import normalise_comment, normalise_post
from services.shared import metrics
from services.shared.config import DetectionConfig
from services.shared.errors import ConfigError
from services.shared.events import ReviewEvent
from services.simulator.cascade import engagement_offsets, generate_cascade
from services.simulator.clock import SimClock
from services.simulator.facebook import FacebookApi, render_comment
from services.simulator.scenario import (
    CascadeSpec,
    FacebookPage,
    MerchantProfile,
    Scenario,
    TrustpilotAccount,
    parse_scenario,
)

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def world(duration_hours: float = 30, start_minutes: float = 30) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1,
        facebook=FacebookPage("1044", posts_per_day=2, comments_per_hour=1),
        cascades=(CascadeSpec("facebook", start_minutes * 60),),
    )  # fmt: skip
    return Scenario(merchants=(merchant,), origin=ORIGIN, history_seconds=3600, duration_seconds=duration_hours * 3600)


def test_the_salad_post_reaches_about_14000_shares_in_24_hours_fast_then_slower() -> None:
    """Default cascade: ~14,000 shares and ~1,500 replies after 24 h; most growth early (self-exciting, then the
    memory fades); the same scenario always gives the same cascade."""
    scenario = world()
    cascade = generate_cascade(scenario, scenario.merchants[0], 0)
    assert cascade is not None
    day = cascade.counters(cascade.created_at + timedelta(hours=24))
    assert 13_000 <= day.shares <= 15_000 and 1_300 <= day.replies <= 1_700
    assert 37_000 <= day.views <= 43_000
    first, second = (cascade.counters(cascade.created_at + timedelta(hours=h)).shares for h in (6, 12))
    assert first > second - first > 0
    assert cascade.counters(cascade.created_at - timedelta(seconds=1)).shares == 0
    again = generate_cascade(scenario, scenario.merchants[0], 0)
    assert again is not None and again.share_offsets == cascade.share_offsets


def test_offsets_hit_the_target_at_the_horizon_and_a_cascade_outside_the_scenario_is_none() -> None:
    """The target-th engagement lands at the horizon; a cascade after the scenario's end does not exist."""
    offsets = engagement_offsets(random.Random(1), 500, 0.8, 3600.0)
    assert sum(1 for t in offsets if t <= 3600.0) == 500 and offsets == sorted(offsets)
    assert engagement_offsets(random.Random(1), 0, 0.8, 3600.0) == []
    late = world(duration_hours=1, start_minutes=120)
    assert generate_cascade(late, late.merchants[0], 0) is None


def test_cascades_are_described_in_the_scenario_yaml() -> None:
    """`cascades:` entries build CascadeSpecs; a cascade on a platform the merchant is not on is a clear error."""
    merchant = {"id": "m", "trustpilot": {"business_unit_id": "b"}, "facebook": {"page_id": "1"}}
    parsed = parse_scenario(
        {"merchants": [{**merchant, "cascades": [{"platform": "facebook", "start_minutes": 90, "shares": 500}]}]}
    )
    spec = parsed.merchants[0].cascades[0]
    assert (spec.platform, spec.start_offset_seconds, spec.shares) == ("facebook", 5400.0, 500)
    with pytest.raises(ConfigError, match=r"cascades\[0\]\.platform"):
        parse_scenario({"merchants": [{**merchant, "cascades": [{"platform": "x", "start_minutes": 0}]}]})


def test_simulated_viral_post_snapshots_open_a_viral_thread_incident_early() -> None:
    """Snapshots of the viral post every 5 minutes (and its comments) through the Facebook normaliser make the
    detector open a viral_thread incident for that post while its reach is still a fraction of where it goes."""
    scenario = world()
    registry = CollectorRegistry()
    requests = metrics.counter(registry, "stormwatch_simulator_requests_total", "requests", ["platform", "status"])
    api = FacebookApi(scenario, SimClock.manual(ORIGIN), requests)
    viral = next(p for p in api.posts["shop"] if p.cascade is not None)
    events: list[ReviewEvent] = []
    seen = 0
    for step in range(1, 12 * 6):
        now = viral.created_at + timedelta(minutes=5 * step)
        events.append(normalise_post(api.render_post(viral, now), merchant_id="shop", source_id="f", observed_at=now))
        visible = api.visible_comments(viral.id, now)
        for comment in visible[seen:]:
            data = render_comment(comment, viral.id)
            events.append(normalise_comment(data, post_id=viral.id, merchant_id="shop", source_id="f", observed_at=now))
        seen = len(visible)
    engine = DetectionEngine(DetectionConfig(viral_reach_threshold=5000))
    incidents = engine.run(events)
    opened = [i for i in incidents if i.kind == "viral_thread" and i.status == "open"]
    assert len(opened) == 1 and opened[0].thread_id == viral.id and opened[0].platform == "facebook"
    assert opened[0].evidence.predicted_reach is not None and opened[0].evidence.predicted_reach >= 5000
    assert opened[0].evidence.observed < 5000  # predicted before it got there
