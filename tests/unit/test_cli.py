"""The `stormwatch` command: its subcommands exist, offline commands work, misconfiguration is a clear error."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.cli import build_parser, main


def test_every_promised_subcommand_exists() -> None:
    """run, pollers, detector, alerter, simulator and classify are all subcommands with their documented flags."""
    parser = build_parser()
    run = parser.parse_args(["run", "--for", "5", "--http-port", "9", "--notify-file", "n.jsonl", "--state-dir", "s"])
    assert (run.duration, run.http_port, run.notify_file, run.state_dir) == (5.0, 9, Path("n.jsonl"), Path("s"))
    assert parser.parse_args(["run"]).state_dir == Path(".stormwatch")
    assert parser.parse_args(["run"]).http_port == 8080
    for service in ("pollers", "detector", "alerter"):
        assert parser.parse_args([service, "--config", "c.yaml"]).config == Path("c.yaml")
    assert parser.parse_args(["simulator", "--port", "8090"]).port == 8090
    assert parser.parse_args(["classify", "in.jsonl", "-o", "out.jsonl"]).command == "classify"


def test_service_without_broker_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service started alone without KAFKA_BOOTSTRAP_SERVERS exits 2 and says which variable is missing."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("STORMWATCH_LOG_FORMAT", "json")
    assert main(["detector"]) == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in capsys.readouterr().err


def test_classify_round_trip(tmp_path: Path) -> None:
    """`stormwatch classify IN -o OUT` adds the four fields to each line; a rated line needs no model."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        orjson.dumps({"id": "a", "text": "Terrible, never arrived", "rating": 1, "rating_scale": {"min": 1, "max": 5}})
        + b"\n"
    )
    target = tmp_path / "out.jsonl"
    assert main(["classify", str(source), "-o", str(target)]) == 0
    line = orjson.loads(target.read_bytes().splitlines()[0])
    assert line["negative"] is True and line["negativity"] == 1.0
    assert {"category", "language"} <= set(line)
