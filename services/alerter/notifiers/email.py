"""E-mail notifier: SMTP with STARTTLS (aiosmtplib), a multipart message with plain text and escaped HTML."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from services.alerter.notifiers.base import DeliveryFailed, DeliveryOutcome, Notification, Notifier
from services.alerter.notifiers.escape import html_text, single_line
from services.shared.errors import Reason
from services.shared.settings import Secret

DEFAULT_TIMEOUT_SECONDS = 15.0


def build_message(notification: Notification, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The message: subject flattened to one line (no header injection), plain text, and HTML where every
    untrusted string is escaped. Message-ID derives from the notification id, so a re-send is recognisable."""
    message = EmailMessage()
    message["Subject"] = single_line(notification.title, 200)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(idstring=notification.notification_id, domain="stormwatch.invalid")
    message["X-Stormwatch-Notification-Id"] = notification.notification_id
    message["X-Stormwatch-Incident-Id"] = notification.incident.incident_id
    plain = notification.text
    links_plain = "".join(f"\n{name.capitalize()}: {href}" for name, href in notification.links.items())
    message.set_content(plain + ("\n" + links_plain if links_plain else ""))
    links_html = "".join(
        f'<p><a href="{html_text(href)}">{html_text(name.capitalize())}</a></p>\n'
        for name, href in notification.links.items()
    )
    html_body = (
        "<!DOCTYPE html>\n<html><body>\n"
        f"<h2>{html_text(notification.title)}</h2>\n"
        f"<p>{html_text(plain)}</p>\n{links_html}</body></html>\n"
    )
    message.add_alternative(html_body, subtype="html")
    return message


class EmailNotifier(Notifier):
    """One SMTP session per send (notifications are rare; a pooled connection would need keep-alive care)."""

    type = "email"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        starttls: bool = True,
        username: str | None = None,
        password: Secret | None = None,
        ca_file: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(name)
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = tuple(recipients)
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout_seconds
        self._tls = ssl.create_default_context(cafile=ca_file)

    async def send(self, notification: Notification) -> DeliveryOutcome:
        message = build_message(notification, self._sender, self._recipients)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                start_tls=self._starttls,
                use_tls=False,
                tls_context=self._tls,
                username=self._username,
                password=None if self._password is None else self._password.reveal(),
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("recipients refused", retriable=False, reason=Reason.CLIENT_ERROR) from None
        except aiosmtplib.SMTPAuthenticationError:
            raise DeliveryFailed("SMTP authentication failed", retriable=False, reason=Reason.AUTH_ERROR) from None
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx is a temporary refusal (greylisting, quota); 5xx is permanent.
            retriable = 400 <= exc.code < 500
            reason = Reason.SERVER_ERROR if retriable else Reason.CLIENT_ERROR
            raise DeliveryFailed(f"SMTP {exc.code}", retriable=retriable, reason=reason) from None
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            raise DeliveryFailed("timeout", retriable=True, reason=Reason.TIMEOUT) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"SMTP error: {type(exc).__name__}", retriable=True, reason=Reason.CONNECTION_ERROR
            ) from None
        return DeliveryOutcome("SMTP 250")
