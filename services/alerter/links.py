"""Signed, expiring acknowledge / resolve links: HMAC-SHA256 over incident id, action and expiry.

A link is `{base}/api/v1/links/{incident_id}/{action}?expires=<unix>&sig=<hex>`. GET shows a confirmation page
(mail scanners and chat unfurlers follow links: a GET must never act); POST from that page performs the action.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from services.shared.settings import Secret

LinkAction = Literal["acknowledge", "resolve"]
ACTIONS: tuple[LinkAction, ...] = ("acknowledge", "resolve")
DEFAULT_TTL_SECONDS = 24 * 3600.0
PATH = "/api/v1/links"


def signature(secret: Secret, incident_id: str, action: str, expires: int) -> str:
    message = f"{incident_id}\n{action}\n{expires}".encode()
    return hmac.new(secret.reveal().encode("utf-8"), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class LinkSigner:
    """Makes and checks links. `base_url` is where responders reach the alerter's HTTP server."""

    secret: Secret
    base_url: str
    ttl_seconds: float = DEFAULT_TTL_SECONDS

    def links(self, incident_id: str, now: datetime) -> dict[str, str]:
        expires = int(now.timestamp() + self.ttl_seconds)
        return {action: self.link(incident_id, action, expires) for action in ACTIONS}

    def link(self, incident_id: str, action: LinkAction, expires: int) -> str:
        query = urlencode({"expires": expires, "sig": signature(self.secret, incident_id, action, expires)})
        return f"{self.base_url.rstrip('/')}{PATH}/{incident_id}/{action}?{query}"

    def verify(self, incident_id: str, action: str, expires: str, sig: str, now: datetime) -> str | None:
        """None when the link is valid now; otherwise why not ("expired", "forged", "malformed")."""
        # isascii: str.isdigit() accepts "²", which int() refuses (a 500, found by fuzzing).
        if action not in ACTIONS or not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
            return "malformed"
        expected = signature(self.secret, incident_id, action, int(expires))
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            return "forged"
        if int(expires) <= now.timestamp():
            return "expired"
        return None


def console_link(base_url: str, incident_id: str) -> str:
    """The incident's page in the console (read-only: it asks for the responder's API token)."""
    return f"{base_url.rstrip('/')}/console#/incidents/{incident_id}"
