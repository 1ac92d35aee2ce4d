"""The backtest: the engine over a file of review events, bad lines reported by number and skipped, progress bar."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.detector.backtest import BacktestStats, add_arguments, backtest, run_backtest
from services.detector.engine import engine_for
from services.detector.synthetic import bucketed
from services.shared import codec
from services.shared.config import Config

T0 = datetime(2026, 11, 18, tzinfo=UTC)


def _stream() -> list[bytes]:
    events = bucketed([(2, 8)] * 16 + [(60, 8)] + [(2, 8)] * 6, start=T0)
    return [codec.encode_review(e) for e in events]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_backtest_equals_the_engine_run_and_skips_bad_lines() -> None:
    """Bad lines (not JSON, schema-invalid, blank) are reported with their 1-based line number and skipped; a
    repeated event id counts once; the incident events are exactly those of the engine over the good events."""
    lines = _stream()
    mixed = [lines[0], b"{not json\n", lines[1], b"\n", b'{"schema": "review-event.v1"}', lines[1], *lines[2:]]
    bad: list[int] = []
    stats = BacktestStats()
    got = list(backtest(mixed, engine_for(Config(merchants=())), stats=stats, on_bad=lambda n, _e: bad.append(n)))
    expected = engine_for(Config(merchants=())).run(codec.decode_review(line) for line in lines)
    assert got == expected
    assert got[0].status == "open" and got[-1].status == "resolved"
    assert bad == [2, 5]
    assert (stats.events, stats.duplicates, stats.bad, stats.incidents) == (len(lines), 1, 2, len(got))


def test_run_backtest_writes_incident_lines_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command writes one incident event per line, names bad lines on stderr, and draws a progress bar only
    when asked (stderr is not a terminal under pytest)."""
    monkeypatch.delenv("STORMWATCH_CONFIG", raising=False)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([*_stream()[:5], b"garbage", *_stream()[5:]]) + b"\n")
    output = tmp_path / "incidents.jsonl"
    assert run_backtest(_args(str(events), "-o", str(output), "--preset", "strict")) == 0
    err = capsys.readouterr().err
    assert f"{events}:6: skipped: malformed_json" in err
    assert "[#" not in err
    written = [codec.decode_incident(line) for line in output.read_bytes().splitlines()]
    assert written and all(i.kind == "negative_spike" for i in written)

    assert run_backtest(_args(str(events), "-o", str(output), "--progress")) == 0
    assert "100.0%" in capsys.readouterr().err


def test_run_backtest_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing events file is a usage error (exit 2) with a message, not a traceback."""
    assert run_backtest(_args(str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "out.jsonl"))) == 2
    assert "cannot read" in capsys.readouterr().err
