"""Simulated time for the simulator: a clock that runs `speed` times real time, or that a test moves by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class SimClock:
    """sim_now = origin + offset + (monotonic_now - start) * speed, once started.

    A clock created with `running=False` stands at its origin until `start()`: the simulator starts its own clock
    at the first API call, so a poller that takes a few seconds to boot still finds the world at its origin.
    `SimClock.manual(origin)` never moves by itself; tests move it with `advance()`.
    """

    def __init__(
        self,
        origin: datetime,
        speed: float = 1.0,
        *,
        running: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if origin.tzinfo is None:
            raise ValueError("SimClock origin must be timezone-aware")
        if speed < 0:
            raise ValueError(f"SimClock speed must be >= 0, got {speed}")
        self.origin = origin
        self.speed = speed
        self._monotonic = monotonic
        self._start = monotonic()
        self._offset = 0.0
        self._running = running

    @classmethod
    def manual(cls, origin: datetime) -> SimClock:
        """A clock that stands still until a test calls `advance()`."""
        return cls(origin, speed=0.0)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Let simulated time flow from now on (no-op when already running)."""
        if not self._running:
            self._start = self._monotonic()
            self._running = True

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by `seconds`."""
        if seconds < 0:
            raise ValueError("simulated time never goes backwards")
        self._offset += seconds

    def elapsed_seconds(self) -> float:
        """Simulated seconds since the origin."""
        flowing = (self._monotonic() - self._start) * self.speed if self._running else 0.0
        return self._offset + flowing

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=self.elapsed_seconds())
