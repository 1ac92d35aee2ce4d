"""The daily digest: per merchant, at the configured hour in the merchant's time zone, a summary of the last day
(new negative reviews, open incidents, deadlines at risk, recoveries) to the merchant's receivers, once per day.

The `digests` table is the digest's notification log: a row per (merchant, local day, receiver) is claimed before
the send; the notification id derives from the same key, so a re-send after a crash is deduplicated downstream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from services.alerter.notifiers.base import Notification, Notifier
from services.alerter.routing import route
from services.alerter.store import translated
from services.shared.config import Config, Merchant
from services.shared.errors import StormwatchError
from services.shared.events import Evidence, IncidentEvent, deterministic_id
from services.shared.logging import get_logger
from services.shared.timeutil import Clock, WallClock, format_rfc3339

log = get_logger("stormwatch.alerter.digest")

# Paging integrations get no digest: a summary must never open an incident in PagerDuty or Opsgenie.
DIGEST_TYPES = frozenset({"slack", "email", "webhook", "file", "log"})
_LEASE = timedelta(minutes=10)
_MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class DigestContent:
    negative_reviews: int
    negative_by_platform: Mapping[str, int]
    open_incidents: Sequence[Mapping[str, Any]]
    deadlines_at_risk: Sequence[Mapping[str, Any]]
    recoveries: Sequence[Mapping[str, Any]]

    def render(self, merchant: Merchant, day: date) -> tuple[str, str]:
        title = f"[DIGEST] {merchant.name or merchant.id} {day.isoformat()}"
        by_platform = ", ".join(f"{p} {n}" for p, n in sorted(self.negative_by_platform.items())) or "none"
        lines = [f"New negative reviews in the last 24 h: {self.negative_reviews} ({by_platform})"]
        for heading, items in (
            ("Open incidents", self.open_incidents),
            ("Deadlines at risk", self.deadlines_at_risk),
            ("Recoveries (resolved in the last 24 h)", self.recoveries),
        ):
            lines.append(f"{heading}: {len(items)}")
            lines.extend(f"- [{i['severity']}] {i['title']} ({i['response_state']})" for i in items[:_MAX_LISTED])
        return title, "\n".join(lines)


class DigestScheduler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        config: Config,
        notifiers: Mapping[str, Notifier],
        *,
        clock: Clock | None = None,
        interval_seconds: float = 60.0,
    ) -> None:
        self._pool = pool
        self._config = config
        self._notifiers = dict(notifiers)
        self._clock = clock or WallClock()
        self._interval = interval_seconds
        self._stopping = asyncio.Event()

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except StormwatchError as exc:
                log.warning("digest round failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    async def run_once(self) -> int:
        """Send every digest that is due now and not yet sent; returns how many were sent."""
        digest = self._config.digest
        if digest is None:
            return 0
        now = self._clock.now()
        sent = 0
        for merchant in self._config.merchants:
            local = now.astimezone(ZoneInfo(merchant.timezone or "UTC"))
            if local.hour < digest.hour:
                continue
            for receiver in self.receivers_for(merchant.id):
                if await self._claim(merchant.id, local.date(), receiver):
                    sent += await self._send(merchant, local.date(), receiver, now)
        return sent

    def receivers_for(self, merchant_id: str) -> list[str]:
        """The configured digest receivers, or the receivers the routing tree picks for the merchant."""
        digest = self._config.digest
        names = (
            list(digest.receivers)
            if digest and digest.receivers
            else list(route(self._config.route, _probe(merchant_id)).receivers)
        )
        return [n for n in names if n in self._notifiers and self._notifiers[n].type in DIGEST_TYPES]

    async def _claim(self, merchant_id: str, day: date, receiver: str) -> bool:
        async with translated():
            claimed = await self._pool.fetchval(
                """INSERT INTO digests AS d (merchant_id, day, receiver) VALUES ($1, $2, $3)
                   ON CONFLICT (merchant_id, day, receiver) DO UPDATE
                       SET attempts = d.attempts + 1, claimed_at = now()
                       WHERE d.status = 'sending' AND d.claimed_at < now() - $4::interval
                   RETURNING true""",
                merchant_id,
                day,
                receiver,
                _LEASE,
            )
        return bool(claimed)

    async def content(self, merchant_id: str, now: datetime) -> DigestContent:
        since = now - timedelta(hours=24)
        async with translated(), self._pool.acquire() as connection:
            negative = await connection.fetch(
                """SELECT platform, count(*) AS n FROM reviews
                   WHERE merchant_id = $1 AND negative AND created_at > $2 GROUP BY platform""",
                merchant_id,
                since,
            )
            incidents = await connection.fetch(
                """SELECT incident_id, kind, severity, title, status, response_state, resolved_at FROM incidents
                   WHERE merchant_id = $1 AND (status <> 'resolved' AND response_state <> 'resolved'
                                               OR resolved_at > $2)
                   ORDER BY started_at DESC LIMIT 200""",
                merchant_id,
                since,
            )
        items = [dict(row) for row in incidents]
        still_open = [i for i in items if i["status"] != "resolved" and i["response_state"] != "resolved"]
        return DigestContent(
            negative_reviews=sum(row["n"] for row in negative),
            negative_by_platform={row["platform"]: row["n"] for row in negative},
            open_incidents=still_open,
            deadlines_at_risk=[i for i in still_open if i["kind"] == "sla_breach"],
            recoveries=[i for i in items if i not in still_open],
        )

    async def _send(self, merchant: Merchant, day: date, receiver: str, now: datetime) -> int:
        content = await self.content(merchant.id, now)
        title, text = content.render(merchant, day)
        incident = _digest_event(merchant.id, day, title, text, now)
        notification = Notification(
            notification_id=deterministic_id("digest", merchant.id, day.isoformat(), receiver),
            receiver=receiver,
            incident=incident,
            title=title,
            text=text,
        )
        try:
            await self._notifiers[receiver].send(notification)
            status = "delivered"
        except StormwatchError as exc:
            log.warning("digest not delivered", merchant=merchant.id, receiver=receiver, error=str(exc))
            status = "failed"
        summary = {
            "negative_reviews": content.negative_reviews,
            "open_incidents": len(content.open_incidents),
            "deadlines_at_risk": len(content.deadlines_at_risk),
            "recoveries": len(content.recoveries),
        }
        async with translated():
            await self._pool.execute(
                """UPDATE digests SET status = $4, delivered_at = CASE WHEN $4 = 'delivered' THEN now() END,
                       summary = $5::jsonb
                   WHERE merchant_id = $1 AND day = $2 AND receiver = $3""",
                merchant.id,
                day,
                receiver,
                status,
                orjson.dumps(summary).decode(),
            )
        log.info("digest sent", merchant=merchant.id, receiver=receiver, day=day.isoformat(), outcome=status)
        return 1 if status == "delivered" else 0


def _probe(merchant_id: str) -> IncidentEvent:
    """A stand-in incident that carries only the merchant, to ask the routing tree where the merchant's mail goes."""
    return _digest_event(merchant_id, date(2000, 1, 1), "", "", datetime(2000, 1, 1, tzinfo=UTC))


def _digest_event(merchant_id: str, day: date, title: str, text: str, now: datetime) -> IncidentEvent:
    stamp = format_rfc3339(now)
    return IncidentEvent(
        incident_id=deterministic_id("digest", merchant_id, day.isoformat()),
        version=1,
        status="update",
        # Not an incident kind: digests never enter the incident log, only the digest log.
        kind="digest",  # type: ignore[arg-type]
        severity="info",
        merchant_id=merchant_id,
        title=title,
        summary=text,
        started_at=stamp,
        detected_at=stamp,
        evidence=Evidence(observed=0, expected=0, window_seconds=86400, rate_per_hour=0),
    )
