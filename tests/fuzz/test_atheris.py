"""Short coverage-guided atheris runs of the codec and the normalisers (CI budget; `make fuzz` runs longer).

Each target runs in its own process for ATHERIS_SECONDS (times STORMWATCH_FUZZ_EXAMPLES) from a seed corpus; a
crash (any exception but BadInput) fails the test with libFuzzer's report and the crashing input.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.atheris_seeds import SEEDS
from tests.fuzz.strategies import ROOT, scale

ATHERIS_SECONDS = 8


@pytest.mark.parametrize("target", sorted(SEEDS))
def test_atheris_finds_no_crash(target: str, tmp_path: Path) -> None:
    """libFuzzer, guided by coverage of services/, finds no input that makes the target raise anything but
    BadInput within the time budget."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = SEEDS[target] or [path.read_bytes() for path in sorted((ROOT / "schemas" / "examples").glob("*.json"))]
    for index, seed in enumerate(seeds):
        (corpus / f"seed-{index}").write_bytes(seed)
    seconds = max(1, int(ATHERIS_SECONDS * scale()))
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.atheris_targets", target, f"-max_total_time={seconds}",
         f"-artifact_prefix={tmp_path}/", "-rss_limit_mb=1024", "-print_final_stats=1", str(corpus)],
        cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr and "runs in" in result.stderr, result.stderr[-2000:]
    assert not list(tmp_path.glob("crash-*"))
