"""Rendering an incident state into a notification: ids, title, text, and the JSON body receivers get."""

from __future__ import annotations

import dataclasses
from typing import Any

from services.alerter.render import build_notification, render_text, render_title
from services.shared.events import Evidence, IncidentEvent, SampleItem


def _incident(**changes: Any) -> IncidentEvent:
    incident = IncidentEvent(
        incident_id="a" * 32,
        version=2,
        status="update",
        kind="negative_spike",
        severity="high",
        merchant_id="acme",
        platform="trustpilot",
        category="logistics",
        title="One-star reviews about late parcels tripled",
        summary="42 negative reviews in 15 minutes, 9 expected.",
        started_at="2026-03-01T10:00:00Z",
        detected_at="2026-03-01T10:05:00Z",
        observed_at="2026-03-01T10:04:59Z",
        evidence=Evidence(
            observed=42,
            expected=9.25,
            window_seconds=900,
            rate_per_hour=168,
            predicted_reach=12000,
            sample_items=(
                SampleItem("r1", "trustpilot", "https://example.test/r1", "<!channel> where is my parcel", "en", 1),
                SampleItem("r2", "trustpilot", None, "no link here", "en", 1),
            ),
        ),
        playbook=("Decide whether the reviews are fair", "Answer publicly and briefly"),
    )
    return dataclasses.replace(incident, **changes)


def test_notification_id_is_deterministic_per_state_and_receiver() -> None:
    """The same state for the same receiver always has the same id; another version or receiver another one."""
    incident = _incident()
    same = build_notification(incident, "team").notification_id
    assert same == build_notification(_incident(), "team").notification_id
    assert same != build_notification(incident, "pager").notification_id
    assert same != build_notification(_incident(version=3), "team").notification_id
    assert len(same) == 32


def test_title_puts_state_and_severity_first() -> None:
    """The title leads with the state and severity, so a truncated preview still says what matters."""
    assert render_title(_incident()) == "[UPDATE] HIGH negative_spike: One-star reviews about late parcels tripled"
    assert render_title(_incident(status="resolved")).startswith("[RESOLVED] HIGH")


def test_text_has_scope_evidence_links_and_playbook_but_no_review_text() -> None:
    """The text carries summary, scope, evidence, sample links and the playbook; review text (untrusted, and
    escaped differently by each channel) stays out of it."""
    text = render_text(_incident())
    assert text.splitlines()[0] == "42 negative reviews in 15 minutes, 9 expected."
    assert "Scope: merchant acme, platform trustpilot, category logistics" in text
    assert "Evidence: 42 observed vs 9.2 expected in 15 min (168/h)" in text
    assert "Predicted reach: 12000" in text
    assert "- https://example.test/r1" in text
    assert "1. Decide whether the reviews are fair" in text
    assert "<!channel>" not in text
    assert "no link here" not in text
    assert text.endswith(f"Incident {'a' * 32} v2")


def test_resolved_text_drops_the_playbook_and_shows_when() -> None:
    """A resolved state says when it resolved and no longer asks anyone to act."""
    text = render_text(_incident(status="resolved", resolved_at="2026-03-01T12:00:00Z"))
    assert "resolved 2026-03-01T12:00:00Z" in text
    assert "Playbook" not in text


def test_body_carries_the_full_incident_event() -> None:
    """Receivers get the notification fields plus the complete incident event (evidence and playbook)."""
    incident = _incident()
    body = build_notification(incident, "team").to_dict()
    assert set(body) == {"notification_id", "receiver", "title", "text", "incident"}
    assert body["incident"] == incident.to_dict()
    assert body["receiver"] == "team"
