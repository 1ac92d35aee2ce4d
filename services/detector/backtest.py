"""`stormwatch backtest EVENTS.jsonl -o INCIDENTS.jsonl`: the live detection code over a file, in event time.

No Kafka, no PostgreSQL: the file's line order plays the role of the partition's offset order, and event ids are
deduplicated as the live service's reviews table does, so the same events give the same incident events as the
service (engine_for builds the engine for both). Bad lines are reported with their line number and skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from services.detector.engine import DetectionEngine, engine_for
from services.detector.text_classifier import TextAwareClassifier
from services.shared import codec
from services.shared.config import Config, load_config
from services.shared.errors import BadInput
from services.shared.events import IncidentEvent

# The progress bar is redrawn at most this often (seconds) and the clock read once per this many lines.
_REDRAW_SECONDS = 0.2
_CHECK_EVERY_LINES = 2048
_BAR_WIDTH = 30


@dataclass
class BacktestStats:
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    bad: int = 0
    incidents: int = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `backtest` subcommand's arguments (the CLI wires them; `run_backtest` runs them)."""
    parser.add_argument("events", type=Path, help="review events, one JSON object (review-event.v1) per line")
    parser.add_argument("-o", "--output", type=Path, required=True, help="incident events out, one JSON per line")
    parser.add_argument(
        "--config",
        type=Path,
        help="YAML config file for merchant names and detection settings (default: STORMWATCH_CONFIG, else defaults)",
    )
    parser.add_argument(
        "--preset", choices=("sensitive", "balanced", "strict"), help="override the configured sensitivity preset"
    )
    parser.add_argument(
        "--progress", action="store_true", help="show a progress bar on stderr even when it is not a terminal"
    )


def run_backtest(args: argparse.Namespace) -> int:
    """Run a backtest from parsed arguments: 0 on success (bad lines are skipped, not fatal), 2 on unusable input."""
    path = args.config if args.config is not None else _env_config()
    config = load_config(path) if path is not None else Config(merchants=())
    if args.preset is not None:
        config = _with_preset(config, args.preset)
    try:
        size = args.events.stat().st_size
        source = args.events.open("rb")
    except OSError as exc:
        print(f"stormwatch backtest: cannot read {args.events}: {exc.strerror}", file=sys.stderr)
        return 2
    show_progress = bool(args.progress) or sys.stderr.isatty()
    stats = BacktestStats()
    started = time.perf_counter()
    with source, args.output.open("wb") as sink:
        progress = _ProgressBar(size, sys.stderr) if show_progress else None

        def report_bad(line_number: int, error: str) -> None:
            if progress is not None:
                progress.clear()
            print(f"{args.events}:{line_number}: skipped: {error}", file=sys.stderr)

        lines = _counted(source, progress)
        for incident in backtest(
            lines, engine_for(config, classifier=TextAwareClassifier()), stats=stats, on_bad=report_bad
        ):
            sink.write(codec.encode_incident(incident))
            sink.write(b"\n")
        if progress is not None:
            progress.finish()
    elapsed = time.perf_counter() - started
    rate = stats.events / elapsed if elapsed > 0 else 0.0
    print(
        f"stormwatch backtest: {stats.events} events ({stats.bad} bad lines skipped, {stats.duplicates} duplicates) "
        f"-> {stats.incidents} incident events in {args.output}; {elapsed:.2f} s, {rate:,.0f} events/s",
        file=sys.stderr,
    )
    return 0


def backtest(
    lines: Iterable[bytes],
    engine: DetectionEngine,
    *,
    stats: BacktestStats | None = None,
    on_bad: Callable[[int, str], None] | None = None,
) -> Iterator[IncidentEvent]:
    """The incident events of a stream of encoded review events (one per line), in order, as the service emits them."""
    stats = stats if stats is not None else BacktestStats()
    seen: set[str] = set()
    decode = codec.decode_review
    score = engine.score
    process = engine.process
    for number, line in enumerate(lines, start=1):
        stats.lines = number
        if not line.strip():
            continue
        try:
            event = decode(line)
            review = score(event)
        except BadInput as exc:
            stats.bad += 1
            if on_bad is not None:
                on_bad(number, f"{exc.reason.value}: {exc}")
            continue
        except ValueError as exc:
            stats.bad += 1
            if on_bad is not None:
                on_bad(number, f"unusable timestamp: {exc}")
            continue
        if event.event_id in seen:
            stats.duplicates += 1
            continue
        seen.add(event.event_id)
        stats.events += 1
        incidents = process(review)
        if incidents:
            stats.incidents += len(incidents)
            yield from incidents


def _env_config() -> Path | None:
    named = os.environ.get("STORMWATCH_CONFIG")
    return Path(named) if named else None


def _with_preset(config: Config, preset: str) -> Config:
    return replace(config, detection=replace(config.detection, preset=preset))


def _counted(source: IO[bytes], progress: _ProgressBar | None) -> Iterator[bytes]:
    """The file's lines; every few thousand lines the progress bar learns the position."""
    if progress is None:
        yield from source
        return
    count = 0
    done = 0
    for line in source:
        done += len(line)
        count += 1
        if count == _CHECK_EVERY_LINES:
            count = 0
            progress.update(done)
        yield line
    progress.update(done)


class _ProgressBar:
    """A one-line bar on a text stream: bytes read of the file, events per second. Redrawn at most 5 times a second."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self._total = max(total, 1)
        self._stream = stream
        self._started = time.perf_counter()
        self._next_draw = 0.0
        self._done = 0

    def update(self, done: int) -> None:
        self._done = done
        now = time.perf_counter()
        if now >= self._next_draw:
            self._next_draw = now + _REDRAW_SECONDS
            self._draw(now)

    def clear(self) -> None:
        self._stream.write("\r\x1b[K")

    def finish(self) -> None:
        self._draw(time.perf_counter())
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self, now: float) -> None:
        fraction = min(self._done / self._total, 1.0)
        filled = int(fraction * _BAR_WIDTH)
        elapsed = now - self._started
        speed = self._done / elapsed / 1e6 if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        self._stream.write(f"\r[{bar}] {fraction:6.1%} {speed:6.1f} MB/s")
        self._stream.flush()
