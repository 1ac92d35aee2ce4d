"""PostgreSQL's work per stored review: the detector's review insert, now and as it was before migration 0011.

The live benchmark showed PostgreSQL using about as much of the machine as the detector processes, most of it in
the review insert (pg_stat_statements: ~90 % of the statements' time). This isolates that statement on a private
embedded PostgreSQL: the same events as the live benchmark, in batches of 5,000 rows, one transaction each, from 1
connection or from 4 at once (as 4 partitions or replicas write). Two forms alternate within each run:

- before: payload `jsonb`, the event's fields read with `->>` (each payload becomes a jsonb value first);
- now: payload `json`, the fields read with `json_to_record` (`services.detector.store`, migration 0011).

Reports per stored review the server's CPU (every process of this private server, read from /proc), the client's
CPU (this process: building the arrays and asyncpg's encoding) and the wall time; medians of the runs.
Usage: `.venv/bin/python -m bench.bench_review_insert [--events 100000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.bench_detector_live import make_events
from services.detector.engine import DetectionEngine
from services.detector.store import _INSERT_REVIEWS, review_rows
from services.shared import codec, db
from services.shared.config import DetectionConfig
from services.shared.embedded import EmbeddedPostgres

BATCH = 5000
# The statement as it was before migration 0011, for the comparison (the payload column is turned back to jsonb).
_BEFORE = """
INSERT INTO reviews (event_id, merchant_id, platform, item_id, event_type, created_at, observed_at,
                     rating, negativity, negative, polarity, language, category, payload)
SELECT p->>'event_id', p->>'merchant_id', p->>'platform', p->>'item_id', p->>'event_type',
       (p->>'created_at')::timestamptz, (p->>'observed_at')::timestamptz,
       c.rating, c.negativity, c.negative, c.polarity, c.language, c.category, p
FROM unnest($1::text[]::jsonb[], $2::float8[], $3::float8[], $4::bool[], $5::text[], $6::text[], $7::text[])
     AS c(p, rating, negativity, negative, polarity, language, category)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
FORMS = {"before (jsonb, ->>)": ("jsonb", _BEFORE), "now (json, json_to_record)": ("json", _INSERT_REVIEWS)}


def server_cpu_seconds(postmaster_pid: int) -> float:
    """User + system CPU of the postmaster and its children (backends, WAL writer, checkpointer, ...)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(entry.name) == postmaster_pid or int(fields[1]) == postmaster_pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def one_run(
    pool: asyncpg.Pool, postmaster: int, statement: str, batches: list[tuple[list[Any], ...]], connections: int
) -> dict[str, float]:
    """Store every batch into an empty reviews table; seconds per review (server CPU, client CPU, wall)."""
    await pool.execute("TRUNCATE reviews")
    await pool.execute("CHECKPOINT")

    async def writer(share: list[tuple[list[Any], ...]]) -> None:
        async with pool.acquire() as connection:
            for arrays in share:
                async with connection.transaction():
                    await connection.fetch(statement, *arrays)

    rows = sum(len(arrays[0]) for arrays in batches)
    server, client, wall = server_cpu_seconds(postmaster), time.process_time(), time.perf_counter()
    await asyncio.gather(*(writer(batches[k::connections]) for k in range(connections)))
    return {
        "server": (server_cpu_seconds(postmaster) - server) / rows,
        "client": (time.process_time() - client) / rows,
        "wall": (time.perf_counter() - wall) / rows,
    }


async def main(count: int, runs: int) -> None:
    events = make_events(count)
    engine = DetectionEngine(DetectionConfig())
    reviews = [engine.score(event) for event in events]
    payloads = [codec.encode_review(event) for event in events]
    batches = [review_rows(reviews[i : i + BATCH], payloads[i : i + BATCH]) for i in range(0, count, BATCH)]
    with tempfile.TemporaryDirectory() as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pgdata")
        await postgres.start()
        try:
            postmaster = int((Path(folder) / "pgdata" / "postmaster.pid").read_text().split()[0])
            pools = {}
            for name, (column, _) in FORMS.items():
                schema = "bench_" + column
                pool = await db.create_pool(postgres.dsn, schema, min_size=4, max_size=4, synchronous_commit=False)
                await db.apply_migrations(pool)
                await pool.execute(f"ALTER TABLE reviews ALTER COLUMN payload TYPE {column} USING payload::{column}")
                pools[name] = pool
            figures: dict[tuple[str, int], list[dict[str, float]]] = {}
            for _ in range(runs):
                for connections in (1, 4):
                    for name, (_, statement) in FORMS.items():
                        run = await one_run(pools[name], postmaster, statement, batches, connections)
                        figures.setdefault((name, connections), []).append(run)
            for pool in pools.values():
                await pool.close()
        finally:
            await postgres.stop()
    print(f"events {count}, batches of {BATCH}, runs {runs} (median µs per stored review)")
    for (name, connections), measured in figures.items():
        medians = {key: statistics.median(run[key] for run in measured) * 1e6 for key in ("server", "client", "wall")}
        print(
            f"  {name:28s} {connections} connection{'s' if connections > 1 else ' '}  server {medians['server']:5.1f}"
            f"  client {medians['client']:4.1f}  wall {medians['wall']:5.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.runs))
