"""CSV / JSONL import for platforms without a usable API (JD, Pinduoduo, HomeAdvisor, merchant exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from services.pollers.adapters.generic_items import normalise_item
from services.shared import codec
from services.shared.errors import BadInput, ConfigError, Reason
from services.shared.events import ReviewEvent

BATCH = 500
DEADLETTER_SOURCE = "pollers.import"


class Producer(Protocol):
    async def send_batch(self, topic: str, records: list[tuple[bytes | None, bytes]]) -> None: ...


class DeadLetters(Protocol):
    async def publish(
        self,
        *,
        reason: str,
        detail: str,
        source: str,
        original: bytes,
        context: dict[str, str | int | float | None] | None = None,
    ) -> object: ...


@dataclass(frozen=True)
class Row:
    """One line of the file: its bytes (for the dead-letter topic) and its fields, or why it could not be read."""

    number: int
    raw: bytes
    data: Any
    error: str | None = None


def read_rows(path: Path, fmt: str = "auto") -> Iterator[Row]:
    """The rows of a CSV (header row names the fields) or JSONL file; an unreadable line is a Row with an error."""
    kind = fmt if fmt != "auto" else ("csv" if path.suffix.lower() in {".csv", ".tsv"} else "jsonl")
    if kind not in {"csv", "jsonl"}:
        raise ConfigError(f"--format: expected csv, jsonl or auto, got {fmt!r}")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read import file: {exc.strerror}") from None
    if kind == "jsonl":
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield Row(number, line, orjson.loads(line))
            except orjson.JSONDecodeError:
                yield Row(number, line, None, "line is not JSON")
        return
    text = content.decode("utf-8-sig", errors="replace")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, record in enumerate(reader, start=2):
        raw = orjson.dumps(record)
        if None in record:  # more cells than the header names
            yield Row(number, raw, None, "row has more cells than the header")
        else:
            yield Row(number, raw, record)


def _event(
    row: Row, *, merchant_id: str, platform: str, source_id: str, observed_at: datetime, timezone: str
) -> ReviewEvent:
    if row.error is not None:
        raise BadInput(f"line {row.number}: {row.error}", reason=Reason.NORMALISATION_FAILED)
    return normalise_item(
        row.data,
        merchant_id=merchant_id,
        platform=platform,
        source_id=source_id,
        observed_at=observed_at,
        timezone=timezone,
    )


@dataclass
class ImportStats:
    published: int = 0
    dead_lettered: int = 0


async def import_rows(
    rows: Iterator[Row],
    *,
    merchant_id: str,
    platform: str,
    source_id: str,
    timezone: str,
    observed_at: datetime,
    producer: Producer,
    deadletters: DeadLetters,
    topic: str,
) -> ImportStats:
    """Publish every good row (in batches, each acknowledged) and dead-letter the bad ones with their bytes."""
    stats = ImportStats()
    batch: list[tuple[bytes | None, bytes]] = []
    key = merchant_id.encode()
    context: dict[str, str | int | float | None] = {
        "merchant_id": merchant_id,
        "platform": platform,
        "source_id": source_id,
    }
    for row in rows:
        try:
            event = _event(
                row,
                merchant_id=merchant_id,
                platform=platform,
                source_id=source_id,
                observed_at=observed_at,
                timezone=timezone,
            )
        except BadInput as exc:
            await deadletters.publish(
                reason=exc.reason.value,
                detail=f"line {row.number}: {exc}",
                source=DEADLETTER_SOURCE,
                original=row.raw,
                context=context,
            )
            stats.dead_lettered += 1
            continue
        batch.append((key, codec.encode_review(event)))
        if len(batch) >= BATCH:
            await producer.send_batch(topic, batch)
            stats.published += len(batch)
            batch = []
    if batch:
        await producer.send_batch(topic, batch)
        stats.published += len(batch)
    return stats
