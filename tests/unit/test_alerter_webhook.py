"""The webhook notifier's request (body, headers, HMAC signature) and how it classifies answers and errors."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest

from services.alerter.notifiers.base import DeliveryFailed
from services.alerter.notifiers.webhook import WebhookNotifier, classify, translate
from services.alerter.render import build_notification
from services.shared.errors import Reason
from services.shared.events import Evidence, IncidentEvent
from services.shared.settings import Secret

NOW = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
INCIDENT = IncidentEvent(
    incident_id="b" * 32,
    version=1,
    status="open",
    kind="viral_thread",
    severity="critical",
    merchant_id="acme",
    title="Salad video",
    summary="40,000 views in a day",
    started_at="2026-03-01T09:00:00Z",
    detected_at="2026-03-01T09:30:00Z",
    evidence=Evidence(observed=40000, expected=300, window_seconds=86400, rate_per_hour=1666.7),
)


def test_signature_verifies_with_an_independent_hmac() -> None:
    """X-Stormwatch-Signature is sha256=HMAC-SHA256(secret, timestamp + "." + body) over the exact bytes sent,
    so a receiver holding the secret can verify it; the timestamp is the send time in Unix seconds."""
    notifier = WebhookNotifier("team", "http://hooks.test/x", signing_secret=Secret("s3cret"))
    notification = build_notification(INCIDENT, "team")
    body, headers = notifier.build_request(notification, NOW)

    expected = hmac.new(b"s3cret", f"{headers['X-Stormwatch-Timestamp']}.".encode() + body, hashlib.sha256)
    assert headers["X-Stormwatch-Signature"] == "sha256=" + expected.hexdigest()
    assert headers["X-Stormwatch-Timestamp"] == str(int(NOW.timestamp()))
    tampered = hmac.new(b"s3cret", f"{headers['X-Stormwatch-Timestamp']}.".encode() + body + b" ", hashlib.sha256)
    assert headers["X-Stormwatch-Signature"] != "sha256=" + tampered.hexdigest()


def test_request_carries_json_body_and_idempotency_key() -> None:
    """The body is the notification as JSON (full incident included) and Idempotency-Key is the notification id;
    without a signing secret there is no signature header."""
    notifier = WebhookNotifier("team", "http://hooks.test/x")
    notification = build_notification(INCIDENT, "team")
    body, headers = notifier.build_request(notification, NOW)
    assert orjson.loads(body) == notification.to_dict()
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == notification.notification_id
    assert "X-Stormwatch-Signature" not in headers


@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_delivered(status: int) -> None:
    """Any 2xx answer means delivered."""
    assert classify(status, None).detail == f"HTTP {status}"


@pytest.mark.parametrize(
    ("status", "reason", "retriable"),
    [
        (429, Reason.RATE_LIMITED, True),
        (408, Reason.TIMEOUT, True),
        (500, Reason.SERVER_ERROR, True),
        (503, Reason.SERVER_ERROR, True),
        (400, Reason.CLIENT_ERROR, False),
        (404, Reason.CLIENT_ERROR, False),
        (301, Reason.CLIENT_ERROR, False),
        (401, Reason.AUTH_ERROR, False),
        (403, Reason.AUTH_ERROR, False),
    ],
)
def test_failure_statuses_are_classified(status: int, reason: Reason, retriable: bool) -> None:
    """429, 408 and 5xx are retriable; auth failures, redirects and other 4xx are not (retrying cannot help)."""
    with pytest.raises(DeliveryFailed) as failure:
        classify(status, 7.0)
    assert (failure.value.reason, failure.value.retriable) == (reason, retriable)
    assert str(failure.value) == f"HTTP {status}"


def test_retry_after_travels_with_retriable_failures() -> None:
    """A 429 or 503 carries the receiver's Retry-After so the scheduler can honour it."""
    with pytest.raises(DeliveryFailed) as failure:
        classify(429, 30.0)
    assert failure.value.retry_after == 30.0


def test_client_errors_translate_to_retriable_failures_without_the_url() -> None:
    """Timeouts and connection errors are retriable with their own reasons; messages never echo the URL (which
    may carry a token)."""
    timeout = translate(TimeoutError())
    disconnected = translate(aiohttp.ServerDisconnectedError())
    other = translate(aiohttp.InvalidURL("https://hooks.test/T000/secret-token"))
    assert (timeout.reason, timeout.retriable) == (Reason.TIMEOUT, True)
    assert (disconnected.reason, disconnected.retriable) == (Reason.CONNECTION_ERROR, True)
    assert (other.reason, other.retriable) == (Reason.OTHER, True)
    assert "secret-token" not in str(other)
