"""The rating-drop rule confirms a drop for one bucket before paging, so a storm is paged once, as a spike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from services.detector.backtest import backtest
from services.detector.engine import engine_for
from services.shared import codec
from services.shared.config import parse_config
from services.shared.events import ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import demo_scenario

# A demo world whose logistics storm starts four minutes before a 15-minute bucket boundary: the short rating
# average sank below the threshold just after the boundary, while the spike rule's new bucket held too few
# negatives yet, and a rating_drop was paged two minutes before the spike for the same storm.
STRADDLING_ORIGIN = datetime(2026, 11, 11, 15, 36, tzinfo=UTC)


def _demo_events(origin: datetime) -> list[bytes]:
    """Every well-formed review of the demo world's first three hours, as review events in creation order."""
    world = SimulatorApp(
        demo_scenario(speed=1, origin=origin),
        registry=CollectorRegistry(),
        clock=SimClock.manual(origin + timedelta(hours=3)),
    )
    reviews = sorted(
        (r for r in world.visible_reviews(platform=None) if r.malformed is None), key=lambda r: r.created_at
    )
    lines = []
    for review in reviews:
        at = format_rfc3339(review.created_at)
        event = ReviewEvent(
            event_id=deterministic_id(review.platform, review.id),
            event_type="review.created",
            merchant_id="demo-shop",
            platform=review.platform,
            source_id=f"demo-shop/{review.platform}",
            item_id=review.id,
            kind="review",
            created_at=at,
            observed_at=at,
            rating=float(review.stars),
            text=review.text,
            language=review.language,
        )
        lines.append(codec.encode_review(event))
    return lines


def test_a_storm_straddling_a_bucket_boundary_is_one_spike_incident() -> None:
    """The demo storm that once opened a rating_drop before its spike now opens exactly one incident, the spike."""
    config = parse_config(
        {
            "merchants": [{"id": "demo-shop", "name": "Demo Shop", "timezone": "Europe/Amsterdam"}],
            "detection": {"preset": "balanced", "bucket_seconds": 900},
        }
    )
    incidents = list(backtest(_demo_events(STRADDLING_ORIGIN), engine_for(config)))
    opened = [(incident.kind, incident.status) for incident in incidents if incident.version == 1]
    assert opened == [("negative_spike", "open")]
