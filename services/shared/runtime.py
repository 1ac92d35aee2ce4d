"""Process-wide interpreter settings for a long-running service (applied by the service entry points)."""

from __future__ import annotations

import gc

# Allocations between two young-generation collections (CPython's default is 700).
YOUNG_COLLECTION_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Collect cycles less often, and never walk what start-up built.

    The detector allocates some twenty short-lived objects per event and keeps hundreds of thousands of long-lived
    state objects (per merchant: baselines, scopes, timers). With the default threshold a young collection runs
    every ~35 events and older generations regularly walk the whole state: about a seventh of the detector's CPU
    (`bench/bench_detector_cpu.py`). Its objects form trees, not cycles, so collecting rarely frees nothing later
    than it would have been freed; `gc.freeze()` moves the modules, config and loaded models out of every walk.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
