"""Alertmanager notifier: POSTs alerts to `/api/v2/alerts`, re-sends firing ones at an interval, resolves by endsAt.

Alertmanager expires an alert it has not heard of for `resolve_timeout` (5 min by default), so a firing incident
is posted again every `resend_interval_seconds` until its resolved state is sent with `endsAt`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from services.alerter.notifiers.base import DeliveryOutcome, Notification
from services.alerter.notifiers.escape import single_line, truncate
from services.alerter.notifiers.http_json import HttpJsonNotifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS
from services.shared.logging import get_logger
from services.shared.timeutil import Clock, format_rfc3339

log = get_logger("stormwatch.alerter.alertmanager")

DEFAULT_RESEND_SECONDS = 60.0


def build_alert(notification: Notification, *, generator_url: str = "") -> dict[str, Any]:
    """One postable alert. Labels identify it (Alertmanager fingerprints the label set): incident id, kind,
    merchant, platform, severity; the human text goes in annotations."""
    incident = notification.incident
    labels = {
        "alertname": f"stormwatch_{incident.kind}",
        "incident_id": incident.incident_id,
        "merchant": incident.merchant_id,
        "severity": incident.severity,
        "kind": incident.kind,
    }
    if incident.platform:
        labels["platform"] = incident.platform
    if incident.category:
        labels["category"] = incident.category
    annotations = {
        "summary": single_line(notification.title, 500),
        "description": truncate(notification.text, 8000),
    }
    annotations.update({f"{name}_url": href for name, href in notification.links.items()})
    alert: dict[str, Any] = {"labels": labels, "annotations": annotations, "startsAt": incident.started_at}
    if incident.status == "resolved":
        alert["endsAt"] = incident.resolved_at or incident.detected_at
    elif notification.action == "resolve":
        # A responder resolved it: the alert ends now (its state payload has no resolved_at yet).
        alert["endsAt"] = format_rfc3339(datetime.now(UTC))
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


class AlertmanagerNotifier(HttpJsonNotifier):
    type = "alertmanager"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        resend_interval_seconds: float = DEFAULT_RESEND_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds, clock=clock)
        self._endpoint = url.rstrip("/") + "/api/v2/alerts"
        self._resend = resend_interval_seconds
        # Firing alerts by incident id, re-posted until resolved. In memory: after a restart the next state of the
        # incident (or Alertmanager's resolve_timeout) takes over.
        self._firing: dict[str, dict[str, Any]] = {}
        self._resender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        if self._resender is None:
            self._resender = asyncio.create_task(self._resend_loop(), name=f"alerter:alertmanager:{self.name}")

    async def close(self) -> None:
        task, self._resender = self._resender, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()

    @property
    def firing(self) -> int:
        return len(self._firing)

    async def send(self, notification: Notification) -> DeliveryOutcome:
        alert = build_alert(notification)
        outcome = self.accept(await self.post_json(self._endpoint, [alert]))
        incident_id = notification.incident.incident_id
        if "endsAt" in alert:
            self._firing.pop(incident_id, None)
        else:
            self._firing[incident_id] = alert
        return outcome

    async def resend_firing(self) -> int:
        """Post every firing alert again (one request); returns how many were sent."""
        alerts = list(self._firing.values())
        if alerts:
            self.accept(await self.post_json(self._endpoint, alerts))
        return len(alerts)

    async def _resend_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resend)
            try:
                await self.resend_firing()
            except Exception as exc:  # noqa: BLE001 - the next round tries again; the loop must not die
                log.warning("re-sending firing alerts failed", receiver=self.name, error=str(exc))
