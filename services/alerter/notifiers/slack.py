"""Slack notifier: an incoming-webhook POST with Block Kit blocks; every untrusted string is escaped for mrkdwn."""

from __future__ import annotations

from typing import Any

from services.alerter.notifiers.base import DeliveryOutcome, Notification
from services.alerter.notifiers.escape import slack_plain, slack_text
from services.alerter.notifiers.http_json import HttpJsonNotifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS
from services.shared.settings import Secret
from services.shared.timeutil import Clock

_SEVERITY_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:", "warning": ":warning:"}


def build_payload(notification: Notification) -> dict[str, Any]:
    """The incoming-webhook body: fallback `text` plus header, body, facts and context blocks.

    Links are not unfurled (a review URL must not pull a preview of attacker-chosen content into the channel).
    """
    incident = notification.incident
    emoji = ":white_check_mark:" if incident.status == "resolved" else _SEVERITY_EMOJI.get(incident.severity, ":bell:")
    fields = [
        {"type": "mrkdwn", "text": f"*Merchant*\n{slack_text(incident.merchant_id, limit=200)}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{incident.severity}"},
        {"type": "mrkdwn", "text": f"*Kind*\n{incident.kind}"},
        {"type": "mrkdwn", "text": f"*Platform*\n{slack_text(incident.platform or '-', limit=200)}"},
    ]
    return {
        "text": slack_plain(notification.title, limit=300),
        "unfurl_links": False,
        "unfurl_media": False,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": slack_plain(notification.title), "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {slack_text(notification.text)}"}},
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"incident `{incident.incident_id}` v{incident.version} · {incident.status}",
                    }
                ],
            },
        ],
    }


class SlackNotifier(HttpJsonNotifier):
    type = "slack"

    def __init__(
        self,
        name: str,
        webhook_url: Secret,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds, clock=clock)
        # The URL is the credential (it embeds the token): kept as a Secret, never logged.
        self._url = webhook_url

    async def send(self, notification: Notification) -> DeliveryOutcome:
        response = await self.post_json(self._url.reveal(), build_payload(notification))
        return self.accept(response)
