"""`stormwatch classify`: JSON lines in, the same lines with the four classification fields out; bad lines skipped."""

# ruff: noqa: RUF001  (review texts in Chinese and Turkish use those scripts' own punctuation and letters)

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from services.detector.classification.cli import add_arguments, run_classify

LINES = [
    '{"id": "a", "text": "Parcel never arrived, nobody answers.", "rating": 1}',
    '{"id": "b", "text": "Das Produkt ist super, schnelle Lieferung!"}',
    "this is not json",
    '{"id": "c", "text": "质量太差了，用了两天就坏了", "rating": 2, "rating_scale": "good/neutral/bad"}',
    "[1, 2, 3]",
    '{"text": "a line without an id"}',
    "",
    '{"id": "d", "text": "Ok", "rating": 3, "rating_scale": "sideways"}',
    '{"event_id": "e", "title": "Nooit meer", "text": "Pakket kwijt en geen antwoord.", "language": "nl-NL",'
    ' "rating": null, "attributes": {"topics": ["shipping"]}}',
]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stormwatch classify")
    add_arguments(parser)
    return run_classify(parser.parse_args(argv))


def test_round_trip_with_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Good lines come back whole plus negativity, negative, category and language; each bad line is reported on
    stderr with its number and skipped; the summary counts both and the share that needed the model."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")

    assert _run([str(source), "-o", str(target)]) == 1

    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r.get("id", r.get("event_id")) for r in out] == ["a", "b", "c", "e"]
    for record in out:
        assert 0.0 <= record["negativity"] <= 1.0
        assert {"negative", "category", "language"} <= record.keys()
    a, b, c, e = out
    assert (a["negative"], a["category"], a["language"], a["rating"]) == (True, "logistics", "en", 1)
    assert (b["negative"], b["category"], b["language"]) == (False, "other", "de")
    # "neutral" on Taobao's scale is a middle rating: the furious text makes it a complaint.
    assert (c["negative"], c["category"], c["language"]) == (True, "quality", "zh")
    assert (e["negative"], e["category"], e["language"]) == (True, "logistics", "nl")
    assert e["attributes"] == {"topics": ["shipping"]}

    err = capsys.readouterr().err
    assert "line 3: not JSON" in err
    assert "line 5: not a JSON object" in err
    assert "line 6: no 'id'" in err
    assert "line 8: rating scale 'sideways' is not understood" in err
    assert "4 lines classified, 4 bad lines skipped; 3 (75.0%) needed the text model" in err


def test_clean_input_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file without bad lines exits 0; a rating that decides means the model is not needed."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"id": 1, "text": "Great", "rating": 5}\n', encoding="utf-8")
    assert _run([str(source), "--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["negative"] is False
    assert "0 (0.0%) needed the text model" in capsys.readouterr().err


def test_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing input file is a clear error and exit 2, not a traceback."""
    assert _run([str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "out.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
