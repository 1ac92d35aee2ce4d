"""The Poisson bound behind the spike rule, computed with the standard library only."""

from __future__ import annotations

import math

import pytest

from services.detector.poisson import poisson_tail, poisson_upper_quantile


def _tail_exact(k: int, mean: float) -> float:
    """P(X >= k) summed upwards in log space: an independent reference, free of overflow and cancellation."""
    return sum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k, k + 2000))


@pytest.mark.parametrize("mean", [0.05, 0.6, 1.0, 2.0, 7.5, 30.0, 59.0])
@pytest.mark.parametrize("alpha", [1e-2, 1e-3, 1e-4, 1e-6])
def test_quantile_is_the_smallest_count_with_tail_below_alpha(mean: float, alpha: float) -> None:
    """q is the smallest count with P(X > q) <= alpha: q itself passes, q - 1 does not."""
    q = poisson_upper_quantile(mean, alpha)
    assert _tail_exact(q + 1, mean) <= alpha
    assert q == 0 or _tail_exact(q, mean) > alpha


def test_small_counts_are_not_surprising() -> None:
    """3 negatives where 1 is expected is ordinary; 300 where 100 are expected is not."""
    assert poisson_upper_quantile(1.0, 1e-4) >= 3
    assert poisson_upper_quantile(100.0, 1e-4) < 300


def test_large_means_use_an_accurate_approximation() -> None:
    """Above the exact range the approximation stays within a count or two of the exact quantile."""
    for mean in (61.0, 100.0, 400.0):
        q = poisson_upper_quantile(mean, 1e-4)
        exact = next(k for k in range(int(mean), int(mean * 3)) if _tail_exact(k + 1, mean) <= 1e-4)
        assert abs(q - exact) <= 2


def test_tail_and_edge_cases() -> None:
    """P(X >= 0) is 1, a zero mean never exceeds 0, and alpha outside (0, 1) is rejected."""
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(1, 0.0) == 0.0
    assert poisson_tail(2, 1.0) == pytest.approx(1 - 2 * math.exp(-1))
    assert poisson_upper_quantile(0.0, 1e-3) == 0
    with pytest.raises(ValueError, match="alpha"):
        poisson_upper_quantile(1.0, 0.0)
