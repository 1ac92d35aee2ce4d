"""Every notifier carries what a responder needs to act: the incident's evidence, links to sample reviews, the
category's playbook, the console link and the signed acknowledge / resolve links."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from email.message import EmailMessage

import orjson
import pytest

from services.alerter.notifiers import alertmanager, opsgenie, pagerduty, slack
from services.alerter.notifiers.base import Notification
from services.alerter.notifiers.email import build_message
from services.alerter.render import build_group_notification, build_notification
from services.shared.events import Evidence, IncidentEvent, SampleItem

SAMPLE_URL = "https://reviews.example/r/123"
PLAYBOOK_STEP = "Ask the carrier for the delayed parcels"
LINKS = {
    "acknowledge": "https://sw.example/l/ack/abc",
    "resolve": "https://sw.example/l/resolve/abc",
    "console": "https://sw.example/console/#/incidents/abc",
}
EVIDENCE = "Evidence: 30 observed vs 4.5 expected in 15 min (120/h)"


def _incident(key: str = "a") -> IncidentEvent:
    return IncidentEvent(
        incident_id=key * 32,
        version=1,
        status="open",
        kind="negative_spike",
        severity="high",
        merchant_id="acme",
        platform="trustpilot",
        category="logistics",
        title="Negative reviews spike",
        summary="One-star reviews about late deliveries tripled",
        started_at="2026-03-01T10:00:00Z",
        detected_at="2026-03-01T10:05:00Z",
        evidence=Evidence(
            observed=30,
            expected=4.5,
            window_seconds=900,
            rate_per_hour=120.0,
            sample_items=(SampleItem("r-123", "trustpilot", SAMPLE_URL, "late again", "en", 1.0),),
        ),
        playbook=("Check the carrier's status page", PLAYBOOK_STEP),
    )


def _email(notification: Notification) -> str:
    message = build_message(notification, "stormwatch@example.com", ["oncall@example.com"])
    assert isinstance(message, EmailMessage)
    parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    assert len(parts) == 2  # plain text and HTML: each must carry everything
    return "\n=====\n".join(parts)


# Each notifier's outgoing body (or, for the log notifier, the text it logs), as one string.
PAYLOADS: dict[str, Callable[[Notification], str]] = {
    "slack": lambda n: json.dumps(slack.build_payload(n)),
    "email": _email,
    "pagerduty": lambda n: json.dumps(pagerduty.build_event(n, "routing-key")),
    "opsgenie": lambda n: json.dumps(opsgenie.build_request(n, "https://api.opsgenie.test")[1]),
    "alertmanager": lambda n: json.dumps(alertmanager.build_alert(n)),
    "webhook/file": lambda n: orjson.dumps(n.to_dict()).decode(),
    "log": lambda n: n.text,
}


@pytest.mark.parametrize("notifier", sorted(PAYLOADS))
def test_every_notifier_carries_evidence_links_and_playbook(notifier: str) -> None:
    """An open incident's notification, through each notifier, names the evidence (observed vs expected), links
    a sample review, lists the playbook, and carries the console and signed acknowledge / resolve links. In the
    e-mail both the plain-text and the HTML part carry them."""
    body = PAYLOADS[notifier](build_notification(_incident(), "r", links=LINKS))
    for part in body.split("\n=====\n"):
        for needed in (EVIDENCE, SAMPLE_URL, PLAYBOOK_STEP, *LINKS.values()):
            assert needed in part, (notifier, needed)


@pytest.mark.parametrize("notifier", sorted(PAYLOADS))
def test_a_group_send_carries_every_incidents_evidence_and_links(notifier: str) -> None:
    """A group message (several incidents of one group) carries each incident's evidence, playbook and its own
    console link, not only the first incident's."""
    incidents = [_incident("a"), _incident("b")]

    def links(incident: IncidentEvent) -> dict[str, str]:
        return {"console": f"https://sw.example/console/#/incidents/{incident.incident_id}"}

    body = PAYLOADS[notifier](build_group_notification(incidents, ["n1", "n2"], "r", links))
    for incident in incidents:
        assert f"https://sw.example/console/#/incidents/{incident.incident_id}" in body, notifier
    assert body.count(EVIDENCE) >= 2 and body.count(PLAYBOOK_STEP) >= 2, notifier


HOSTILE = "<!channel> @here <@U1> <script>alert(1)</script> *b* \r\nBcc: victim@example.com"


def _hostile() -> IncidentEvent:
    """Review-derived text everywhere a person reads it: title, summary, category, a sample's text and URL."""
    incident = _incident()
    sample = SampleItem("r-666", "trustpilot", f"https://reviews.example/r/666?q={HOSTILE}", HOSTILE, "en", 1.0)
    return dataclasses.replace(
        incident,
        title=f"Spike {HOSTILE}",
        summary=f"Reviews say {HOSTILE}",
        category=HOSTILE,
        evidence=dataclasses.replace(incident.evidence, sample_items=(sample,)),
    )


def _single_lines(*values: object) -> bool:
    return all("\n" not in str(value) and "\r" not in str(value) for value in values)


def test_hostile_review_text_through_every_notifier() -> None:
    """Hostile text in the title, summary, category and a sample review reaches every notifier inert: Slack shows
    no mention, link or markup; e-mail keeps it out of the headers and escapes it in HTML; the one-line fields
    of PagerDuty, Opsgenie and Alertmanager stay one line; Alertmanager's labels (the alert's identity) carry no
    review text; webhook and file bodies carry it as JSON data, unchanged."""
    notification = build_notification(_hostile(), "r", links=LINKS)
    slack_body = json.dumps(slack.build_payload(notification))
    for raw in ("<!channel>", "<@U1>", "<script>", "@here"):
        assert raw not in slack_body, raw

    message = build_message(notification, "stormwatch@example.com", ["oncall@example.com"])
    assert _single_lines(message["Subject"]) and message["Bcc"] is None
    html = message.get_body(("html",))
    assert html is not None and "<script>" not in html.get_content()

    event = pagerduty.build_event(notification, "k")
    assert _single_lines(event["payload"]["summary"], event["payload"]["component"])
    _url, body = opsgenie.build_request(notification, "https://api.opsgenie.test")
    assert _single_lines(body["message"], body["entity"])
    alert = alertmanager.build_alert(notification)
    assert _single_lines(alert["annotations"]["summary"])
    assert all("<" not in key for key in alert["labels"])
    assert not any(HOSTILE in value for name, value in alert["labels"].items() if name != "category")

    decoded = orjson.loads(orjson.dumps(notification.to_dict()))
    assert decoded["incident"]["title"] == f"Spike {HOSTILE}"
    assert decoded["incident"]["evidence"]["sample_items"][0]["text"] == HOSTILE
