"""The rules beyond the merchant spike: scopes, seasonality, viral threads, response deadlines, rating drops."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from services.detector.deadlines import hours_for
from services.detector.engine import DetectionEngine
from services.detector.merchant import SAME_STORM_SECONDS
from services.detector.scenarios import ScenarioClassifier, thread
from services.detector.synthetic import Segment, bucketed, generate, review_event
from services.detector.threads import kernel_mass, predict_final_reach
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent, MerchantReply, ReviewEvent
from services.shared.timeutil import format_rfc3339

T0 = datetime(2026, 11, 16, tzinfo=UTC)


def opened(incidents: list[IncidentEvent]) -> list[IncidentEvent]:
    return [i for i in incidents if i.status == "open"]


def test_kernel_is_a_distribution_and_prediction_grows_with_speed() -> None:
    """SEISMIC's kernel integrates to 1 and is monotone; the same reach gathered faster predicts a larger final
    reach, and an old, finished thread predicts about what it has."""
    masses = [kernel_mass(s) for s in (0, 60, 300, 3600, 86400, 10**15)]
    assert masses == sorted(masses) and masses[0] == 0.0 and abs(masses[-1] - 1.0) < 1e-2
    fast = predict_final_reach(0.0, [[600.0, 200.0]], 200.0, 900.0)
    slow = predict_final_reach(0.0, [[3600.0 * 5, 200.0]], 200.0, 3600.0 * 6)
    old = predict_final_reach(0.0, [[600.0, 200.0]], 200.0, 86400.0 * 365)
    assert fast > slow > 200.0
    assert old < 1.5 * 200.0 < fast


def test_one_storm_is_one_incident_across_scopes() -> None:
    """A storm on the only platform is seen by the merchant, platform and category scopes; one incident opens."""
    events = bucketed([(2, 8)] * 16 + [(60, 8)] + [(2, 8)] * 6, start=T0)
    incidents = DetectionEngine(DetectionConfig()).run(events)
    assert len({i.incident_id for i in incidents}) == 1
    assert [i.status for i in opened(incidents)] == ["open"]


def test_storm_on_a_small_marketplace_is_caught_by_its_platform_scope() -> None:
    """A burst of one-star reviews on a small marketplace, hidden in a big platform's volume, opens an incident
    naming that platform; without scope spikes the merchant-level rule alone misses it."""
    big = generate([Segment(T0, 72.0, 400.0, 0.25)], merchant_id="m1", platform="trustpilot", seed=1)
    small = generate([Segment(T0, 72.0, 4.0, 0.05)], merchant_id="m1", platform="amazon", seed=2)
    burst = bucketed([(12, 0)], start=T0 + timedelta(hours=60), merchant_id="m1", platform="amazon", prefix="x")
    events = sorted([*big, *small, *burst], key=lambda e: e.created_at)
    incidents = DetectionEngine(DetectionConfig(rating_drop=False)).run(events)
    assert [(i.kind, i.platform) for i in opened(incidents)] == [("negative_spike", "amazon")]
    merchant_only = DetectionEngine(DetectionConfig(rating_drop=False, scope_spikes=False)).run(events)
    assert opened(merchant_only) == []


def test_seasonal_profile_learns_the_daily_cycle() -> None:
    """After two weeks of busy days and quiet nights the baseline expects more negatives at 14:00 than at 02:00."""
    day = generate([Segment(T0 + timedelta(days=d, hours=8), 12.0, 40.0, 0.1) for d in range(14)], seed=3)
    night = generate([Segment(T0 + timedelta(days=d, hours=20), 12.0, 4.0, 0.1) for d in range(14)], seed=4)
    engine = DetectionEngine(DetectionConfig())
    engine.run(sorted([*day, *night], key=lambda e: e.created_at))
    detector = engine._detector("m1").merchant_spike[0]
    bucket_of = int((T0 + timedelta(days=15)).timestamp()) // 900
    afternoon = detector.expected_at(bucket_of + 14 * 4)
    small_hours = detector.expected_at(bucket_of + 2 * 4)
    assert afternoon > 3 * small_hours


def _viral(replies: str) -> list[ReviewEvent]:
    return thread(
        "m1", "twitter", "post", T0, 12.0, replies_total=900, shares_total=4000, views_total=20000,
        tau_hours=1.0, shape=0.6, reply_text=lambda h: replies if h >= 1.0 else "Disgusting.", seed=1,
    )  # fmt: skip


def test_viral_thread_opens_early_carries_predicted_reach_and_resolves_when_quiet() -> None:
    """A fast-growing thread opens a viral_thread incident within its first hour, naming the thread and its
    predicted reach; three quiet hours later it resolves."""
    events = sorted(_viral("Awful."), key=lambda e: e.observed_at)
    later = review_event(merchant_id="m1", item_id="later", created=T0 + timedelta(hours=16), rating=5.0)
    incidents = DetectionEngine(DetectionConfig(), classifier=ScenarioClassifier()).run([*events, later])
    first = incidents[0]
    assert (first.kind, first.status, first.thread_id, first.platform) == ("viral_thread", "open", "post", "twitter")
    assert first.evidence.predicted_reach is not None and first.evidence.predicted_reach >= 1000
    assert first.detected_at < format_rfc3339(T0 + timedelta(hours=1))
    assert incidents[-1].status == "resolved"
    assert len({i.incident_id for i in incidents}) == 1


def test_viral_thread_turning_friendly_is_deescalated_and_threshold_is_per_merchant() -> None:
    """Friendly replies de-escalate the incident to severity info; a merchant whose threshold is far above the
    prediction is not paged at all."""
    events = sorted(_viral("So cute, love it!"), key=lambda e: e.observed_at)
    incidents = DetectionEngine(DetectionConfig(), classifier=ScenarioClassifier()).run(events)
    assert any(i.status == "update" and i.severity == "info" for i in incidents)
    high = DetectionConfig(viral_reach_thresholds={"m1": 10**7})
    assert DetectionEngine(high, classifier=ScenarioClassifier()).run(events) == []


def _sla_stream(reply_after_hours: float | None) -> list[ReviewEvent]:
    steady = [
        review_event(merchant_id="m1", item_id=f"ok{n}", created=T0 + timedelta(minutes=10 * n), rating=5.0)
        for n in range(60)
    ]
    bad = review_event(merchant_id="m1", item_id="bad", created=T0 + timedelta(hours=1), rating=1.0, text="Late.")
    events = [*steady, bad]
    if reply_after_hours is not None:
        at = T0 + timedelta(hours=1 + reply_after_hours)
        events.append(
            dataclasses.replace(
                bad,
                event_id="u" * 32,
                event_type="review.updated",
                observed_at=format_rfc3339(at),
                merchant_reply=MerchantReply("Sorry, we are on it.", format_rfc3339(at)),
            )
        )
    return sorted(events, key=lambda e: e.observed_at)


def test_sla_breach_is_off_by_default_and_fires_from_event_time_when_configured() -> None:
    """No deadline configured: nothing. With a 2 h deadline, the unanswered review opens an sla_breach once the
    merchant's event time passes it; the late reply resolves it and counts a recovery."""
    assert DetectionEngine(DetectionConfig()).run(_sla_stream(None)) == []
    config = DetectionConfig(response_deadline_hours={"m1/trustpilot": 2.0})
    engine = DetectionEngine(config)
    incidents = engine.run(_sla_stream(5.0))
    assert [(i.kind, i.status) for i in incidents] == [("sla_breach", "open"), ("sla_breach", "resolved")]
    assert incidents[0].detected_at >= format_rfc3339(T0 + timedelta(hours=3))
    assert incidents[0].detected_at < format_rfc3339(T0 + timedelta(hours=3, minutes=15))
    assert engine.drain_recoveries() == [("trustpilot", "replied")]
    on_time = DetectionEngine(config)
    assert on_time.run(_sla_stream(1.0)) == []
    assert on_time.drain_recoveries() == [("trustpilot", "replied")]


