"""`stormwatch import FILE --merchant ID --platform NAME`: publish a CSV / JSONL export as review events.

For platforms without a usable API (JD, Pinduoduo, HomeAdvisor) and any merchant export. Columns / keys are
Stormwatch's item format (services/pollers/adapters/generic_items.py). Event ids are deterministic and name the
row's content, so importing the same file twice publishes duplicates that downstream drops, and an edited row
is a new version. Bad rows go to the dead-letter topic with their bytes; the rest of the file goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.pollers.importer import DeadLetters, ImportStats, Producer, import_rows, read_rows
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import ConfigError
from services.shared.kafka import EventProducer, ProducerSettings, ensure_topics
from services.shared.metrics import new_registry
from services.shared.settings import Settings

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="CSV (header row) or JSONL file in Stormwatch's item format")
    parser.add_argument("--merchant", required=True, help="merchant id the reviews belong to")
    parser.add_argument("--platform", required=True, help="platform name, e.g. jd, pinduoduo, homeadvisor")
    parser.add_argument("--source", help="source id (default: MERCHANT/PLATFORM-import)")
    parser.add_argument("--timezone", default="UTC", help="zone of timestamps without an offset (default UTC)")
    parser.add_argument("--format", default="auto", choices=("auto", "csv", "jsonl"), help="default: by suffix")
    parser.add_argument("--dry-run", action="store_true", help="validate and count only; publish nothing")


def run(args: argparse.Namespace) -> int:
    if not _NAME.match(args.platform):
        raise ConfigError(f"--platform: {args.platform!r} is not a platform name (lower case, digits, _)")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--timezone: unknown time zone {args.timezone!r}") from None
    stats = asyncio.run(_import(args))
    verb = "would publish" if args.dry_run else "published"
    sys.stdout.write(f"{verb} {stats.published} events, dead-lettered {stats.dead_lettered} rows\n")
    return 0


class _Counting:
    """A producer and dead-letter sink for --dry-run."""

    async def send_batch(self, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
        return None

    async def publish(
        self,
        *,
        reason: str,
        detail: str,
        source: str,
        original: bytes,
        context: dict[str, str | int | float | None] | None = None,
    ) -> None:
        return None


async def _import(args: argparse.Namespace) -> ImportStats:
    rows = read_rows(args.file, args.format)
    source_id = args.source or f"{args.merchant}/{args.platform}-import"
    now = datetime.now(UTC)

    async def publish(producer: Producer, deadletters: DeadLetters, topic: str) -> ImportStats:
        return await import_rows(
            rows,
            merchant_id=args.merchant,
            platform=args.platform,
            source_id=source_id,
            timezone=args.timezone,
            observed_at=now,
            producer=producer,
            deadletters=deadletters,
            topic=topic,
        )

    if args.dry_run:
        sink = _Counting()
        return await publish(sink, sink, "dry-run")
    settings = Settings.from_env()
    bootstrap = settings.require_kafka()
    topics = {settings.topics.reviews: settings.topic_partitions, settings.topics.deadletter: settings.topic_partitions}
    await ensure_topics(bootstrap, topics)
    producer = EventProducer(ProducerSettings(bootstrap, client_id="stormwatch-import"))
    await producer.start()
    try:
        deadletters = DeadLetterPublisher(producer, settings.topics.deadletter, new_registry())
        return await publish(producer, deadletters, settings.topics.reviews)
    finally:
        await producer.stop()
