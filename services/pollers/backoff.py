"""Jittered exponential backoff that honours a server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before retry number `attempt` (1-based): base * factor^(attempt-1), capped, with equal jitter.

    Equal jitter (half fixed, half random) keeps retries of many sources apart without ever retrying at once.
    A server's Retry-After wins: it knows when it will accept us again, so we neither hammer it nor dawdle.
    """

    base: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    max_retry_after: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
