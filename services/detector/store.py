"""The detector's PostgreSQL tables: reviews (deduplicated on event_id), checkpoints, emitted incidents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from services.detector.scoring import ScoredReview
from services.shared.events import IncidentEvent, ReviewEvent
from services.shared.timeutil import parse_rfc3339

Connection = asyncpg.Connection | PoolConnectionProxy

# One statement per batch: unnest turns the column arrays back into rows. RETURNING names only the rows that were
# new, so a re-polled or replayed event (same event_id) never reaches detection twice. The event's own fields are
# read from its payload by PostgreSQL: the client then encodes a payload and the classification per row instead of
# fourteen columns, half the detector's CPU for this statement. json_to_record reads them in one pass over the text
# (the payload column is json, migration 0011), without building a jsonb value: a fifth to a quarter less server CPU per
# review than `->>` on jsonb, same results (duplicate keys: the last wins; an escaped NUL is refused, so
# `_stored_json` drops NULs first). Both in BENCHMARKS.md.
_INSERT_REVIEWS = """
INSERT INTO reviews (event_id, merchant_id, platform, item_id, event_type, created_at, observed_at,
                     rating, negativity, negative, polarity, language, category, payload)
SELECT r.event_id, r.merchant_id, r.platform, r.item_id, r.event_type, r.created_at, r.observed_at,
       c.rating, c.negativity, c.negative, c.polarity, c.language, c.category, c.p
FROM unnest($1::text[]::json[], $2::float8[], $3::float8[], $4::bool[], $5::text[], $6::text[], $7::text[])
     AS c(p, rating, negativity, negative, polarity, language, category),
     json_to_record(c.p) AS r(event_id text, merchant_id text, platform text, item_id text, event_type text,
                              created_at timestamptz, observed_at timestamptz)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

_INSERT_INCIDENTS = """
INSERT INTO detector_incidents (incident_id, version, status, kind, severity, merchant_id, started_at, detected_at,
                                payload)
SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                     $8::timestamptz[], $9::text[]::jsonb[])
ON CONFLICT (incident_id, version) DO NOTHING
"""

# Fenced: the update applies only where the stored offset is the one this member continued from. A member that
# lost the partition without noticing (a long pause) cannot overwrite the new owner's progress.
_MOVE_CHECKPOINT = """
UPDATE detector_checkpoints SET next_offset = $4, state = $5::jsonb, updated_at = now()
WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $6
RETURNING next_offset
"""
# A partition's first checkpoint (continuing from offset 0 only). Were the row missing at any other offset, the
# database lost commits (the detector commits asynchronously; or someone deleted it): starting a row there would
# skip the batches it lost, so that is a conflict, and the member resumes from what the database has.
_FIRST_CHECKPOINT = """
INSERT INTO detector_checkpoints (consumer_group, topic, partition, next_offset, state, updated_at)
VALUES ($1, $2, $3, $4, $5::jsonb, now())
ON CONFLICT (consumer_group, topic, partition) DO NOTHING
RETURNING next_offset
"""

# The merchants a batch touched, beside the checkpoint row (same transaction). `$4`/`$5`: merchant ids and states.
_SAVE_MERCHANTS = """
INSERT INTO detector_merchant_state (consumer_group, topic, partition, merchant_id, state)
SELECT $1, $2, $3, merchant.id, merchant.state::json FROM unnest($4::text[], $5::text[]) AS merchant(id, state)
ON CONFLICT (consumer_group, topic, partition, merchant_id) DO UPDATE SET state = EXCLUDED.state
"""

_CLEAR_MERCHANTS = """
DELETE FROM detector_merchant_state WHERE consumer_group = $1 AND topic = $2 AND partition = $3
"""

_LOAD_MERCHANTS = """
SELECT merchant_id, state::text AS state FROM detector_merchant_state
WHERE consumer_group = $1 AND topic = $2 AND partition = $3
"""

_LOAD_CHECKPOINT = """
SELECT next_offset, state::text AS state FROM detector_checkpoints
WHERE consumer_group = $1 AND topic = $2 AND partition = $3
"""


class CheckpointConflict(Exception):
    """Another consumer moved this partition's checkpoint: this member no longer owns the partition's state."""


@dataclass(frozen=True)
class Checkpoint:
    next_offset: int
    state: dict[str, Any]  # the whole state: the row's header (and merchants, if written whole) + merchant rows
    whole_in_row: bool = False  # the merchants were in the checkpoint row (written before merchant rows existed)


