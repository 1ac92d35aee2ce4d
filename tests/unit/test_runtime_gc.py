"""The services' garbage-collector settings: young collections rarer, start-up objects frozen out of every walk."""

from __future__ import annotations

import subprocess
import sys

from services.shared.runtime import YOUNG_COLLECTION_THRESHOLD


def test_tuning_raises_the_young_threshold_and_freezes_start_up_objects() -> None:
    """In a fresh interpreter (the setting is process-wide): after tuning, a young collection waits for
    YOUNG_COLLECTION_THRESHOLD allocations, the older thresholds are CPython's, and start-up objects are frozen."""
    script = (
        "import gc; before = gc.get_threshold(); "
        "from services.shared.runtime import tune_garbage_collector; tune_garbage_collector(); "
        "print(before[1], before[2], *gc.get_threshold(), gc.get_freeze_count())"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    middle, old, young_after, middle_after, old_after, frozen = map(int, result.stdout.split())
    assert young_after == YOUNG_COLLECTION_THRESHOLD
    assert (middle_after, old_after) == (middle, old)
    assert frozen > 1000
