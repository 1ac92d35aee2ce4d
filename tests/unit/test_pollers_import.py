"""CSV / JSONL import: rows become events with content-versioned ids, bad rows are dead-lettered, files go on."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.generic_items import normalise_item
from services.pollers.import_cli import add_arguments, run
from services.pollers.importer import import_rows, read_rows
from services.shared import codec
from services.shared.errors import BadInput, ConfigError, Reason
from tests.unit.test_pollers_poll_loop import FakeDeadLetters, FakeProducer

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CSV = """id,created_at,rating,text,author,order,deleted
jd-1,2026-11-01 20:00:00,1,物流太慢了,王*,O-1,
jd-2,2026-11-01 21:00:00,five,good,李*,O-2,
jd-3,2026-11-01T13:00:00Z,5,很好,张*,O-3,
jd-4,2026-11-01 22:00:00,,,,,true
"""


def normalise(data: Any, timezone: str = "UTC") -> Any:
    return normalise_item(
        data, merchant_id="shop", platform="jd", source_id="shop/jd-import", observed_at=NOW, timezone=timezone
    )


async def test_csv_rows_publish_and_bad_rows_dead_letter(tmp_path: Path) -> None:
    """Good rows are published (local times read in the given zone, deleted=true as review.deleted); a bad row is
    dead-lettered with its bytes and line number while the rest of the file goes on."""
    path = tmp_path / "jd.csv"
    path.write_text(CSV, encoding="utf-8")
    producer, dead = FakeProducer(), FakeDeadLetters()
    stats = await import_rows(
        read_rows(path),
        merchant_id="shop",
        platform="jd",
        source_id="shop/jd-import",
        timezone="Asia/Shanghai",
        observed_at=NOW,
        producer=producer,
        deadletters=dead,
        topic="reviews",
    )
    assert (stats.published, stats.dead_lettered) == (3, 1)
    events = [codec.decode_review(v) for _t, batch in producer.sent for _k, v in batch]
    assert [(e.item_id, e.event_type) for e in events] == [
        ("jd-1", "review.created"),
        ("jd-3", "review.created"),
        ("jd-4", "review.deleted"),
    ]
    assert events[0].created_at == "2026-11-01T12:00:00Z" and events[0].attributes == {"order": "O-1"}
    assert "line 3" in dead.published[0]["detail"] and b"five" in dead.published[0]["original"]


def test_jsonl_unreadable_lines_are_rows_with_errors(tmp_path: Path) -> None:
    """A JSONL line that is not JSON becomes an error row (dead-lettered), not an exception."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"id": "a", "created_at": "2026-11-01T00:00:00Z"}\n{oops\n\n')
    rows = list(read_rows(path))
    assert [r.error for r in rows] == [None, "line is not JSON"]


def test_ids_name_the_content_version() -> None:
    """The same row gives the same id (a re-import is a duplicate); an edited row gives a new one."""
    row = {"id": "h-1", "created_at": "2026-11-01T00:00:00Z", "rating": "2", "text": "meh"}
    assert normalise(row).event_id == normalise(dict(row)).event_id
    assert normalise({**row, "rating": "5"}).event_id != normalise(row).event_id


def test_dry_run_cli_counts_without_kafka(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`stormwatch import FILE --dry-run` validates and counts; a bad platform name is a ConfigError."""
    path = tmp_path / "jd.csv"
    path.write_text(CSV, encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args([str(path), "--merchant", "shop", "--platform", "jd", "--dry-run"])) == 0
    assert "would publish 3 events, dead-lettered 1 rows" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="--platform"):
        run(parser.parse_args([str(path), "--merchant", "shop", "--platform", "JD!", "--dry-run"]))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_row = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=5), _json), "created_at": st.sampled_from(["2026-11-01 10:00:00", "x", ""])},
    optional={
        key: st.one_of(_json, st.text(max_size=30))
        for key in ("rating", "rating_min", "rating_max", "kind", "text", "url", "deleted", "reply", "reply_at")
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_row, _json))
def test_any_row_yields_a_valid_event_or_bad_input(row: Any) -> None:
    """Whatever a merchant's export holds, the generic normaliser gives a schema-valid event or BadInput."""
    try:
        event = normalise(row, "Europe/Amsterdam")
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
