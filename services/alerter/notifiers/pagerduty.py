"""PagerDuty notifier: Events API v2 (`/v2/enqueue`), trigger and resolve with `dedup_key` = incident id."""

from __future__ import annotations

from typing import Any

from services.alerter.notifiers.base import DeliveryFailed, DeliveryOutcome, Notification
from services.alerter.notifiers.escape import single_line, truncate
from services.alerter.notifiers.http_json import HttpJsonNotifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS
from services.shared.errors import Reason
from services.shared.settings import Secret
from services.shared.timeutil import Clock

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
# PagerDuty's severities: ours map onto them (high is PagerDuty's "error").
_SEVERITY = {"critical": "critical", "high": "error", "warning": "warning", "info": "info"}
_MAX_SUMMARY = 1024


def event_action(notification: Notification) -> str:
    """resolved -> resolve; an incident a responder acknowledged -> acknowledge; anything else -> trigger."""
    if notification.incident.status == "resolved" or notification.action == "resolve":
        return "resolve"
    if notification.action == "acknowledge":
        return "acknowledge"
    return "trigger"


def build_event(notification: Notification, routing_key: str, *, source: str = "stormwatch") -> dict[str, Any]:
    """The exact Events API v2 body. PagerDuty shows `summary` as-is (plain text), so it is only flattened."""
    incident = notification.incident
    action = event_action(notification)
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": incident.incident_id,
    }
    if action == "trigger":
        links = [
            {"href": item.url, "text": f"sample {item.item_id}"} for item in incident.evidence.sample_items if item.url
        ]
        links.extend({"href": href, "text": text} for text, href in notification.links.items())
        event["payload"] = {
            "summary": single_line(notification.title, _MAX_SUMMARY),
            "source": source,
            "severity": _SEVERITY.get(incident.severity, "error"),
            "timestamp": incident.detected_at,
            "component": incident.merchant_id,
            "group": incident.platform or "all-platforms",
            "class": incident.kind,
            "custom_details": {
                "text": truncate(notification.text, 8000),
                "incident_id": incident.incident_id,
                "version": incident.version,
                "category": incident.category,
                "observed": incident.evidence.observed,
                "expected": incident.evidence.expected,
                "playbook": list(incident.playbook),
            },
        }
        event["links"] = links[:10]
        event["client"] = "Stormwatch"
    return event


class PagerDutyNotifier(HttpJsonNotifier):
    type = "pagerduty"

    def __init__(
        self,
        name: str,
        routing_key: Secret,
        *,
        url: str = DEFAULT_URL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds, clock=clock)
        self._routing_key = routing_key
        self._url = url

    async def send(self, notification: Notification) -> DeliveryOutcome:
        response = await self.post_json(self._url, build_event(notification, self._routing_key.reveal()))
        if response.status == 400:
            # "invalid event": sending it again cannot help; the errors list is PagerDuty's, not review text.
            raise DeliveryFailed("HTTP 400 invalid event", retriable=False, reason=Reason.CLIENT_ERROR)
        outcome = self.accept(response)
        body = response.json()
        if (
            response.status == 202
            and isinstance(body, dict)
            and body.get("dedup_key") == notification.incident.incident_id
        ):
            return DeliveryOutcome(f"HTTP 202 {event_action(notification)}")
        return outcome
