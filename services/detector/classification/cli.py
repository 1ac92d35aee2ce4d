"""`stormwatch classify IN.jsonl -o OUT.jsonl`: the detector's classifier over a file of JSON lines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import orjson

from services.detector.classification.classifier import DEFAULT_BATCH_SIZE, ReviewClassifier
from services.detector.classification.embedder import E5Embedder
from services.detector.classification.inputs import input_from_record
from services.detector.classification.types import ClassificationInput

READ_BATCH = 256  # lines classified together: large enough to batch the model, small enough to stream
EXIT_OK, EXIT_BAD_LINES, EXIT_UNREADABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `classify` sub-command's arguments."""
    parser.add_argument("input", metavar="IN.jsonl", help="review events or JSON lines with id and text ('-': stdin)")
    parser.add_argument(
        "-o", "--output", metavar="OUT.jsonl", default="-", help="where to write the classified lines (default stdout)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="CPU threads for the text model (default 1: one core per process)"
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="texts per model call")


def run_classify(args: argparse.Namespace) -> int:
    """Classify every line; bad lines are reported on stderr with their number and skipped. Exit 0, 1 (some bad
    lines) or 2 (input or output unusable)."""
    classifier = ReviewClassifier(embedder=E5Embedder(threads=args.threads), batch_size=args.batch_size)
    bad = written = 0
    try:
        with ExitStack() as files:
            source = sys.stdin if args.input == "-" else files.enter_context(Path(args.input).open(encoding="utf-8"))
            sink = (
                sys.stdout if args.output == "-" else files.enter_context(Path(args.output).open("w", encoding="utf-8"))
            )
            for batch, errors in _batches(source):
                bad += errors
                results = classifier.classify_many_sync([item for _, _, item in batch])
                for (_, record, _), result in zip(batch, results, strict=True):
                    record.update(
                        negativity=result.negativity,
                        negative=result.negative,
                        category=result.category,
                        language=result.language,
                    )
                    sink.write(orjson.dumps(record).decode("utf-8") + "\n")
                    written += 1
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"classify: cannot read {args.input} or write {args.output}: {exc}\n")
        return EXIT_UNREADABLE
    finally:
        classifier.close()
    stats = classifier.stats
    share = stats.needed_model / stats.items if stats.items else 0.0
    sys.stderr.write(
        f"classify: {written} lines classified, {bad} bad lines skipped; {stats.needed_model} ({share:.1%}) needed "
        f"the text model ({stats.embedded} embedded, {stats.cache_hits} cache hits)\n"
    )
    return EXIT_BAD_LINES if bad else EXIT_OK


Parsed = tuple[int, dict[str, Any], ClassificationInput]


def _batches(source: IO[str]) -> Iterator[tuple[list[Parsed], int]]:
    """Parsed lines in batches, with the number of bad lines met while filling each batch."""
    batch: list[Parsed] = []
    errors = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            batch.append((number, *_parse(line)))
        except (ValueError, TypeError) as exc:
            errors += 1
            sys.stderr.write(f"classify: line {number}: {exc}; skipped\n")
        if len(batch) >= READ_BATCH:
            yield batch, errors
            batch, errors = [], 0
    if batch or errors:
        yield batch, errors


def _parse(line: str) -> tuple[dict[str, Any], ClassificationInput]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise TypeError("not a JSON object")
    identifier = record.get("id", record.get("event_id"))
    if not isinstance(identifier, str | int) or isinstance(identifier, bool) or identifier == "":
        raise ValueError("no 'id' (or 'event_id')")
    return record, input_from_record(record)
