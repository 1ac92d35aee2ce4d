"""The simulator's scenario, timeline and clock: deterministic, seasonal, stormy, and strict about its YAML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.shared.errors import ConfigError
from services.simulator.clock import SimClock
from services.simulator.scenario import (
    Faults,
    MerchantProfile,
    Scenario,
    TrustpilotAccount,
    demo_scenario,
    load_scenario,
    parse_scenario,
)
from services.simulator.texts import PHRASEBOOKS
from services.simulator.timeline import MALFORMATIONS, SimReview, generate_platform_timeline, generate_timeline

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday


def test_same_seed_gives_the_same_reviews() -> None:
    """Two timelines of the same scenario are identical, review for review; another seed gives other reviews."""
    first = generate_timeline(demo_scenario(origin=ORIGIN)).all("demo-shop")
    second = generate_timeline(demo_scenario(origin=ORIGIN)).all("demo-shop")
    other = generate_timeline(demo_scenario(origin=ORIGIN, seed=8)).all("demo-shop")
    assert first == second
    assert [r.id for r in first] != [r.id for r in other]


def test_demo_scenario_matches_its_description() -> None:
    """The demo: demo-shop on bu-demo-shop, about 24 reviews an hour over 48 h of history, en/de/nl, sorted."""
    scenario = demo_scenario(origin=ORIGIN)
    reviews = generate_timeline(scenario).all("demo-shop")
    history = [r for r in reviews if r.created_at <= ORIGIN]
    assert scenario.merchant("demo-shop").timezone == "Europe/Amsterdam"
    assert {r.business_unit_id for r in reviews} == {"bu-demo-shop"}
    assert 18 <= len(history) / 48 <= 30
    assert reviews[0].created_at >= ORIGIN - timedelta(hours=48)
    assert reviews[-1].created_at < ORIGIN + timedelta(hours=6)
    # An international shop: texts in every language the classifier supports.
    assert {r.language for r in reviews} == {"en", "de", "nl", "fr", "ru", "zh", "es", "it", "pl", "tr", "ja"}
    assert [(r.created_at, r.id) for r in reviews] == sorted((r.created_at, r.id) for r in reviews)
    assert len({r.id for r in reviews}) == len(reviews)
    baseline_negative = [r for r in history if r.stars <= 2]
    assert 0.05 <= len(baseline_negative) / len(history) <= 0.16


def test_night_is_quieter_than_the_evening() -> None:
    """Seasonality: the local night rate is lower than the local evening rate, in the profile and in the data."""
    merchant = demo_scenario(origin=ORIGIN).merchant("demo-shop")
    zone = ZoneInfo(merchant.timezone)
    night = datetime(2026, 11, 3, 3, 30, tzinfo=zone)
    evening = datetime(2026, 11, 3, 20, 30, tzinfo=zone)
    assert merchant.baseline_rate_per_hour(night) < merchant.baseline_rate_per_hour(evening) / 3

    reviews = generate_timeline(demo_scenario(origin=ORIGIN)).all("demo-shop")
    hours = [r.created_at.astimezone(zone).hour for r in reviews if not r.storm]
    assert sum(1 for h in hours if 1 <= h < 5) < sum(1 for h in hours if 18 <= h < 22)


def test_storm_window_adds_negative_reviews() -> None:
    """During the storm, negative reviews arrive many times faster than in the hour before, mostly logistics."""
    scenario = demo_scenario(origin=ORIGIN)
    reviews = generate_timeline(scenario).all("demo-shop")
    storm_start, storm_end = ORIGIN + timedelta(minutes=20), ORIGIN + timedelta(minutes=65)
    before_start = storm_start - timedelta(minutes=45)
    during = [r for r in reviews if storm_start <= r.created_at < storm_end and r.stars <= 2]
    before = [r for r in reviews if before_start <= r.created_at < storm_start and r.stars <= 2]
    assert len(during) >= 60  # ~120/h for 45 minutes, plus the baseline's share
    assert len(during) > 5 * max(1, len(before))
    storm_reviews = [r for r in reviews if r.storm]
    assert all(r.stars <= 2 for r in storm_reviews)
    assert sum(r.category == "logistics" for r in storm_reviews) / len(storm_reviews) > 0.75


def test_texts_fit_the_stars() -> None:
    """Negative reviews use the complaint phrases of their category; positive ones never do."""
    reviews = generate_timeline(demo_scenario(origin=ORIGIN)).all("demo-shop")
    for review in reviews:
        book = PHRASEBOOKS[review.language]
        complaints = [s for sentences in book.negative_sentences.values() for s in sentences]
        if review.stars <= 2:
            assert review.category is not None
            assert any(s in review.text for s in book.negative_sentences[review.category])
        elif review.stars >= 4:
            assert not any(s in review.text for s in complaints)


def test_every_nth_review_is_served_malformed() -> None:
    """malformed_every=N marks exactly reviews N, 2N, ... (per merchant, in creation order), rotating the kinds."""
    scenario = demo_scenario(origin=ORIGIN)
    reviews = generate_timeline(scenario).all("demo-shop")
    every = scenario.faults.malformed_every
    marked = [i for i, r in enumerate(reviews, start=1) if r.malformed is not None]
    assert marked == list(range(every, len(reviews) + 1, every))
    assert {r.malformed for r in reviews if r.malformed} == set(MALFORMATIONS)


def test_load_scenario_reads_yaml(tmp_path: Path) -> None:
    """A scenario file with merchants, storms and faults becomes the matching Scenario."""
    path = tmp_path / "scenario.yaml"
    path.write_text(
        """
