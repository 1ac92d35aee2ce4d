"""The labelled evaluation suite, with tolerances: a change that makes detection worse fails here.

Figures are in BENCHMARKS.md ("## Detector"); `python -m bench.bench_detector_eval` prints them.
"""

from __future__ import annotations

import pytest

from services.detector.scenarios import SCENARIOS, Scenario, ScenarioResult, evaluate
from services.shared.config import DetectionConfig

BUILT: dict[str, Scenario] = {build.__name__: build() for build in SCENARIOS}
# The longest acceptable delay per scenario (seconds from the moment the responder wants the page).
MAX_DELAY = {
    "blog_post_storm": 3600.0,
    "salad_video": 3600.0,
    "thread_turns_positive": 3600.0,
    "logistics_spike": 2 * 3600.0,
    "slow_burn": 3 * 86400.0,
}
NO_PAGE = ("sale_day", "seasonality", "quiet_merchant", "ordinary_thread")


def _result(name: str, preset: str) -> ScenarioResult:
    return evaluate(BUILT[name], DetectionConfig(preset=preset))[0]


@pytest.mark.parametrize("preset", ["sensitive", "balanced", "strict"])
@pytest.mark.parametrize("name", sorted(MAX_DELAY))
def test_storms_are_paged_in_time_without_false_alarms(name: str, preset: str) -> None:
    """Every storm of the suite is detected under every preset, within its delay bound, with no other page."""
    result = _result(name, preset)
    assert result.detected == result.expected_pages == 1, result
    assert max(result.delays_seconds) <= MAX_DELAY[name], result
    assert result.false_alarms == 0, result


@pytest.mark.parametrize("preset", ["sensitive", "balanced", "strict"])
@pytest.mark.parametrize("name", NO_PAGE)
def test_ordinary_traffic_pages_nobody(name: str, preset: str) -> None:
    """A sale day, weekend and night seasonality, a quiet merchant's bad day and an ordinary complaint thread page
    nobody under any preset."""
    assert _result(name, preset).false_alarms == 0


def test_viral_storms_are_flagged_within_minutes_under_balanced() -> None:
    """Under the default preset the blog post and the salad video are flagged within 15 minutes of starting."""
    for name in ("blog_post_storm", "salad_video"):
        assert max(_result(name, "balanced").delays_seconds) <= 15 * 60


def test_thread_that_turns_friendly_is_deescalated() -> None:
    """The viral thread whose replies turn friendly gets a de-escalating update (severity info) after the turn."""
    assert _result("thread_turns_positive", "balanced").deescalated is True
