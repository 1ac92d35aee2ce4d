"""Signed ack/resolve links: valid until expiry, bound to incident and action, forged signatures refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from services.alerter.links import LinkSigner, console_link
from services.shared.errors import ConfigError
from services.shared.settings import Secret, Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INCIDENT = "c" * 32


def _parts(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(url)
    *_, incident_id, action = parts.path.split("/")
    query = parse_qs(parts.query)
    return incident_id, action, query["expires"][0], query["sig"][0]


def test_a_fresh_link_verifies_and_expires() -> None:
    """A link verifies before its expiry and answers "expired" after it."""
    signer = LinkSigner(Secret("s3cret"), "http://alerter.test/", ttl_seconds=600)
    links = signer.links(INCIDENT, NOW)
    assert set(links) == {"acknowledge", "resolve"}
    assert links["acknowledge"].startswith(f"http://alerter.test/api/v1/links/{INCIDENT}/acknowledge?")
    assert signer.verify(*_parts(links["acknowledge"]), NOW + timedelta(seconds=599)) is None
    assert signer.verify(*_parts(links["acknowledge"]), NOW + timedelta(seconds=600)) == "expired"


def test_tampering_is_detected() -> None:
    """Changing the action, the incident, the expiry or the secret makes the signature invalid."""
    signer = LinkSigner(Secret("s3cret"), "http://alerter.test")
    incident_id, _action, expires, sig = _parts(signer.links(INCIDENT, NOW)["acknowledge"])
    assert signer.verify(incident_id, "resolve", expires, sig, NOW) == "forged"
    assert signer.verify("d" * 32, "acknowledge", expires, sig, NOW) == "forged"
    assert signer.verify(incident_id, "acknowledge", str(int(expires) + 1), sig, NOW) == "forged"
    assert LinkSigner(Secret("other"), "x").verify(incident_id, "acknowledge", expires, sig, NOW) == "forged"
    assert signer.verify(incident_id, "delete", expires, sig, NOW) == "malformed"
    assert signer.verify(incident_id, "acknowledge", "soon", sig, NOW) == "malformed"


def test_public_url_setting_is_read_checked_and_trimmed() -> None:
    """STORMWATCH_PUBLIC_URL is optional (None: the alerter's own URL); a trailing slash is dropped; anything
    but an absolute http(s) URL is a ConfigError naming the variable."""
    assert Settings.from_env({}).public_url is None
    assert Settings.from_env({"STORMWATCH_PUBLIC_URL": "https://alerts.example.com/"}).public_url == (
        "https://alerts.example.com"
    )
    for bad in ("alerts.example.com", "ftp://x", "https://"):
        with pytest.raises(ConfigError, match="STORMWATCH_PUBLIC_URL"):
            Settings.from_env({"STORMWATCH_PUBLIC_URL": bad})


def test_console_link_points_at_the_incident_page() -> None:
    """The console link is the console's hash route for the incident under the given base URL."""
    assert console_link("https://a.example/", INCIDENT) == f"https://a.example/console#/incidents/{INCIDENT}"
