"""Time to first public reply: the detector's deadline tracking puts the merchant's first reply to an overdue
review on the sla_breach incident's later states (optional fields: old events still decode)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from services.detector.deadlines import DeadlineState
from services.detector.engine import DetectionEngine
from services.detector.synthetic import review_event
from services.shared.codec import decode_incident, encode_incident
from services.shared.config import DetectionConfig
from services.shared.events import MerchantReply, ReviewEvent
from services.shared.timeutil import format_rfc3339

T0 = datetime(2026, 11, 16, tzinfo=UTC)


def _stream(reply_after_hours: float) -> list[ReviewEvent]:
    steady = [
        review_event(merchant_id="m1", item_id=f"ok{n}", created=T0 + timedelta(minutes=10 * n), rating=5.0)
        for n in range(60)
    ]
    bad = review_event(merchant_id="m1", item_id="bad", created=T0 + timedelta(hours=1), rating=1.0, text="Late.")
    at = T0 + timedelta(hours=1 + reply_after_hours)
    reply = dataclasses.replace(
        bad,
        event_id="u" * 32,
        event_type="review.updated",
        observed_at=format_rfc3339(at),
        merchant_reply=MerchantReply("Sorry, we are on it.", format_rfc3339(at)),
    )
    return sorted([*steady, bad, reply], key=lambda e: e.observed_at)


def test_late_reply_is_carried_on_the_resolved_sla_breach_state() -> None:
    """2 h reply deadline, reply after 5 h: the sla_breach opens without a reply, and its resolved state says
    when the first reply came and that it came 5 h (18,000 s) after the review was written."""
    engine = DetectionEngine(DetectionConfig(response_deadline_hours={"m1/trustpilot": 2.0}))
    opened, resolved = engine.run(_stream(5.0))
    assert (opened.status, opened.first_reply_at, opened.first_reply_seconds) == ("open", None, None)
    assert resolved.status == "resolved"
    assert resolved.first_reply_at == format_rfc3339(T0 + timedelta(hours=6))
    assert resolved.first_reply_seconds == 5 * 3600.0


def test_first_reply_fields_round_trip_and_old_events_still_decode() -> None:
    """Encoded with the fields they decode to the same event; a state without them encodes exactly as before
    (no keys added) and decodes with None."""
    engine = DetectionEngine(DetectionConfig(response_deadline_hours={"m1/trustpilot": 2.0}))
    opened, resolved = engine.run(_stream(5.0))
    assert decode_incident(encode_incident(resolved)) == resolved
    assert "first_reply_at" not in opened.to_dict()
    assert decode_incident(encode_incident(opened)).first_reply_seconds is None


def test_deadline_state_saved_before_first_replies_existed_still_loads() -> None:
    """Checkpointed deadline state without `first_replies` loads with none; the new state round-trips."""
    state = DeadlineState(first_replies={"reply:trustpilot": ("2026-11-16T06:00:00Z", 18000.0)})
    assert DeadlineState.from_dict(state.to_dict()) == state
    old = state.to_dict()
    del old["first_replies"]
    assert DeadlineState.from_dict(old).first_replies == {}
