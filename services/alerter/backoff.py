"""The delivery policy: retry budget and exponential backoff with jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from services.shared.config import DeliveryConfig

# The production defaults live with the config file's `delivery:` section, so the file and the code agree.
_DEFAULTS = DeliveryConfig()


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the alerter tries. Defaults suit production (about 14 minutes over 10 attempts); the config file's
    `delivery:` section sets the budget (`from_config`); tests shrink the budget and the delays."""

    max_attempts: int = _DEFAULTS.max_attempts
    initial_backoff_seconds: float = _DEFAULTS.initial_backoff_seconds
    backoff_multiplier: float = 2.0
    max_backoff_seconds: float = _DEFAULTS.max_backoff_seconds
    # +/- this fraction of the delay, so receivers that failed together do not retry in lockstep.
    jitter: float = 0.2
    # A receiver may ask for a long pause; beyond this we stop trusting it (a hostile header must not park us).
    max_retry_after_seconds: float = 3600.0
    # The delivery worker's own bound on one send, on top of each notifier's timeout.
    send_timeout_seconds: float = _DEFAULTS.send_timeout_seconds
    # A claimed ('sending') row whose sender vanished becomes due again after this long.
    lease_seconds: float = _DEFAULTS.lease_seconds
    max_in_flight_per_receiver: int = _DEFAULTS.max_in_flight_per_receiver
    # How often each receiver's lane looks for due work when nobody wakes it (retries, other replicas' work).
    poll_interval_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_in_flight_per_receiver < 1:
            raise ValueError("max_in_flight_per_receiver must be at least 1")
        if self.lease_seconds <= self.send_timeout_seconds:
            # Otherwise a slow but live send could be claimed again by another replica and sent twice.
            raise ValueError("lease_seconds must exceed send_timeout_seconds")

    @classmethod
    def from_config(cls, config: DeliveryConfig) -> DeliveryPolicy:
        """The policy the config file's `delivery:` section asks for; the other knobs keep their defaults."""
        return cls(
            max_attempts=config.max_attempts,
            initial_backoff_seconds=config.initial_backoff_seconds,
            max_backoff_seconds=config.max_backoff_seconds,
            send_timeout_seconds=config.send_timeout_seconds,
            lease_seconds=config.lease_seconds,
            max_in_flight_per_receiver=config.max_in_flight_per_receiver,
        )

    def budget_seconds(self) -> float:
        """Seconds of backoff (no jitter, no Retry-After) between the first attempt and the last."""
        return sum(backoff_delay(self, failed, rand=lambda: 0.5) for failed in range(1, self.max_attempts))


def backoff_delay(
    policy: DeliveryPolicy,
    failed_attempts: int,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the `failed_attempts`-th failed attempt (1-based).

    Exponential from `initial_backoff_seconds`, capped at `max_backoff_seconds`, jittered by +/- `jitter`; a
    Retry-After from the receiver is honoured as a floor (capped at `max_retry_after_seconds`).
    """
    exponent = max(0, failed_attempts - 1)
    base = min(policy.max_backoff_seconds, policy.initial_backoff_seconds * policy.backoff_multiplier**exponent)
    delay = base * (1.0 + policy.jitter * (2.0 * rand() - 1.0))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after_seconds))
    return max(0.0, delay)
