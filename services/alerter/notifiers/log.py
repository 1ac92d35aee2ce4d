"""Log notifier: writes the notification as one readable structlog line (the local demo's console receiver)."""

from __future__ import annotations

from services.alerter.notifiers.base import DeliveryOutcome, Notification, Notifier
from services.shared.logging import get_logger

log = get_logger("stormwatch.alerter.notify")


class LogNotifier(Notifier):
    type = "log"

    async def send(self, notification: Notification) -> DeliveryOutcome:
        incident = notification.incident
        log.info(
            notification.title,
            receiver=self.name,
            notification_id=notification.notification_id,
            incident_id=incident.incident_id,
            version=incident.version,
            status=incident.status,
            merchant=incident.merchant_id,
            text=notification.text,
        )
        return DeliveryOutcome("logged")
