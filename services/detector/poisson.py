"""Poisson tail probabilities and upper quantiles with the standard library only (no scipy on the hot path)."""

from __future__ import annotations

import math
from statistics import NormalDist

# Above this mean the exact sum needs hundreds of terms; the Cornish-Fisher approximation is then within one count.
_EXACT_UP_TO = 60.0


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed exactly (use for modest means)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    term = math.exp(-mean)
    below = term
    for i in range(1, k):
        term *= mean / i
        below += term
    return max(0.0, 1.0 - below)


def poisson_upper_quantile(mean: float, alpha: float) -> int:
    """The smallest q with P(X > q) <= alpha: counts above q are surprising at significance alpha."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if mean <= 0:
        return 0
    if mean > _EXACT_UP_TO:
        z = NormalDist().inv_cdf(1.0 - alpha)
        # Cornish-Fisher expansion of the Poisson quantile: skewness adds (z^2 - 1) / 6.
        return max(0, math.ceil(mean + z * math.sqrt(mean) + (z * z - 1.0) / 6.0))
    term = math.exp(-mean)
    cumulative = term
    q = 0
    # P(X > q) = 1 - P(X <= q); the loop ends well before q = mean + 10 sqrt(mean) + 30 for any alpha >= 1e-12.
    while 1.0 - cumulative > alpha:
        q += 1
        term *= mean / q
        cumulative += term
    return q
