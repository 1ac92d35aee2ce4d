"""The config file's `delivery:` section: the alerter's retry budget, its defaults and the errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from services.alerter.backoff import DeliveryPolicy
from services.shared.config import DeliveryConfig, parse_config
from services.shared.errors import ConfigError


def document(**delivery: Any) -> dict[str, Any]:
    """A minimal valid config, with `delivery:` set to the given keys (none: the section is left out)."""
    doc: dict[str, Any] = {
        "merchants": [{"id": "shop"}],
        "receivers": [{"name": "ops", "type": "log"}],
        "route": {"receivers": ["ops"]},
    }
    if delivery:
        doc["delivery"] = delivery
    return doc


def test_without_a_delivery_section_the_production_budget_applies() -> None:
    """No `delivery:` gives 10 attempts, 2 s doubling to 300 s (about 14 minutes of trying), a 30 s send timeout,
    a 90 s lease and 4 sends in flight per receiver; the alerter's default policy is the same."""
    config = parse_config(document(), env={})
    assert config.delivery == DeliveryConfig(
        max_attempts=10,
        initial_backoff_seconds=2.0,
        max_backoff_seconds=300.0,
        send_timeout_seconds=30.0,
        lease_seconds=90.0,
        max_in_flight_per_receiver=4,
    )
    policy = DeliveryPolicy.from_config(config.delivery)
    assert policy == DeliveryPolicy()
    assert 13 * 60 < policy.budget_seconds() < 15 * 60


def test_delivery_keys_take_durations_like_routes() -> None:
    """Durations are numbers of seconds or strings like `500ms`, `30s`, `15m`; the policy the alerter builds from
    the section carries every value, and unset keys keep their defaults."""
    config = parse_config(
        document(max_attempts=20, initial_backoff="500ms", max_backoff="1m", send_timeout=10, lease="2m"), env={}
    )
    assert config.delivery == DeliveryConfig(
        max_attempts=20,
        initial_backoff_seconds=0.5,
        max_backoff_seconds=60.0,
        send_timeout_seconds=10.0,
        lease_seconds=120.0,
        max_in_flight_per_receiver=4,
    )
    policy = DeliveryPolicy.from_config(config.delivery)
    assert (policy.max_attempts, policy.initial_backoff_seconds, policy.max_backoff_seconds) == (20, 0.5, 60.0)
    assert (policy.send_timeout_seconds, policy.lease_seconds, policy.max_in_flight_per_receiver) == (10.0, 120.0, 4)


@pytest.mark.parametrize(
    ("delivery", "where", "says"),
    [
        ({"max_attempts": 0}, "delivery.max_attempts", "minimum"),
        ({"max_attempts": 2.5}, "delivery.max_attempts", "integer"),
        ({"max_in_flight_per_receiver": 0}, "delivery.max_in_flight_per_receiver", "minimum"),
        ({"initial_backoff": "soon"}, "delivery.initial_backoff", "valid"),
        ({"initial_backoff": 0}, "delivery.initial_backoff", "longer than 0s"),
        ({"initial_backoff": "10s", "max_backoff": "5s"}, "delivery.max_backoff", "shorter than initial_backoff"),
        ({"send_timeout": 0}, "delivery.send_timeout", "longer than 0s"),
        ({"send_timeout": "30s", "lease": "30s"}, "delivery.lease", "longer than send_timeout"),
        ({"lease": "20s"}, "delivery.lease", "longer than send_timeout (30s)"),
        ({"retries": 3}, "delivery", "retries"),
    ],
)
def test_bad_delivery_settings_name_the_key(delivery: dict[str, Any], where: str, says: str) -> None:
    """Each bad value raises ConfigError starting with its key path and saying what is wrong, including settings
    that are fine alone but not together (a lease no longer than a send could send twice)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(document(**delivery), env={})
    message = str(caught.value)
    assert message.startswith(where), message
    assert says in message, message
