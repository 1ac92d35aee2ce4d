"""Where the detector's event-loop CPU goes, stage by stage, without Kafka or PostgreSQL.

The live benchmark (`bench_detector_live`) says how fast the whole service is; this one says why. It feeds the
same events as the live benchmark, already encoded, through the detector's own functions in batches of 2,000 (one
partition's `getmany`), with the text model's cache warm, and times each stage: decode + validate, classification
(the batch's `prepare`), scoring, the rules, building the review rows for PostgreSQL, and the checkpoint's
encoding. Reports microseconds per event per stage (median of the runs) and the events/s those add up to: the
ceiling of one event loop, before any I/O.
Usage: `.venv/bin/python -m bench.bench_detector_cpu [--events 40000] [--runs 5] [--merchants 200]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import orjson

from bench.bench_detector_live import MERCHANTS, make_events
from services.detector.engine import engine_for
from services.detector.intake import decode, score_decoded
from services.detector.store import review_rows
from services.detector.text_classifier import TextAwareClassifier
from services.shared import codec
from services.shared.config import parse_config
from services.shared.runtime import tune_garbage_collector

BATCH = 8000


@dataclass(frozen=True, slots=True)
class _Record:
    offset: int
    value: bytes


class _Laps:
    """Adds the time since the previous lap to a stage's total."""

    def __init__(self, spent: dict[str, float]) -> None:
        self._spent = spent
        self._last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self._spent[stage] += now - self._last
        self._last = now


def one_run(batches: list[list[_Record]], merchants: int, text: TextAwareClassifier) -> dict[str, float]:
    """Seconds per stage over every batch, through a fresh engine."""
    config = parse_config({"merchants": [{"id": f"m{i}"} for i in range(merchants)]})
    engine = engine_for(config, classifier=text)
    spent = dict.fromkeys(("decode", "classify", "score", "rules", "rows", "checkpoint"), 0.0)

    for records in batches:
        lap = _Laps(spent)
        decoded = decode(records)
        lap("decode")
        text.prepare_sync(decoded.reviews())
        lap("classify")
        intake = score_decoded(decoded, engine.score)
        lap("score")
        for review in intake.reviews:
            engine.process(review)
        lap("rules")
        review_rows(intake.reviews, intake.payloads)
        lap("rows")
        {key: orjson.dumps(state) for key, state in engine.take_touched().items()}
        lap("checkpoint")
    return spent


def main(count: int, runs: int, merchants: int) -> None:
    tune_garbage_collector()  # as the services do
    events = make_events(count, merchants=merchants)
    records = [_Record(offset, codec.encode_review(event)) for offset, event in enumerate(events)]
    batches = [records[i : i + BATCH] for i in range(0, count, BATCH)]
    text = TextAwareClassifier()
    one_run(batches, merchants, text)  # warm the model's cache: the live benchmark's figures are warm too
    results = [one_run(batches, merchants, text) for _ in range(runs)]
    text.close()
    print(f"events {count}, merchants {merchants}, batches of {BATCH}, runs {runs} (median µs per event)")
    total = 0.0
    for stage in results[0]:
        micros = statistics.median(result[stage] for result in results) / count * 1e6
        total += micros
        print(f"  {stage:<11} {micros:7.2f} µs")
    print(f"  {'total':<11} {total:7.2f} µs  -> at most {1e6 / total:,.0f} events/s on one event loop, before I/O")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=40000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--merchants", type=int, default=MERCHANTS)
    arguments = parser.parse_args()
    main(arguments.events, arguments.runs, arguments.merchants)
