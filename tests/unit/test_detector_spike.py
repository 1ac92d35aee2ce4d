"""The negative-spike rule in event time: baseline, Poisson bound, early detection, hold-down, cooldown, warm-up."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

from services.detector.engine import DetectionEngine
from services.detector.synthetic import Segment, bucketed, generate, review_event
from services.shared.config import DetectionConfig
from services.shared.events import IncidentEvent, ReviewEvent
from services.shared.timeutil import format_rfc3339, parse_rfc3339

T0 = datetime(2026, 11, 18, tzinfo=UTC)
BUCKET = 900
BASE = (2, 8)  # two negatives and eight other reviews per 15 minutes
STORM = (60, 8)


def run(events: list[ReviewEvent], config: DetectionConfig | None = None) -> list[IncidentEvent]:
    return DetectionEngine(config or DetectionConfig()).run(events)


def at_bucket(index: int) -> str:
    return format_rfc3339(T0 + timedelta(seconds=index * BUCKET))


def statuses(incidents: list[IncidentEvent]) -> list[str]:
    return [i.status for i in incidents]


def test_steady_baseline_never_opens() -> None:
    """Two weeks of random steady traffic (24 reviews an hour, 10 % negative) open nothing, whatever the seed."""
    for seed in range(3):
        assert run(generate([Segment(T0, 24 * 14, 24.0, 0.10)], seed=seed)) == []


def test_three_negatives_against_one_expected_do_not_open() -> None:
    """Few reviews are noisy: 3 negatives in a bucket where 1 is usual is no storm."""
    assert run(bucketed([(1, 9)] * 20 + [(3, 9)] + [(1, 9)] * 3, start=T0)) == []


def test_storm_opens_once_early_updates_on_change_and_resolves_after_hold_down() -> None:
    """60 negatives against ~2 expected: one incident, opened inside the storm bucket while the count is still
    small, updated only on a severity change or 50 % growth, resolved when the 4th quiet bucket closes."""
    events = bucketed([BASE] * 16 + [STORM] + [BASE] * 6, start=T0)
    incidents = run(events)

    assert statuses(incidents)[0] == "open"
    assert statuses(incidents).count("open") == 1
    assert statuses(incidents)[-1] == "resolved"
    assert set(statuses(incidents)[1:-1]) == {"update"}
    assert len({i.incident_id for i in incidents}) == 1
    assert [i.version for i in incidents] == list(range(1, len(incidents) + 1))

    opened = incidents[0]
    assert opened.started_at == at_bucket(16)
    assert parse_rfc3339(opened.detected_at) < parse_rfc3339(at_bucket(17))  # early: the bucket is still open
    assert opened.evidence.observed < 60

    for previous, current in itertools.pairwise(incidents[:-1]):
        grew = current.evidence.observed >= 1.5 * previous.evidence.observed
        assert grew or current.severity != previous.severity

    resolved = incidents[-1]
    assert resolved.resolved_at == at_bucket(17 + 4)
    assert resolved.severity == "critical"
    assert resolved.evidence.observed == 60 + 4 * 2


def test_warm_up_prevents_alerts_without_history() -> None:
    """No alert before 8 buckets of history: a merchant's first hours cannot be judged."""
    assert run(bucketed([BASE] * 5 + [STORM] + [BASE] * 6, start=T0)) == []


def test_sale_day_with_the_usual_share_does_not_open() -> None:
    """Three times the traffic with the usual negative share is a sale, not a storm; the same extra negatives
    without the extra traffic are a storm."""
    history = [(5, 45)] * 24
    assert run(bucketed([*history, *[(15, 135)] * 8, *history[:6]], start=T0)) == []
    assert statuses(run(bucketed([*history, *[(25, 45)] * 8, *history[:6]], start=T0)))[0] == "open"


def test_long_storm_does_not_normalise_itself() -> None:
    """After 48 hours of history, a 12-hour storm stays one open incident until it ends: spike buckets enter the
    baseline only up to the bound (and not at all into the usual share)."""
    events = bucketed([BASE] * 192 + [(30, 8)] * 48 + [BASE] * 6, start=T0)
    incidents = run(events)
    assert statuses(incidents).count("open") == 1
    assert statuses(incidents).count("resolved") == 1
    assert incidents[-1].resolved_at == at_bucket(192 + 48 + 4)


def test_quiet_gap_in_event_time_resolves_on_the_next_event() -> None:
    """Empty buckets are quiet buckets: after a storm and three silent hours, the next review resolves it."""
    events = bucketed([BASE] * 16 + [STORM], start=T0)
    later = review_event(
        merchant_id="m1",
        item_id="late-1",
        created=T0 + timedelta(hours=7),
        rating=5.0,
        observed=T0 + timedelta(hours=8),
    )
    incidents = run([*events, later])
    assert statuses(incidents)[-1] == "resolved"
    assert incidents[-1].resolved_at == at_bucket(17 + 4)
    assert incidents[-1].observed_at == later.observed_at


def test_cooldown_keeps_one_storm_one_incident() -> None:
    """A flare-up right after a resolution opens nothing; a storm after the cooldown is a new incident."""
    counts = [BASE] * 16 + [STORM] + [BASE] * 4 + [STORM] + [BASE] * 3 + [STORM] + [BASE] * 5
    incidents = run(bucketed(counts, start=T0))
    opens = [i for i in incidents if i.status == "open"]
    assert [o.started_at for o in opens] == [at_bucket(16), at_bucket(16 + 1 + 4 + 1 + 3)]
    assert opens[0].incident_id != opens[1].incident_id


def test_late_events_move_the_baseline_but_never_alert() -> None:
    """Events for an already closed bucket (a second source's backfill) never open an incident."""
    events = bucketed([BASE] * 16, start=T0)
    late = bucketed([(60, 0)], start=T0 + timedelta(seconds=10 * BUCKET), prefix="late")
    current = bucketed([BASE] * 2, start=T0 + timedelta(seconds=16 * BUCKET), prefix="now")
    assert run([*events, *late, *current]) == []


def test_only_created_rated_reviews_count() -> None:
    """Edits of old reviews and items without a rating never make a spike."""
    history = bucketed([BASE] * 16, start=T0)
    storm = bucketed([STORM], start=T0 + timedelta(seconds=16 * BUCKET), prefix="s")
    edits = [dataclasses.replace(e, event_type="review.updated", event_id=e.event_id[::-1]) for e in storm]
    unrated = [dataclasses.replace(e, rating=None, event_id=e.event_id[1:] + "0") for e in storm]
    assert run([*history, *edits]) == []
    assert run([*history, *unrated]) == []


def test_strict_preset_needs_a_bigger_storm() -> None:
    """Presets trade sensitivity for noise: 12 negatives against 2 open with `sensitive`, not with `strict`."""
    events = bucketed([BASE] * 16 + [(12, 8)] + [BASE] * 6, start=T0)
    assert statuses(run(events, DetectionConfig(preset="sensitive")))[0] == "open"
    assert run(events, DetectionConfig(preset="strict")) == []


def test_a_review_dated_far_in_the_future_is_ignored() -> None:
    """A created_at years after its observation cannot move the merchant's clock: the storm after it is seen."""
    bogus = review_event(
        merchant_id="m1", item_id="bogus", created=datetime(2099, 1, 1, tzinfo=UTC), observed=T0, rating=1.0
    )
    history = bucketed([BASE] * 16, start=T0)
    rest = bucketed([STORM] + [BASE] * 6, start=T0 + timedelta(seconds=16 * BUCKET), prefix="s")
    assert statuses(run([*history, bogus, *rest]))[0] == "open"
