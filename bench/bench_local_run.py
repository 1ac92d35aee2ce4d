"""Benchmark `stormwatch run`: start-up time, time to the demo storm's first page, and demo throughput.

Runs the real command as a user would (zero configuration, embedded broker and PostgreSQL) several times and
reports medians. Usage: `.venv/bin/python -m bench.bench_local_run [--runs 3] [--speed 600]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson


def one_run(speed: float, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as folder:
        notify = Path(folder) / "n.jsonl"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_", "STORMWATCH_"))}
        env["STORMWATCH_LOG_FORMAT"] = "json"
        command = [
            sys.executable,
            "-m",
            "services.cli",
            "run",
            "--for",
            str(seconds),
            "--http-port",
            "0",
            "--speed",
            str(speed),
            "--state-dir",
            f"{folder}/state",
            "--notify-file",
            str(notify),
        ]
        began = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        banner_at = first_page_at = None
        published = 0
        for raw in process.stdout:
            now = time.monotonic() - began
            if banner_at is None and b"Ctrl-C stops everything" in raw:
                banner_at = now
            if first_page_at is None and b'"notification delivered"' in raw:
                first_page_at = now
            if raw.startswith(b"{") and b'"event":"poll"' in raw:
                published += int(orjson.loads(raw).get("published", 0))
        process.wait()
        if banner_at is None or first_page_at is None:
            raise RuntimeError("the run did not start or never paged")
        return {
            "startup_s": banner_at,
            "first_page_s": first_page_at,
            "events_per_s": published / max(seconds - banner_at, 1e-9),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed", type=float, default=600.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    results = [one_run(args.speed, args.seconds) for _ in range(args.runs)]
    for key in ("startup_s", "first_page_s", "events_per_s"):
        values = [r[key] for r in results]
        print(f"{key:14s} median {statistics.median(values):8.2f}   runs {', '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    main()