def test_resolution_window_warns_before_it_passes() -> None:
    """A marketplace resolution window of 6 h with a 2 h warning opens a warning at 4 h, raised to high at 6 h."""
    config = DetectionConfig(resolution_window_hours={"*/trustpilot": 6.0}, resolution_warn_before_hours=2.0)
    incidents = DetectionEngine(config).run(_sla_stream(None))
    assert [(i.status, i.severity) for i in incidents] == [("open", "warning"), ("update", "high")]
    assert incidents[0].detected_at >= format_rfc3339(T0 + timedelta(hours=5))


def test_deadline_keys_most_specific_first() -> None:
    """'merchant/platform' beats 'merchant' beats '*/platform' beats '*'."""
    table = {"*": 1.0, "*/amazon": 2.0, "m1": 3.0, "m1/amazon": 4.0}
    assert hours_for(table, "m1", "amazon") == 4.0
    assert hours_for(table, "m1", "ebay") == 3.0
    assert hours_for(table, "m2", "amazon") == 2.0
    assert hours_for(table, "m2", "ebay") == 1.0
    assert hours_for({}, "m1", "amazon") is None


def test_rating_drop_opens_and_recovers() -> None:
    """A lasting fall of the average rating (no burst, so no spike) opens a rating_drop that resolves once the
    ratings are back."""
    before = generate([Segment(T0, 72.0, 6.0, 0.1)], seed=1)
    during = generate([Segment(T0 + timedelta(hours=72), 24.0, 6.0, 0.5)], seed=2)
    after = generate([Segment(T0 + timedelta(hours=96), 48.0, 6.0, 0.05)], seed=3)
    incidents = DetectionEngine(DetectionConfig(scope_spikes=False)).run([*before, *during, *after])
    drops = [i for i in incidents if i.kind == "rating_drop"]
    assert drops[0].status == "open" and drops[-1].status == "resolved"
    assert drops[0].evidence.observed < drops[0].evidence.expected


def test_other_scope_does_not_reopen_the_tail_of_a_storm() -> None:
    """Right after the merchant-level incident of a storm changed, a platform scope may not open a second incident
    for the same storm (within SAME_STORM_SECONDS); the merchant's own scope is governed by its cooldown only."""
    engine = DetectionEngine(DetectionConfig())
    detector = engine._detector("m1")
    state = detector.state
    state.last_spike, state.last_spike_scope = 1000.0, "merchant"
    assert detector._storm_covered("platform:trustpilot", 1000.0 + SAME_STORM_SECONDS - 1)
    assert not detector._storm_covered("platform:trustpilot", 1000.0 + SAME_STORM_SECONDS)
    assert not detector._storm_covered("merchant", 1001.0)
    state.incident.incident_id = "f" * 32
    assert detector._storm_covered("merchant", 10**9)
