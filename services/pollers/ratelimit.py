"""Client-side rate limiting: one token bucket per platform credential, shared by every source using it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

_EPSILON = 1e-9
_MIN_WAIT = 1e-3


class TokenBucket:
    """`rate` tokens per second up to `burst`; `acquire()` waits for a token and says how long it waited.

    `block_for()` empties the bucket for a while: after a 429 with Retry-After, every source sharing the credential
    waits, not only the one that was told off.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._blocked_until = float("-inf")
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def block_for(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._tokens = 0.0
        self._updated = self._clock()

    async def acquire(self) -> float:
        """Take one token, waiting as needed; returns the seconds waited (0.0 when a token was at hand)."""
        waited = 0.0
        # One waiter at a time: tokens go out in arrival order, so no source starves.
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    delay = max(self._blocked_until - now, _MIN_WAIT)
                else:
                    self._refill()
                    # The epsilon absorbs float rounding: without it a refill to 0.999... could spin forever.
                    if self._tokens >= 1.0 - _EPSILON:
                        self._tokens = max(0.0, self._tokens - 1.0)
                        return waited
                    delay = max((1.0 - self._tokens) / self.rate, _MIN_WAIT)
                await self._sleep(delay)
                waited += delay


class RateLimiters:
    """The buckets of one process, keyed by credential: two sources with the same API key share one bucket."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, credential_id: str, rate: float, burst: float) -> TokenBucket:
        found = self._buckets.get(credential_id)
        if found is None:
            found = self._buckets[credential_id] = TokenBucket(rate, burst)
        return found
