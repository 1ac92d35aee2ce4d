"""Detector figures for BENCHMARKS.md: the evaluation suite per preset, and state bytes per merchant.

Run: `.venv/bin/python -m bench.bench_detector` (deterministic: the scenarios are seeded).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.detector.engine import DetectionEngine
from services.detector.scenarios import SCENARIOS, ScenarioClassifier, evaluate
from services.detector.synthetic import Segment, generate
from services.shared.config import DetectionConfig


def evaluation_table() -> None:
    built = [build() for build in SCENARIOS]
    print("| scenario | page wanted | sensitive | balanced | strict | false alarms / merchant-day (s/b/s) |")
    print("|---|---|---|---|---|---|")
    for scenario in built:
        cells = []
        rates = []
        for preset in ("sensitive", "balanced", "strict"):
            result, _incidents = evaluate(scenario, DetectionConfig(preset=preset))
            if result.expected_pages:
                delay = max(result.delays_seconds, default=None)
                cell = "missed" if delay is None else f"detected, {delay / 60:.0f} min"
                if result.deescalated is not None:
                    cell += ", de-escalated" if result.deescalated else ", NOT de-escalated"
            else:
                cell = "no page" if result.false_alarms == 0 else f"{result.false_alarms} false page(s)"
            cells.append(cell)
            rates.append(f"{result.false_alarms_per_merchant_day:.2f}")
        wanted = "yes" if scenario.pages else "no"
        print(f"| {scenario.name} | {wanted} | {' | '.join(cells)} | {' / '.join(rates)} |")


def deep_size(value: Any, seen: set[int] | None = None) -> int:
    """Bytes of an object graph (dataclass slots, dicts, lists, strings, floats), each object once."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    children: Iterable[Any] = ()
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set)):
        children = value
    elif hasattr(value, "__slots__"):
        children = [getattr(value, name) for name in value.__slots__ if hasattr(value, name)]
    return size + sum(deep_size(child, seen) for child in children)


def memory(config: DetectionConfig) -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    print("| merchant profile | events | in memory (bytes) | checkpoint JSON (bytes) |")
    print("|---|---|---|---|")
    profiles = {
        "steady, 1 platform, 4 weeks": [generate([Segment(start, 24 * 28.0, 20.0, 0.1)], seed=1)],
        "steady, 3 platforms, 4 weeks": [
            generate([Segment(start, 24 * 28.0, 10.0, 0.1)], platform=p, seed=i)
            for i, p in enumerate(("trustpilot", "amazon", "google"))
        ],
    }
    for name, streams in profiles.items():
        events = sorted((e for s in streams for e in s), key=lambda e: e.created_at)
        engine = DetectionEngine(config)
        engine.run(events)
        state = engine.state.merchants["m1"]
        print(f"| {name} | {len(events)} | {deep_size(state):,} | {len(orjson.dumps(state.to_dict())):,} |")
    for build in SCENARIOS:
        scenario = build()
        engine = DetectionEngine(config, classifier=ScenarioClassifier())
        engine.run(scenario.events)
        for merchant_id, state in engine.state.merchants.items():
            label = f"{scenario.name} ({merchant_id})"
            print(
                f"| {label} | {len(scenario.events)} | {deep_size(state):,} | {len(orjson.dumps(state.to_dict())):,} |"
            )
        # Three days later, after an hour of quiet positive reviews: finished threads and old timers are gone.
        last = scenario.events[-1]
        engine.run(generate([Segment(_later(last.observed_at), 1.0, 30.0, 0.0)], merchant_id=last.merchant_id))
        state = engine.state.merchants[last.merchant_id]
        label = f"{scenario.name} ({last.merchant_id}), 3 days later"
        print(f"| {label} | | {deep_size(state):,} | {len(orjson.dumps(state.to_dict())):,} |")


def _later(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(days=3)


def main() -> None:
    print("## evaluation")
    evaluation_table()
    print()
    print("## state per merchant (defaults: no response deadlines)")
    memory(DetectionConfig())
    print()
    print("## state per merchant (2 h response deadline for everyone, nobody replies)")
    memory(DetectionConfig(response_deadline_hours={"*": 2.0}))


if __name__ == "__main__":
    main()
