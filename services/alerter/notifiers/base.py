"""The notifier contract: a Notification goes in, a DeliveryOutcome comes out, or a DeliveryFailed says why not."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.shared.errors import Reason, StormwatchError
from services.shared.events import IncidentEvent, deterministic_id


def notification_id(incident_id: str, version: int, receiver: str, step: str = "") -> str:
    """The id of one incident state for one receiver (and escalation step): the idempotency key every sink
    deduplicates on."""
    if step:
        return deterministic_id("notification", incident_id, str(version), receiver, step)
    return deterministic_id("notification", incident_id, str(version), receiver)


@dataclass(frozen=True, slots=True)
class Notification:
    """One incident state rendered for one receiver. The same (incident_id, version, receiver) has the same id."""

    notification_id: str
    receiver: str
    incident: IncidentEvent
    title: str
    text: str
    # "acknowledge" / "resolve" when the notification announces a responder's action (PagerDuty and Opsgenie
    # acknowledge or close their alert, Alertmanager ends it, the others show it).
    action: Literal["notify", "acknowledge", "resolve"] = "notify"
    # Signed acknowledge / resolve links by name ("acknowledge", "resolve"), when the alerter has a link secret.
    links: Mapping[str, str] = field(default_factory=dict)
    # A group send (several incident states of one group, due together): every state it carries, `incident` first.
    grouped: tuple[IncidentEvent, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON body webhooks receive and the line the file notifier writes: the full incident state included."""
        record: dict[str, Any] = {
            "notification_id": self.notification_id,
            "receiver": self.receiver,
            "title": self.title,
            "text": self.text,
            "incident": self.incident.to_dict(),
        }
        if self.links:
            record["links"] = dict(self.links)
        if self.grouped:
            record["incidents"] = [incident.to_dict() for incident in self.grouped]
        return record


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """A successful delivery; `detail` is short and fixed-vocabulary ("HTTP 200", "already written")."""

    detail: str = "ok"


class DeliveryFailed(StormwatchError):
    """A send that did not deliver. `retriable` decides between retry and give-up; `retry_after` is the
    receiver's own wish (Retry-After), in seconds, when it expressed one. The message is short and never
    contains URLs, response bodies or review text: it is stored as the notification's last error."""

    def __init__(
        self,
        message: str,
        *,
        retriable: bool,
        reason: Reason,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retriable=retriable, reason=reason)
        self.retry_after = retry_after


class Notifier(abc.ABC):
    """One configured receiver. `type` is the metric label (webhook, file, log); `name` the receiver's name.

    `send` must be safe to call concurrently and must raise DeliveryFailed (or another StormwatchError) for every
    failure it can recognise; the delivery worker treats anything else as a retriable bug.
    """

    type: str = "notifier"

    def __init__(self, name: str) -> None:
        self.name = name

    async def start(self) -> None:  # noqa: B027 - an optional hook: most notifiers open nothing
        """Open what the notifier needs (HTTP session, file scan); called once before the first send."""

    async def close(self) -> None:  # noqa: B027 - an optional hook, like start
        """Release what `start` opened; called once at shutdown after the last send."""

    @abc.abstractmethod
    async def send(self, notification: Notification) -> DeliveryOutcome: ...
