"""STORMWATCH_DETECTOR_MAX_BATCH: how many events the detector takes per batch, read and checked at start."""

from __future__ import annotations

import pytest

from services.shared.errors import ConfigError
from services.shared.settings import Settings


def test_detector_batch_size_comes_from_the_environment() -> None:
    """Unset it is 10,000 (large batches amortise the transaction and checkpoint under load); a value is taken as
    given; zero, negative or non-integer values are refused with the variable's name."""
    assert Settings.from_env({}).detector_max_batch == 10_000
    assert Settings.from_env({"STORMWATCH_DETECTOR_MAX_BATCH": "500"}).detector_max_batch == 500
    for bad in ("0", "-3", "many"):
        with pytest.raises(ConfigError, match="STORMWATCH_DETECTOR_MAX_BATCH"):
            Settings.from_env({"STORMWATCH_DETECTOR_MAX_BATCH": bad})
