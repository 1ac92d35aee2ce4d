"""Review text is untrusted: whatever it says, it cannot ping a Slack channel, add an e-mail header, become HTML
markup, or forge a log line. Properties over arbitrary hostile text in every incident field a person reads.

Extends the fixed-string hostile tests in tests/unit/test_alerter_notifier_payloads.py with generated inputs.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.alerter.notifiers import slack
from services.alerter.notifiers.email import build_message
from services.alerter.render import build_notification
from services.shared.events import Evidence, IncidentEvent, SampleItem
from services.shared.logging import configure_logging, get_logger
from tests.fuzz.strategies import FUZZ, hostile_text

_MENTION = re.compile(r"<[!@#]|@(here|channel|everyone)\b", re.IGNORECASE)
_OUR_HTML = re.compile(r'<!DOCTYPE html>|</?(html|body|h2|p|br)>|<a href="[^"<>]*">|</a>')


def incident(title: str, summary: str, merchant: str, platform: str, url: str, step: str) -> IncidentEvent:
    """An incident whose every free-text field (and a sample item's link) carries untrusted text."""
    return IncidentEvent(
        incident_id="c" * 32,
        version=1,
        status="open",
        kind="negative_spike",
        severity="high",
        merchant_id=merchant,
        platform=platform,
        category="logistics",
        title=title,
        summary=summary,
        started_at="2026-03-01T10:00:00Z",
        detected_at="2026-03-01T10:05:00Z",
        evidence=Evidence(
            observed=5,
            expected=1,
            window_seconds=900,
            rate_per_hour=20,
            sample_items=(SampleItem("i1", "trustpilot", url, summary, "en", 1.0),),
        ),
        playbook=(step,),
    )


INCIDENTS = st.builds(incident, hostile_text, hostile_text, hostile_text, hostile_text, hostile_text, hostile_text)


def _strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)
    elif isinstance(node, str):
        yield key, node


@FUZZ
@given(hostile=INCIDENTS)
@example(incident("", "", "", "", "", "@HERE_"))  # used to leave "@HERE" whole before a word joiner
def test_slack_payload_never_mentions_or_links(hostile: IncidentEvent) -> None:
    """No text in the Slack payload holds `<!channel>`, `<@U…>`, `<#C…>`, link syntax `<url|x>`, or an unbroken
    @here / @channel / @everyone, and no raw < or > at all, whatever the review said."""
    payload = slack.build_payload(build_notification(hostile, "slack"))
    for key, text in _strings(payload):
        assert not _MENTION.search(text), (key, text)
        assert "<" not in text and ">" not in text, (key, text)


@FUZZ
@given(hostile=INCIDENTS)
def test_email_has_only_our_headers_and_escaped_html(hostile: IncidentEvent) -> None:
    """The e-mail's headers are exactly the ones we set (CR/LF in a title cannot add Bcc: or anything), the
    subject is one line, and the HTML part holds no markup but our own tags."""
    # Links are ours (signed URLs), never review text; their `&` must still be escaped in the HTML.
    notification = dataclasses.replace(
        build_notification(hostile, "mail"), links={"acknowledge": "https://sw.test/a?x=1&y=2"}
    )
    message = build_message(notification, "sw@example.org", ["oncall@example.org"])
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert sorted(parsed.keys()) == sorted(
        ["Subject", "From", "To", "Message-ID", "X-Stormwatch-Notification-Id", "X-Stormwatch-Incident-Id",
         "Content-Type", "MIME-Version"]
    )  # fmt: skip
    assert parsed["To"] == "oncall@example.org"
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
    html = message.get_body(("html",))
    assert html is not None
    leftover = _OUR_HTML.sub("", html.get_content())
    assert "<" not in leftover, leftover


@pytest.fixture
def log_format() -> Iterator[None]:
    yield
    configure_logging("json", os.environ.get("STORMWATCH_TEST_LOG_LEVEL", "warning"))


_SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("fmt", ["json", "console"])
@FUZZ
@given(value=hostile_text)
@example(value="\x1b]0;pwned\x07")  # used to reach the terminal raw in console format
def test_a_log_line_stays_one_line_whatever_it_carries(
    fmt: str, value: str, log_format: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Untrusted text logged as a field (JSON in production, console on a terminal) stays inside one line: no
    raw newline, carriage return or terminal escape of its own reaches the output."""
    configure_logging(fmt, "info")
    capsys.readouterr()
    get_logger("stormwatch.test").info("webhook refused", source=value, reason=value)
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1, out
    body = _SGR.sub("", out[:-1])  # the console renderer's own colours are not the value's
    assert not any(ord(ch) < 32 for ch in body), body
