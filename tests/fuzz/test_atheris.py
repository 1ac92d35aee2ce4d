"""Short coverage-guided atheris runs of the codec and the normalisers (CI budget; `make fuzz` runs longer).

Each target runs in its own process for ATHERIS_SECONDS (times STORMWATCH_FUZZ_EXAMPLES) from a seed corpus; a
crash (any exception but BadInput) fails the test with libFuzzer's report and the crashing input.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fuzz.atheris_seeds import SEEDS
from tests.fuzz.strategies import ROOT, scale

ATHERIS_SECONDS = 8


@dataclass(frozen=True)
class Run:
    folder: Path
    returncode: int
    stderr: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every target's run, started side by side: each is one single-threaded process with a wall-clock budget, so
    on a machine with a core per target each gets the same budget as alone, in half the suite's time."""
    started: dict[str, tuple[Path, subprocess.Popen[bytes]]] = {}
    seconds = max(1, int(ATHERIS_SECONDS * scale()))
    try:
        for target in sorted(SEEDS):
            folder = tmp_path_factory.mktemp(f"atheris-{target}")
            corpus = folder / "corpus"
            corpus.mkdir()
            examples = sorted((ROOT / "schemas" / "examples").glob("*.json"))
            seeds = SEEDS[target] or [path.read_bytes() for path in examples]
            for index, seed in enumerate(seeds):
                (corpus / f"seed-{index}").write_bytes(seed)
            # libFuzzer reports on stderr: into a file, so a full pipe never stalls one run while we wait on another.
            with (folder / "stderr.txt").open("wb") as report:
                process = subprocess.Popen(
                    [sys.executable, "-m", "tests.fuzz.atheris_targets", target, f"-max_total_time={seconds}",
                     f"-artifact_prefix={folder}/", "-rss_limit_mb=1024", "-print_final_stats=1", str(corpus)],
                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=report,
                )  # fmt: skip
            started[target] = (folder, process)
        results = {}
        for target, (folder, process) in started.items():
            process.wait(timeout=seconds + 120)
            stderr = (folder / "stderr.txt").read_text(errors="replace")
            results[target] = Run(folder, process.returncode, stderr)
        return results
    finally:
        for _folder, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("target", sorted(SEEDS))
def test_atheris_finds_no_crash(target: str, runs: dict[str, Run]) -> None:
    """libFuzzer, guided by coverage of services/, finds no input that makes the target raise anything but
    BadInput within the time budget."""
    result = runs[target]
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr and "runs in" in result.stderr, result.stderr[-2000:]
    assert not list(result.folder.glob("crash-*"))
