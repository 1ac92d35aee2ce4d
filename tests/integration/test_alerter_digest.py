"""The daily digest on real PostgreSQL with an injected clock: due at the merchant's local hour, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson

from services.alerter.digest import DigestScheduler
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.pipeline import default_pipeline
from services.alerter.store import NotificationStore
from services.shared.config import parse_config
from services.shared.timeutil import ManualClock
from tests.integration.test_alerter_support import make_incident


async def test_digest_goes_out_once_per_merchant_day_at_the_local_hour(db_pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Amsterdam merchant, digest at 09:00 local (08:00 UTC in winter): nothing at 08:30 local; one digest at
    09:05 with the day's negative reviews, open incidents and recoveries; nothing more that day, even after a
    restart; the next day's digest at 09:00 again. Paging receivers (PagerDuty) never get a digest."""
    path = tmp_path / "digest.jsonl"
    config = parse_config(
        {
            "merchants": [{"id": "acme", "name": "Acme", "timezone": "Europe/Amsterdam"}],
            "receivers": [
                {"name": "archive", "type": "file", "path": str(path)},
                {"name": "pd", "type": "pagerduty", "routing_key_secret": "k" * 32},
            ],
            "route": {"receivers": ["archive", "pd"]},
            "digest": {"hour": 9},
        },
        env={},
    )
    notifiers = build_notifiers(config.receivers)
    await notifiers["archive"].start()
    store = NotificationStore(db_pool)
    await store.record_states(
        [make_incident("digest-open", 1, "open"), make_incident("digest-done", 1, "resolved")],
        default_pipeline(config.route),
    )
    # The recovery must fall in the last 24 h of the digest's clock.
    await db_pool.execute("UPDATE incidents SET resolved_at = '2026-01-15T06:00:00Z' WHERE status = 'resolved'")
    await db_pool.execute(
        """INSERT INTO reviews (event_id, merchant_id, platform, item_id, event_type, created_at, observed_at,
               negative, polarity, payload)
           VALUES ('e1', 'acme', 'trustpilot', 'r1', 'review.created', '2026-01-15T05:00:00Z',
                   '2026-01-15T05:00:00Z', true, 'negative', '{}')"""
    )
    clock = ManualClock(datetime(2026, 1, 15, 7, 30, tzinfo=UTC))
    scheduler = DigestScheduler(db_pool, config, notifiers, clock=clock)
    assert scheduler.receivers_for("acme") == ["archive"]
    assert await scheduler.run_once() == 0

    clock.current = datetime(2026, 1, 15, 8, 5, tzinfo=UTC)
    assert await scheduler.run_once() == 1
    assert await scheduler.run_once() == 0
    restarted = DigestScheduler(db_pool, config, notifiers, clock=clock)
    clock.advance(3600)
    assert await restarted.run_once() == 0

    clock.current += timedelta(days=1)
    assert await restarted.run_once() == 1
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["title"] == "[DIGEST] Acme 2026-01-15"
    assert "New negative reviews in the last 24 h: 1 (trustpilot 1)" in first["text"]
    assert "Open incidents: 1" in first["text"] and "Recoveries (resolved in the last 24 h): 1" in first["text"]
    rows = await db_pool.fetch("SELECT day, receiver, status FROM digests ORDER BY day")
    assert [(str(r["day"]), r["receiver"], r["status"]) for r in rows] == [
        ("2026-01-15", "archive", "delivered"),
        ("2026-01-16", "archive", "delivered"),
    ]
