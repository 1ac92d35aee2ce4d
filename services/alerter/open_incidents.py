"""The open-incidents gauge: counted from the incidents table on a short period, so every replica agrees."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from services.alerter.store import translated
from services.alerter.telemetry import AlerterMetrics
from services.shared.errors import StormwatchError
from services.shared.logging import get_logger

log = get_logger("stormwatch.alerter.open_incidents")

REFRESH_SECONDS = 5.0

LabelSet = tuple[str, str, str, str, str]  # kind, severity, platform, merchant, state


class OpenIncidentsGauge:
    """Sets `stormwatch_open_incidents{kind,severity,platform,merchant,state}` from the database.

    An incident is open while neither the detector nor a responder resolved it; `state` is its response state
    (triggered or acknowledged). A label set seen once and now empty is set to 0 rather than removed, so a panel
    shows the drop to zero (the sets are bounded: kinds x severities x platforms x merchant label values x 2)."""

    def __init__(
        self, pool: asyncpg.Pool, metrics: AlerterMetrics, *, refresh_seconds: float = REFRESH_SECONDS
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._refresh_seconds = refresh_seconds
        self._seen: set[LabelSet] = set()
        self._stop = asyncio.Event()

    async def refresh(self) -> dict[LabelSet, int]:
        """Count the open incidents now and set the gauge; returns the counts by label set."""
        async with translated():
            rows = await self._pool.fetch(
                """SELECT kind, severity, COALESCE(platform, '') AS platform, merchant_id, response_state,
                          count(*) AS open
                   FROM incidents WHERE status <> 'resolved' AND response_state <> 'resolved'
                   GROUP BY 1, 2, 3, 4, 5"""
            )
        labels = self._metrics.labels
        counts: dict[LabelSet, int] = {}
        for row in rows:
            key = (row["kind"], row["severity"], row["platform"], labels.merchant(row["merchant_id"]),
                   row["response_state"])  # fmt: skip
            counts[key] = counts.get(key, 0) + row["open"]
        for key in self._seen - counts.keys():
            self._metrics.open_incidents.labels(*key).set(0)
        for key, value in counts.items():
            self._metrics.open_incidents.labels(*key).set(value)
        self._seen |= counts.keys()
        return counts

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Refresh until stopped; a database error is logged and retried on the next period."""
        while not self._stop.is_set():
            try:
                await self.refresh()
            except StormwatchError as exc:
                log.warning("open incidents gauge not refreshed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._refresh_seconds)
