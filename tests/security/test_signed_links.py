"""Signed acknowledge / resolve links: valid only for the incident, action and expiry they were signed for, and
only until they expire. Properties over generated ids, actions, expiries and tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from services.alerter.links import ACTIONS, LinkSigner
from services.shared.settings import Secret
from tests.fuzz.strategies import FUZZ, hostile_text

SIGNER = LinkSigner(Secret("link-secret-for-tests"), "https://sw.test")
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
IDS = st.text("0123456789abcdef", min_size=32, max_size=32)


def parts(url: str) -> tuple[str, str, str, str]:
    """incident id, action, expires, sig of a link."""
    split = urlsplit(url)
    *_, incident_id, action = split.path.split("/")
    query = parse_qs(split.query)
    return incident_id, action, query["expires"][0], query["sig"][0]


@FUZZ
@given(incident_id=IDS, action=st.sampled_from(ACTIONS), ttl=st.integers(min_value=1, max_value=10**7))
def test_a_link_is_valid_until_it_expires_then_never(incident_id: str, action: str, ttl: int) -> None:
    """A fresh link verifies; at and after its expiry it is refused as expired."""
    expires = int(NOW.timestamp()) + ttl
    link = SIGNER.link(incident_id, action, expires)  # type: ignore[arg-type]
    assert SIGNER.verify(*parts(link), NOW) is None
    assert SIGNER.verify(*parts(link), NOW + timedelta(seconds=ttl)) == "expired"
    assert SIGNER.verify(*parts(link), NOW + timedelta(days=3650)) == "expired"


@FUZZ
@given(
    incident_id=IDS,
    other_id=IDS,
    action=st.sampled_from(ACTIONS),
    delta=st.integers(min_value=1, max_value=10**6),
    junk=hostile_text,
)
def test_a_link_is_bound_to_its_incident_action_and_expiry(
    incident_id: str, other_id: str, action: str, delta: int, junk: str
) -> None:
    """The signature of one link does not verify for another incident, the other action, a later expiry, a
    different secret, or a tampered signature."""
    expires = int(NOW.timestamp()) + 3600
    _id, _action, stamp, sig = parts(SIGNER.link(incident_id, action, expires))  # type: ignore[arg-type]
    other_action = next(a for a in ACTIONS if a != action)
    if other_id != incident_id:
        assert SIGNER.verify(other_id, action, stamp, sig, NOW) == "forged"
    assert SIGNER.verify(incident_id, other_action, stamp, sig, NOW) == "forged"
    assert SIGNER.verify(incident_id, action, str(expires + delta), sig, NOW) == "forged"
    stranger = LinkSigner(Secret("another-secret"), "https://sw.test")
    assert stranger.verify(incident_id, action, stamp, sig, NOW) == "forged"
    if junk != sig:
        assert SIGNER.verify(incident_id, action, stamp, junk, NOW) == "forged"
    if junk != action:
        assert SIGNER.verify(incident_id, junk, stamp, sig, NOW) in {"malformed", "forged"}
    if junk != stamp:
        assert SIGNER.verify(incident_id, action, junk, sig, NOW) in {"malformed", "forged"}