seed: 3
origin: "2026-11-02T12:00:00Z"
speed: 60
history_hours: 2
duration_hours: 1
faults: {malformed_every: 5, rate_limit_every: 7}
merchants:
  - id: shop
    timezone: Europe/Berlin
    trustpilot: {business_unit_id: bu-shop}
    baseline_per_hour: 30
    languages: {de: 1}
    storms:
      - {start_minutes: 10, duration_minutes: 20, extra_negative_per_hour: 90, category: quality}
""",
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    assert scenario.seed == 3 and scenario.speed == 60 and scenario.origin == ORIGIN
    assert scenario.faults == Faults(malformed_every=5, rate_limit_every=7)
    merchant = scenario.merchant("shop")
    assert merchant.trustpilot == TrustpilotAccount("bu-shop")
    assert merchant.storms[0].start_offset_seconds == 600 and merchant.storms[0].category == "quality"
    assert {r.language for r in generate_timeline(scenario).all("shop")} == {"de"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("merchants: [{id: s, trustpilot: {business_unit_id: b}, timezone: Mars/Olympus}]", "merchants[0].timezone"),
        ("merchants: [{id: s, trustpilot: {business_unit_id: b}, colour: red}]", "merchants[0]"),
        ("merchants: [{id: s, trustpilot: {business_unit_id: b}, languages: {xx: 1}}]", "merchants[0].languages.xx"),
        ("merchants: [{id: s, trustpilot: {}}]", "merchants[0].trustpilot"),
        ("merchants: [{id: s, trustpilot: {business_unit_id: b}}]\nfaults: {malformed_every: -1}", "faults"),
        ("merchants: []", "merchants"),
    ],
)
def test_load_scenario_errors_name_the_bad_key(tmp_path: Path, text: str, key: str) -> None:
    """A bad scenario file is refused with a ConfigError naming the file and the offending key."""
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    assert key in str(caught.value)


def test_manual_clock_moves_only_when_told() -> None:
    """A manual SimClock stands at its origin until advanced, and never goes backwards."""
    clock = SimClock.manual(ORIGIN)
    assert clock.now() == ORIGIN
    clock.advance(90)
    assert clock.now() == ORIGIN + timedelta(seconds=90)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_running_clock_scales_real_time_by_speed() -> None:
    """sim_now = origin + elapsed * speed, counted from start() for a clock created stopped."""
    now = [100.0]
    clock = SimClock(ORIGIN, speed=120, running=False, monotonic=lambda: now[0])
    now[0] = 105.0
    assert clock.now() == ORIGIN  # not started yet
    clock.start()
    now[0] = 107.5
    assert clock.now() == ORIGIN + timedelta(seconds=300)


def test_scenario_visibility_follows_the_clock() -> None:
    """Only reviews created at or before the simulated now are visible."""
    merchant = MerchantProfile("m", "M", "UTC", TrustpilotAccount("bu-m"), baseline_per_hour=60)
    scenario = Scenario(merchants=(merchant,), origin=ORIGIN, history_seconds=3600, duration_seconds=3600)
    timeline = generate_timeline(scenario)
    visible = timeline.visible("m", ORIGIN)
    assert visible and all(r.created_at <= ORIGIN for r in visible)
    assert len(timeline.visible("m", ORIGIN + timedelta(hours=1))) == len(timeline.all("m"))


def _storm_document(platform: str | None, **sections: object) -> dict[str, object]:
    storm: dict[str, object] = {"start_minutes": 30, "duration_minutes": 60, "extra_negative_per_hour": 120}
    if platform is not None:
        storm["platform"] = platform
    merchant = {"id": "m", "trustpilot": {"business_unit_id": "bu-m"}, "baseline_per_hour": 6, "storms": [storm]}
    return {
        "origin": "2026-11-02T12:00:00Z",
        "history_hours": 2,
        "duration_hours": 3,
        "merchants": [{**merchant, **sections}],
    }


def test_a_storm_can_hit_one_named_platform_only() -> None:
    """`storms[].platform` puts the spike of negative reviews on that platform (Google Play here): its timeline gets
    the extra one- and two-star reviews inside the window, while Trustpilot's is the same as with no storm at all;
    without `platform` the storm stays on Trustpilot, as before."""
    play = {"google_play": {"package_name": "com.m.app", "baseline_per_hour": 6}}
    on_play = parse_scenario(_storm_document("google_play", **play))
    on_trustpilot = parse_scenario(_storm_document(None, **play))
    window_start, window_end = ORIGIN + timedelta(minutes=30), ORIGIN + timedelta(minutes=90)

    def negatives_in_window(reviews: tuple[SimReview, ...]) -> int:
        return len([r for r in reviews if window_start <= r.created_at < window_end and r.stars <= 2])

    rates = {"m": 6.0}
    play_stormy = generate_platform_timeline(on_play, "google_play", rates).all("m")
    play_calm = generate_platform_timeline(on_trustpilot, "google_play", rates).all("m")
    assert negatives_in_window(play_stormy) >= negatives_in_window(play_calm) + 60
    assert generate_timeline(on_play).all("m") != generate_timeline(on_trustpilot).all("m")
    no_storm = _storm_document(None, **play)
    no_storm["merchants"] = [{"id": "m", "trustpilot": {"business_unit_id": "bu-m"}, "baseline_per_hour": 6, **play}]
    calm = parse_scenario(no_storm)
    assert generate_timeline(on_play).all("m") == generate_timeline(calm).all("m")
    assert negatives_in_window(generate_timeline(on_trustpilot).all("m")) >= 60


def test_a_storm_on_a_platform_the_merchant_is_not_on_is_an_error() -> None:
    """A storm naming a platform without the merchant's section for it, or an unknown platform, names the key."""
    with pytest.raises(ConfigError, match=r"merchants\[0\]\.storms\[0\]\.platform: taobao needs .*taobao"):
        parse_scenario(_storm_document("taobao"))
    with pytest.raises(ConfigError, match="storms"):
        parse_scenario(_storm_document("amazon"))
