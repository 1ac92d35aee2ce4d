"""`stormwatch run` as a user runs it: zero configuration, the demo storm paged, nothing left running afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from services.pollers.adapters.registry import ADAPTERS

STORMWATCH = [sys.executable, "-m", "services.cli"]


def _clean_env() -> dict[str, str]:
    """The environment of a new user: no broker, database, token or config configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_", "STORMWATCH_"))}
    env["STORMWATCH_LOG_FORMAT"] = "json"
    return env


def _our_processes(marker: str) -> list[str]:
    """Command lines of live processes that mention `marker` (the run's private state folder or broker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and entry.name != str(os.getpid()):
            found.append(cmdline)
    return found


def _orphaned_brokers() -> set[int]:
    """Tansu processes whose parent died (re-parented to init): what a run that leaked its broker leaves."""
    orphans = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if b"tansu" in cmdline and parent == 1:
            orphans.add(int(entry.name))
    return orphans


def _notifications(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.mark.e2e
def test_run_for_seconds_pages_the_demo_storm_and_cleans_up(tmp_path: Path) -> None:
    """With no configuration, `run --for` shows the demo storm's incident open and resolve, notifies the file
    receiver once per incident state, exits 0, and leaves no broker or database process behind."""
    state = tmp_path / "state"
    notify = tmp_path / "notifications.jsonl"
    brokers_before = _orphaned_brokers()
    result = subprocess.run(
        [
            *STORMWATCH,
            "run",
            "--for",
            "45",
            "--http-port",
            "0",
            "--speed",
            "600",
            "--state-dir",
            str(state),
            "--notify-file",
            str(notify),
        ],
        env=_clean_env(),
        capture_output=True,
        timeout=180,
        check=False,
    )
    output = result.stdout.decode(errors="replace")
    assert result.returncode == 0, output[-3000:] + result.stderr.decode(errors="replace")[-3000:]
    assert "Stormwatch is running the built-in demo" in output
    assert "API token (generated)" in output

    lines = _notifications(notify)
    states = [(n["incident"]["incident_id"], n["incident"]["version"], n["incident"]["status"]) for n in lines]  # type: ignore[index]
    assert len(states) == len(set(states)), "a notification was delivered twice"
    assert states and states[0][2] == "open"
    # The storm's incident opened and resolved, each of its states delivered once. (Exactly one incident is pinned
    # by tests/e2e/test_pipeline.py on a fixed simulated world; this run's world starts at the current minute.)
    storm = {s[0] for s in states if s[2] == "open"} & {s[0] for s in states if s[2] == "resolved"}
    assert storm, f"no incident both opened and resolved: {states}"
    # Reviews flowed from every platform the demo merchant is on (the world starts at the current minute and its
    # clock runs 600x ahead of the pollers': a Taobao horizon computed without margin once refused every poll).
    assert _platforms_published(output) == set(ADAPTERS)
    assert _our_processes(str(state)) == []
    assert _orphaned_brokers() - brokers_before == set()


def _platforms_published(output: str) -> set[str]:
    """Platforms with at least one poll that published something, from the run's JSON log lines."""
    found = set()
    for line in output.splitlines():
        if '"event":"poll"' not in line:
            continue
        entry = orjson.loads(line)
        if entry.get("published", 0) > 0:
            found.add(entry["platform"])
    return found


@pytest.mark.e2e
def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) after start-up stops the pipeline cleanly: exit 0 and no broker or PostgreSQL left."""
    state = tmp_path / "state"
    brokers_before = _orphaned_brokers()
    process = subprocess.Popen(
        [*STORMWATCH, "run", "--http-port", "0", "--state-dir", str(state)],
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        seen = b""
        while b"Ctrl-C stops everything" not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")[-3000:]
            chunk = process.stdout.readline()
            assert chunk or process.poll() is None, seen.decode(errors="replace")[-3000:]
            seen += chunk
        assert _our_processes(str(state)) != [], "the embedded PostgreSQL should be running"
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=60)
        assert process.returncode == 0, (seen + remaining).decode(errors="replace")[-3000:]
        assert _our_processes(str(state)) == []
        assert _orphaned_brokers() - brokers_before == set()
    finally:
        # A failed assertion above must not leave the run (and its broker and database) behind.
        if process.poll() is None:
            process.kill()
            process.wait(30)
