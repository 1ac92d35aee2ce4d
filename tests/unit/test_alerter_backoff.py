"""The delivery policy: the backoff schedule, jitter bounds, Retry-After, and policy validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.alerter.backoff import DeliveryPolicy, backoff_delay
from services.shared.retry_after import parse_retry_after

NOW = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


def _middle() -> float:
    """A random draw of 0.5 means no jitter either way."""
    return 0.5


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    """Without jitter the default schedule after failed attempts 1..8 is 2, 4, 8, ... seconds, capped at 300."""
    policy = DeliveryPolicy()
    delays = [backoff_delay(policy, attempt, rand=_middle) for attempt in range(1, 10)]
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_default_budget_rides_out_a_quarter_hour_of_receiver_faults() -> None:
    """The default policy makes 10 attempts; the 9 waits between them (2 s doubling, capped at 300 s) add up to
    810 s, about 14 minutes, before a notification is given up and dead-lettered."""
    policy = DeliveryPolicy()
    assert policy.max_attempts == 10
    assert policy.budget_seconds() == 810
    assert DeliveryPolicy(max_attempts=3, initial_backoff_seconds=0.1).budget_seconds() == pytest.approx(0.3)


def test_jitter_stays_within_its_fraction() -> None:
    """Jitter moves a delay by at most +/- the configured fraction (20 % by default)."""
    policy = DeliveryPolicy()
    assert backoff_delay(policy, 3, rand=lambda: 0.0) == pytest.approx(8 * 0.8)
    assert backoff_delay(policy, 3, rand=lambda: 1.0) == pytest.approx(8 * 1.2)


def test_retry_after_is_a_floor_with_a_cap() -> None:
    """A receiver's Retry-After longer than the backoff is honoured; a shorter one does not shorten the backoff;
    an absurd one is capped so a hostile header cannot park a notification forever."""
    policy = DeliveryPolicy(max_retry_after_seconds=600)
    assert backoff_delay(policy, 1, retry_after=45, rand=_middle) == 45
    assert backoff_delay(policy, 3, retry_after=1, rand=_middle) == 8
    assert backoff_delay(policy, 1, retry_after=86400, rand=_middle) == 600


def test_retry_after_parses_seconds_and_http_dates() -> None:
    """Retry-After is delta-seconds or an HTTP-date; anything else is ignored."""
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Sun, 01 Mar 2026 10:00:30 GMT", NOW) == 30
    assert parse_retry_after("Sun, 01 Mar 2026 09:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_policy_rejects_settings_that_break_delivery() -> None:
    """A lease must outlast a send (or a live send could be claimed and sent twice); budgets must be positive."""
    with pytest.raises(ValueError, match="lease_seconds"):
        DeliveryPolicy(send_timeout_seconds=30, lease_seconds=10)
    with pytest.raises(ValueError, match="max_attempts"):
        DeliveryPolicy(max_attempts=0)
