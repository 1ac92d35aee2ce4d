"""Opsgenie notifier: Alert API v2 create / acknowledge / close, with `alias` = incident id, `GenieKey` auth."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.alerter.notifiers.base import DeliveryFailed, DeliveryOutcome, Notification
from services.alerter.notifiers.escape import single_line, truncate
from services.alerter.notifiers.http_json import HttpJsonNotifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS
from services.shared.errors import Reason
from services.shared.settings import Secret
from services.shared.timeutil import Clock

DEFAULT_API_URL = "https://api.opsgenie.com"
_PRIORITY = {"critical": "P1", "high": "P2", "warning": "P3", "info": "P5"}


def build_request(notification: Notification, api_url: str) -> tuple[str, dict[str, Any]]:
    """(url, body) of the call for this state: create when firing, close when resolved, acknowledge when acked."""
    incident = notification.incident
    alias = incident.incident_id
    base = api_url.rstrip("/") + "/v2/alerts"
    if incident.status == "resolved" or notification.action == "resolve":
        return f"{base}/{quote(alias)}/close?identifierType=alias", {"source": "stormwatch", "note": "resolved"}
    if notification.action == "acknowledge":
        return f"{base}/{quote(alias)}/acknowledge?identifierType=alias", {"source": "stormwatch"}
    details = {
        "incident_id": incident.incident_id,
        "version": str(incident.version),
        "merchant": incident.merchant_id,
        "platform": incident.platform or "",
        "category": incident.category or "",
        "kind": incident.kind,
    }
    details.update({f"link_{name}": href for name, href in notification.links.items()})
    body: dict[str, Any] = {
        "message": single_line(notification.title, 130),
        "alias": alias,
        "description": truncate(notification.text, 15000),
        "tags": ["stormwatch", incident.kind, incident.severity],
        "details": details,
        "entity": incident.merchant_id,
        "source": "stormwatch",
        "priority": _PRIORITY.get(incident.severity, "P3"),
    }
    return base, body


class OpsgenieNotifier(HttpJsonNotifier):
    type = "opsgenie"

    def __init__(
        self,
        name: str,
        api_key: Secret,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds, clock=clock)
        self._key = api_key
        self._api_url = api_url

    async def send(self, notification: Notification) -> DeliveryOutcome:
        url, body = build_request(notification, self._api_url)
        response = await self.post_json(url, body, {"Authorization": f"GenieKey {self._key.reveal()}"})
        self.accept(response)
        data = response.json()
        if response.status != 202 or not isinstance(data, dict) or not isinstance(data.get("requestId"), str):
            # Opsgenie queues every alert action and answers 202 with a requestId; anything else is not an ack.
            raise DeliveryFailed(
                f"HTTP {response.status} without requestId", retriable=True, reason=Reason.SERVER_ERROR
            )
        return DeliveryOutcome("HTTP 202")