def review_rows(reviews: Sequence[ScoredReview], payloads: Sequence[bytes] | None = None) -> tuple[list[Any], ...]:
    """The column arrays of `_INSERT_REVIEWS` for a batch (pure: the benchmark times it on its own).

    `payloads`: each review's JSON as it arrived (already validated), stored as it is instead of encoded again. A
    payload with an escaped NUL is encoded again without NULs (PostgreSQL cannot read one as text), ids included."""
    if payloads is None:
        stored = [_json_text(review.event.to_dict()) for review in reviews]
    else:
        stored = [_stored_json(raw, review.event) for raw, review in zip(payloads, reviews, strict=True)]
    classifications = [review.classification for review in reviews]
    return (
        stored,
        [review.event.rating for review in reviews],
        [c.negativity for c in classifications],
        [c.negative for c in classifications],
        [c.polarity for c in classifications],
        [None if c.language is None else _clean(c.language) for c in classifications],
        [c.category for c in classifications],
    )


async def insert_reviews(
    connection: Connection, reviews: Sequence[ScoredReview], payloads: Sequence[bytes] | None = None
) -> set[str]:
    """Store a batch; returns the event ids that were not stored before. Ids must be unique within the batch.

    `payloads`: the reviews' record values (see `review_rows`); without them each event is encoded again."""
    if not reviews:
        return set()
    rows = await connection.fetch(_INSERT_REVIEWS, *review_rows(reviews, payloads))
    return {row["event_id"] for row in rows}


async def insert_incidents(connection: Connection, incidents: Sequence[IncidentEvent]) -> None:
    """Record the incident events of a batch (a replay of the same batch records nothing new)."""
    if not incidents:
        return
    await connection.execute(
        _INSERT_INCIDENTS,
        [i.incident_id for i in incidents],
        [i.version for i in incidents],
        [i.status for i in incidents],
        [i.kind for i in incidents],
        [i.severity for i in incidents],
        [_clean(i.merchant_id) for i in incidents],
        [parse_rfc3339(i.started_at) for i in incidents],
        [parse_rfc3339(i.detected_at) for i in incidents],
        [_json_text(i.to_dict()) for i in incidents],
    )


async def save_checkpoint(
    connection: Connection,
    *,
    group: str,
    topic: str,
    partition: int,
    previous_offset: int,
    next_offset: int,
    state: dict[str, Any],
    merchants: Mapping[str, bytes] | None = None,
    replace_merchants: bool = False,
) -> int:
    """Move the checkpoint from `previous_offset` to `next_offset`; raises CheckpointConflict if it was elsewhere.

    `state` goes into the checkpoint row (the header, or a whole state); `merchants` (merchant id -> its state as
    JSON) are upserted beside it, after every stored merchant row was dropped when `replace_merchants`. Call it
    inside the batch's transaction. Returns the bytes written (the row's state and the merchant states).
    """
    encoded = orjson.dumps(state)
    moved = await connection.fetchval(
        _MOVE_CHECKPOINT, group, topic, partition, next_offset, encoded.decode(), previous_offset
    )
    if moved is None and previous_offset == 0:
        moved = await connection.fetchval(_FIRST_CHECKPOINT, group, topic, partition, next_offset, encoded.decode())
    if moved is None:
        raise CheckpointConflict(f"{topic}[{partition}] checkpoint is no longer at offset {previous_offset}")
    if replace_merchants:
        await connection.execute(_CLEAR_MERCHANTS, group, topic, partition)
    written = len(encoded)
    if merchants:
        await connection.execute(
            _SAVE_MERCHANTS,
            group,
            topic,
            partition,
            [_clean(merchant_id) for merchant_id in merchants],
            [data.decode() for data in merchants.values()],
        )
        written += sum(len(data) for data in merchants.values())
    return written


async def load_checkpoint(connection: Connection, *, group: str, topic: str, partition: int) -> Checkpoint | None:
    """The partition's checkpoint with its whole state: the row's state, completed by the merchant rows."""
    row = await connection.fetchrow(_LOAD_CHECKPOINT, group, topic, partition)
    if row is None:
        return None
    state = orjson.loads(row["state"])
    stored = await connection.fetch(_LOAD_MERCHANTS, group, topic, partition)
    in_row = state.get("merchants") or {}
    state["merchants"] = {**in_row, **{r["merchant_id"]: orjson.loads(r["state"]) for r in stored}}
    return Checkpoint(next_offset=row["next_offset"], state=state, whole_in_row=bool(in_row))


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL characters; review text is untrusted and may contain them.
    return text.replace("\x00", "")


def _json_text(data: dict[str, Any]) -> str:
    """JSON for a jsonb column: jsonb rejects the \\u0000 escape, so NULs are dropped from every string first."""
    encoded = orjson.dumps(data)
    if b"\\u0000" not in encoded:
        return encoded.decode()
    return orjson.dumps(_strip_nul(data)).decode()


def _stored_json(raw: bytes, event: ReviewEvent) -> str:
    """A record value for the payload column. One with an escaped NUL is encoded again without NULs: PostgreSQL
    cannot read a NUL as text (jsonb refuses it outright), and the insert reads the ids as text."""
    if b"\\u0000" in raw:
        return _json_text(event.to_dict())
    return raw.decode()


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value
