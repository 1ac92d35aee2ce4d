"""Render an incident state into the title and plain text a person reads in a notification."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from services.alerter.notifiers.base import Notification, notification_id
from services.shared.events import IncidentEvent, deterministic_id

_STATUS_LABELS = {"open": "OPEN", "update": "UPDATE", "resolved": "RESOLVED"}
# Links only, never sample review text: it is untrusted, can be long, and each notifier escapes what it shows.
_MAX_LINKS = 5


def build_notification(
    incident: IncidentEvent, receiver: str, links: Mapping[str, str] | None = None, step: str = ""
) -> Notification:
    """The notification of one incident state for one receiver, with its deterministic id; `links` (signed
    acknowledge / resolve URLs) are listed at the end of the text and given to notifiers that show buttons."""
    text = render_text(incident)
    if links:
        text += "\n" + "\n".join(f"{name.capitalize()}: {href}" for name, href in links.items())
    return Notification(
        notification_id=notification_id(incident.incident_id, incident.version, receiver, step),
        receiver=receiver,
        incident=incident,
        title=_step_label(step) + render_title(incident),
        text=text,
        links={} if step in {"acknowledge", "resolve"} else dict(links or {}),
        action="acknowledge" if step == "acknowledge" else "resolve" if step == "resolve" else "notify",
    )


def build_group_notification(
    incidents: Sequence[IncidentEvent],
    notification_ids: Sequence[str],
    receiver: str,
    links: Callable[[IncidentEvent], Mapping[str, str]] | None = None,
) -> Notification:
    """One message for several incident states of one group (Alertmanager's aggregation): a title naming how many,
    a one-line index, then each state's own text and links. Its id derives from the notification ids it carries."""
    first = incidents[0]
    merchants = sorted({incident.merchant_id for incident in incidents})
    title = f"[{len(incidents)} incidents] {', '.join(merchants[:3])}: {render_title(first)}"
    index = [f"{n}. {render_title(incident)}" for n, incident in enumerate(incidents, start=1)]
    sections = []
    for n, incident in enumerate(incidents, start=1):
        text = f"--- {n}. {render_title(incident)}\n{render_text(incident)}"
        for name, href in (links(incident) if links is not None else {}).items():
            text += f"\n{name.capitalize()}: {href}"
        sections.append(text)
    return Notification(
        notification_id=group_notification_id(notification_ids),
        receiver=receiver,
        incident=first,
        title=title,
        text="\n".join([f"{len(incidents)} incidents in this group:", *index, "", *sections]),
        links=dict(links(first)) if links is not None else {},
        grouped=tuple(incidents),
    )


def group_notification_id(notification_ids: Sequence[str]) -> str:
    """The id of a group send: the same rows give the same id (a re-send after a crash keeps its idempotency key)."""
    return deterministic_id("group-notification", *sorted(notification_ids))


def _step_label(step: str) -> str:
    """`[ESCALATION level 2, round 1] ` for escalation steps (level / round), `[ACK TIMEOUT] ` for re-notifications."""
    if step.startswith("escalation:"):
        _kind, _policy, level, round_number = step.split(":", 3)
        return f"[ESCALATION level {int(level) + 1}, round {int(round_number) + 1}] "
    if step.startswith("ack_timeout:"):
        return "[ACK TIMEOUT] "
    if step.startswith("repeat:"):
        return "[REPEAT] "
    if step == "acknowledge":
        return "[ACKNOWLEDGED] "
    if step == "resolve":
        return "[RESOLVED BY RESPONDER] "
    return ""


def render_title(incident: IncidentEvent) -> str:
    """`[OPEN] HIGH negative_spike: <title>`: state and severity first, so they survive truncation."""
    status = _STATUS_LABELS.get(incident.status, incident.status.upper())
    return f"[{status}] {incident.severity.upper()} {incident.kind}: {incident.title}"


def render_text(incident: IncidentEvent) -> str:
    """Summary, scope, evidence, timeline, links and playbook, one fact per line."""
    evidence = incident.evidence
    scope = [f"merchant {incident.merchant_id}"]
    if incident.platform:
        scope.append(f"platform {incident.platform}")
    if incident.category:
        scope.append(f"category {incident.category}")
    lines = [
        incident.summary,
        "",
        "Scope: " + ", ".join(scope),
        (
            f"Evidence: {_number(evidence.observed)} observed vs {_number(evidence.expected)} expected "
            f"in {_duration(evidence.window_seconds)} ({_number(evidence.rate_per_hour)}/h)"
        ),
    ]
    if evidence.predicted_reach is not None:
        lines.append(f"Predicted reach: {_number(evidence.predicted_reach)}")
    timeline = f"Started {incident.started_at}, detected {incident.detected_at}"
    if incident.resolved_at:
        timeline += f", resolved {incident.resolved_at}"
    lines.append(timeline)
    links = [item.url for item in evidence.sample_items if item.url][:_MAX_LINKS]
    if links:
        lines.append("Examples:")
        lines.extend(f"- {url}" for url in links)
    if incident.playbook and incident.status != "resolved":
        lines.append("Playbook:")
        lines.extend(f"{number}. {step}" for number, step in enumerate(incident.playbook, start=1))
    lines.append(f"Incident {incident.incident_id} v{incident.version}")
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
