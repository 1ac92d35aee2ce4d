"""Notifier payloads without I/O: escaping per medium, Slack blocks, PagerDuty / Opsgenie / Alertmanager bodies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import orjson

from services.alerter.notifiers import alertmanager, opsgenie, pagerduty, slack
from services.alerter.notifiers.email import build_message
from services.alerter.notifiers.escape import html_text, single_line, slack_plain, slack_text
from services.alerter.render import build_notification
from services.shared.events import Evidence, IncidentEvent

HOSTILE = "<!channel> @here @Channel <@U123> <#C1|x> <script>alert(1)</script> *bold* _it_ ~s~ `c` & \n newline"


def _incident(**changes: Any) -> IncidentEvent:
    incident = IncidentEvent(
        incident_id="b" * 32,
        version=1,
        status="open",
        kind="viral_thread",
        severity="critical",
        merchant_id="acme",
        platform="x",
        category="quality",
        title=f"Thread {HOSTILE}",
        summary=f"Post says {HOSTILE}",
        started_at="2026-03-01T10:00:00Z",
        detected_at="2026-03-01T10:05:00Z",
        evidence=Evidence(observed=5, expected=1, window_seconds=3600, rate_per_hour=5),
    )
    return dataclasses.replace(incident, **changes)


def test_slack_text_neutralises_mentions_markup_and_html() -> None:
    """No raw <, > or & entity-breaking; @here/@channel broken; mrkdwn formatting characters shown literally."""
    out = slack_text(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out
    assert "@here" not in out and "@Channel" not in out
    assert "*bold*" not in out and "_it_" not in out
    assert "&amp;" in out


def test_slack_plain_is_one_line_and_bounded() -> None:
    """Header and fallback text: one line, at most the limit, still mention-safe."""
    out = slack_plain(HOSTILE * 20, limit=150)
    assert "\n" not in out and len(out) <= 150 and "@here" not in out and "<" not in out


def test_html_and_single_line() -> None:
    """HTML escapes tags and quotes; single_line drops control characters (no header injection)."""
    assert html_text('<b>"x"</b>') == "&lt;b&gt;&quot;x&quot;&lt;/b&gt;"
    assert single_line("a\r\nBcc: evil@x\x00", 100) == "a Bcc: evil@x"


def test_slack_payload_is_block_kit_and_escaped() -> None:
    """The payload has a plain_text header, an mrkdwn body and facts; no link unfurling."""
    body = slack.build_payload(build_notification(_incident(), "s"))
    assert body["unfurl_links"] is False
    assert body["blocks"][0]["text"]["type"] == "plain_text"
    assert "<script>" not in str(body) and "@here" not in str(body)


def test_pagerduty_event_maps_state_to_action() -> None:
    """open -> trigger with critical severity; acknowledge action -> acknowledge; resolved -> resolve."""
    notification = build_notification(_incident(), "pd")
    trigger = pagerduty.build_event(notification, "k")
    assert trigger["event_action"] == "trigger" and trigger["payload"]["severity"] == "critical"
    assert trigger["dedup_key"] == "b" * 32
    ack = pagerduty.build_event(dataclasses.replace(notification, action="acknowledge"), "k")
    assert ack == {"routing_key": "k", "event_action": "acknowledge", "dedup_key": "b" * 32}
    resolved = build_notification(_incident(status="resolved", version=2), "pd")
    assert pagerduty.build_event(resolved, "k")["event_action"] == "resolve"


def test_opsgenie_request_and_alertmanager_alert() -> None:
    """Opsgenie: create at /v2/alerts with alias and P1 for critical; Alertmanager: labels identify the incident,
    a resolved state carries endsAt, and signed links become annotations."""
    notification = dataclasses.replace(
        build_notification(_incident(), "og"), links={"acknowledge": "https://sw.test/a"}
    )
    url, body = opsgenie.build_request(notification, "https://api.opsgenie.test/")
    assert url == "https://api.opsgenie.test/v2/alerts"
    assert body["alias"] == "b" * 32 and body["priority"] == "P1" and len(body["message"]) <= 130
    assert body["details"]["link_acknowledge"] == "https://sw.test/a"
    alert = alertmanager.build_alert(notification)
    assert "endsAt" not in alert and alert["annotations"]["acknowledge_url"] == "https://sw.test/a"
    resolved = build_notification(_incident(status="resolved", version=2, resolved_at="2026-03-01T11:00:00Z"), "am")
    assert alertmanager.build_alert(resolved)["endsAt"] == "2026-03-01T11:00:00Z"


def test_email_message_subject_is_one_line_and_html_escaped() -> None:
    """The subject cannot inject headers; the HTML part escapes the review; links appear in both parts."""
    notification = dataclasses.replace(
        build_notification(_incident(), "mail"), links={"resolve": "https://sw.test/r?a=1&b=2"}
    )
    message = build_message(notification, "sw@example.org", ["a@example.org"])
    assert "\n" not in str(message["Subject"])
    html = message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert "<script>" not in content and 'href="https://sw.test/r?a=1&amp;b=2"' in content


def test_webhook_file_and_log_carry_hostile_text_as_json_data() -> None:
    """The generic webhook and the file notifier send JSON: the hostile text survives as data (orjson escapes
    control characters), never as markup; signed links are part of the body."""
    from services.alerter.notifiers.webhook import WebhookNotifier

    notification = dataclasses.replace(
        build_notification(_incident(), "hook"), links={"acknowledge": "https://sw.test/a"}
    )
    body, headers = WebhookNotifier("hook", "https://hooks.test/x").build_request(
        notification, datetime(2026, 3, 1, tzinfo=UTC)
    )
    decoded = orjson.loads(body)
    assert decoded["incident"]["title"] == f"Thread {HOSTILE}"
    assert b"\n newline" not in body  # the newline is escaped inside the JSON string
    assert decoded["links"] == {"acknowledge": "https://sw.test/a"}
    assert headers["Content-Type"] == "application/json"


def test_escalation_and_follow_up_titles_and_actions() -> None:
    """Escalation steps, repeats and responder follow-ups are labelled in the title; follow-ups carry the action
    PagerDuty and Opsgenie act on, and no links."""
    incident = _incident()
    assert build_notification(incident, "p", step="escalation:oncall:1:0").title.startswith(
        "[ESCALATION level 2, round 1]"
    )
    assert build_notification(incident, "p", step="repeat:3").title.startswith("[REPEAT]")
    ack = build_notification(incident, "p", {"resolve": "https://x"}, step="acknowledge")
    assert ack.action == "acknowledge" and ack.links == {} and ack.title.startswith("[ACKNOWLEDGED]")
    resolved = build_notification(incident, "p", step="resolve")
    assert pagerduty.build_event(resolved, "k")["event_action"] == "resolve"
    assert opsgenie.build_request(resolved, "https://og.test")[0].endswith("/close?identifierType=alias")
    assert "endsAt" in alertmanager.build_alert(resolved)
