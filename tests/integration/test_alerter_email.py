"""The e-mail notifier against a real SMTP server (aiosmtpd) that requires STARTTLS with a self-signed certificate."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.alerter.notifiers.base import DeliveryFailed
from services.alerter.notifiers.email import EmailNotifier
from services.alerter.render import build_notification
from services.shared.embedded import free_port
from tests.integration.test_alerter_support import make_incident

HOSTILE = "<!channel> @here <script>alert(1)</script> *bold* & \n newline"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.tls_seen: list[bool] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.tls_seen.append(session.ssl is not None)
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope, message))
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True, ready_timeout=10
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _notifier(port: int, ca_file: Path | None) -> EmailNotifier:
    return EmailNotifier(
        "mail",
        host="127.0.0.1",
        port=port,
        sender="stormwatch@example.org",
        recipients=["oncall@example.org", "pr@example.org"],
        ca_file=None if ca_file is None else str(ca_file),
        timeout_seconds=5,
    )


def _incident() -> Any:
    incident = make_incident("mail", 1, "open")
    return dataclasses.replace(incident, title=f"Spike {HOSTILE}", summary=f"Review: {HOSTILE}")


async def test_email_arrives_over_starttls_as_plain_and_escaped_html(
    smtp_server: tuple[Inbox, int], certificate: tuple[Path, Path]
) -> None:
    """The server requires STARTTLS; the message arrives over TLS to both recipients, multipart/alternative with
    a plain part (the text as is) and an HTML part where the review's <script> is escaped; the subject is one line."""
    inbox, port = smtp_server
    notifier = _notifier(port, certificate[0])
    notification = build_notification(_incident(), "mail")
    outcome = await notifier.send(notification)
    assert outcome.detail == "SMTP 250"
    await asyncio.sleep(0)
    assert inbox.tls_seen == [True]
    envelope, message = inbox.messages[0]
    assert sorted(envelope.rcpt_tos) == ["oncall@example.org", "pr@example.org"]
    assert message.get_content_type() == "multipart/alternative"
    assert "\n" not in str(message["Subject"])
    assert message["X-Stormwatch-Notification-Id"] == notification.notification_id
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "<script>alert(1)</script>" in plain.get_content()
    html_content = html.get_content()
    assert "<script>" not in html_content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_content
    assert "&lt;!channel&gt;" in html_content


async def test_email_refuses_an_untrusted_certificate(smtp_server: tuple[Inbox, int]) -> None:
    """Without the CA of the self-signed certificate the STARTTLS handshake fails: a retriable failure, no mail."""
    inbox, port = smtp_server
    with pytest.raises(DeliveryFailed) as failure:
        await _notifier(port, None).send(build_notification(_incident(), "mail"))
    assert failure.value.retriable
    assert inbox.messages == []
