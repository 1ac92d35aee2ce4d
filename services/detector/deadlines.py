"""Response deadlines: negative reviews without a merchant reply, marketplace resolution windows, recoveries.

Timers run on the merchant's event-time watermark (the newest event time seen for the merchant), never the wall,
so the backtest and a replay fire them at the same events. They are off unless configured: `response_deadline_hours`
and `resolution_window_hours` map 'merchant/platform', 'merchant', '*/platform' or '*' to hours (most specific
wins). One `sla_breach` incident per merchant x platform and timer type gathers every overdue review; it resolves
when none is overdue any more. A reply, a resolution or a rating raised to non-negative closes a timer and counts as
a recovery.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from services.detector.incident_book import OpenIncident
from services.detector.negativity import DEFAULT_SCALE, NEGATIVE_AT_MOST
from services.detector.playbook import playbook_for
from services.detector.scoring import ScoredReview
from services.shared.events import Evidence, IncidentEvent, IncidentStatus, SampleItem, Severity
from services.shared.timeutil import format_rfc3339, parse_rfc3339

Recovery = Literal["replied", "resolved", "rating_raised"]
# Timers are checked at most this often in event time (a minute of lateness on a 2 h deadline is noise).
SWEEP_SECONDS = 60.0
# A review unanswered this long stops counting (the incident then resolves): it is history, not an emergency.
MAX_TIMER_AGE_SECONDS = 4 * 86400.0
# Bounded memory: beyond this many open timers per merchant the oldest are dropped (the incident says how many).
MAX_TIMERS = 1000
_GROWTH_FACTOR = 1.5
_SAMPLES = 5


def hours_for(table: Mapping[str, float], merchant_id: str, platform: str) -> float | None:
    """The configured hours for a merchant on a platform; None when no key applies (the timer is off)."""
    for key in (f"{merchant_id}/{platform}", merchant_id, f"*/{platform}", "*"):
        if key in table:
            return float(table[key])
    return None


@dataclass(slots=True)
class Timer:
    platform: str
    created: float
    reply_due: float | None
    resolve_due: float | None
    url: str | None = None
    text: str | None = None
    replied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "created": self.created,
            "reply_due": self.reply_due,
            "resolve_due": self.resolve_due,
            "url": self.url,
            "text": self.text,
            "replied": self.replied,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timer:
        return cls(
            platform=data["platform"],
            created=float(data["created"]),
            reply_due=None if data["reply_due"] is None else float(data["reply_due"]),
            resolve_due=None if data["resolve_due"] is None else float(data["resolve_due"]),
            url=data["url"],
            text=data["text"],
            replied=data["replied"],
        )


@dataclass(slots=True)
class DeadlineState:
    timers: dict[str, Timer] = field(default_factory=dict)  # by item id
    incidents: dict[str, OpenIncident] = field(default_factory=dict)  # by scope: reply:<platform>, resolution:<p>
    next_sweep: float = 0.0
    # By reply scope with an open incident: the merchant's first public reply to one of its overdue reviews
    # (RFC 3339 reply time, seconds from the review's creation), carried on the incident's later states.
    first_replies: dict[str, tuple[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timers": {key: t.to_dict() for key, t in sorted(self.timers.items())},
            "incidents": {key: i.to_dict() for key, i in sorted(self.incidents.items())},
            "next_sweep": self.next_sweep,
            "first_replies": {key: list(value) for key, value in sorted(self.first_replies.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeadlineState:
        return cls(
            timers={key: Timer.from_dict(raw) for key, raw in data["timers"].items()},
            incidents={key: OpenIncident.from_dict(raw) for key, raw in data["incidents"].items()},
            next_sweep=float(data["next_sweep"]),
            # Absent in state saved before time to first reply was tracked.
            first_replies={
                key: (str(value[0]), float(value[1])) for key, value in data.get("first_replies", {}).items()
            },
        )


class DeadlineWatcher:
    """One merchant's reply and resolution timers and its sla_breach incidents."""

    def __init__(
        self,
        merchant_id: str,
        merchant_name: str,
        *,
        reply_hours: Mapping[str, float],
        resolve_hours: Mapping[str, float],
        warn_before_hours: float,
        state: DeadlineState,
    ) -> None:
        self.merchant_id = merchant_id
        self.merchant_name = merchant_name
        self.reply_hours = reply_hours
        self.resolve_hours = resolve_hours
        self.warn_before = warn_before_hours * 3600.0
        self.state = state
        self.enabled = bool(reply_hours or resolve_hours)

    def observe(self, review: ScoredReview, now: float, recoveries: list[tuple[str, Recovery]]) -> list[IncidentEvent]:
        """Start or close timers for this event, then fire what is due at `now` (the merchant's watermark)."""
        if not self.enabled and not self.state.timers and not self.state.incidents:
            return []
        event = review.event
        timers = self.state.timers
        changed = False
        if event.event_type == "review.created" and event.kind == "review":
            changed = self._start(review)
        elif event.item_id in timers:
            timer = timers[event.item_id]
            if event.event_type == "review.deleted":
                del timers[event.item_id]
                changed = True
            else:
                how = _recovery(review, timer)
                if how is not None:
                    changed = True
                    recoveries.append((timer.platform, how))
                    if how == "replied":
                        self._note_first_reply(review, timer, now)
                    if how == "replied" and timer.resolve_due is not None:
                        timer.replied = True
                        timer.reply_due = None
                    else:
                        del timers[event.item_id]
        if not changed and now < self.state.next_sweep:
            return []
        self.state.next_sweep = now + SWEEP_SECONDS
        return self._update_incidents(now, review)

    def _note_first_reply(self, review: ScoredReview, timer: Timer, now: float) -> None:
        """A reply to an overdue review of an open reply incident: the incident's first reply, if none yet."""
        scope = f"reply:{timer.platform}"
        if scope not in self.state.incidents or scope in self.state.first_replies:
            return
        if timer.reply_due is None or timer.reply_due > now:
            return  # answered in time: not part of the breach
        reply = review.event.merchant_reply
        replied = now
        if reply is not None and reply.created_at is not None:
            try:
                replied = parse_rfc3339(reply.created_at).timestamp()
            except ValueError:
                replied = now
        at = format_rfc3339(datetime.fromtimestamp(replied, UTC))
        self.state.first_replies[scope] = (at, max(0.0, replied - timer.created))

    def _start(self, review: ScoredReview) -> bool:
        event = review.event
        if not review.classification.negative or event.merchant_reply is not None:
            return False
        reply = hours_for(self.reply_hours, self.merchant_id, event.platform)
        resolve = hours_for(self.resolve_hours, self.merchant_id, event.platform)
        if reply is None and resolve is None:
            return False
        text = event.text or event.title
        timers = self.state.timers
        if len(timers) >= MAX_TIMERS:
            del timers[min(timers, key=lambda key: (timers[key].created, key))]
        timers[event.item_id] = Timer(
            platform=event.platform,
            created=review.event_time,
            reply_due=None if reply is None else review.event_time + reply * 3600.0,
            resolve_due=None if resolve is None else review.event_time + resolve * 3600.0,
            url=event.url,
            text=None if text is None else text[:160],
        )
        return False  # a new timer is never due at once

    def _update_incidents(self, now: float, review: ScoredReview) -> list[IncidentEvent]:
        timers = self.state.timers
        for key in [k for k, t in timers.items() if now - t.created > MAX_TIMER_AGE_SECONDS]:
            del timers[key]
        overdue: dict[str, list[tuple[str, Timer]]] = {}
        for item_id, timer in sorted(timers.items()):
            if timer.reply_due is not None and timer.reply_due <= now:
                overdue.setdefault(f"reply:{timer.platform}", []).append((item_id, timer))
            if timer.resolve_due is not None and timer.resolve_due - self.warn_before <= now:
                overdue.setdefault(f"resolution:{timer.platform}", []).append((item_id, timer))
        incidents = []
        for scope in sorted(set(overdue) | set(self.state.incidents)):
            emitted = self._decide(scope, overdue.get(scope, []), now, review)
            if emitted is not None:
                incidents.append(emitted)
        return incidents

    def _decide(
        self, scope: str, items: list[tuple[str, Timer]], now: float, review: ScoredReview
    ) -> IncidentEvent | None:
        incident = self.state.incidents.get(scope)
        count = len(items)
        if incident is None:
            if count == 0:
                return None
            first_due = min(_due(scope, t, self.warn_before) for _, t in items)
            incident = OpenIncident.start(
                self.merchant_id,
                "sla_breach",
                scope,
                started_at=first_due,
                detected_at=now,
                severity=self._severity(scope, items, now),
            )
            self.state.incidents[scope] = incident
            return self._emit(scope, incident, "open", items=items, now=now, review=review)
        if count == 0:
            del self.state.incidents[scope]
            resolved = self._emit(scope, incident, "resolved", items=items, now=now, review=review)
            self.state.first_replies.pop(scope, None)
            return resolved
        severity = self._severity(scope, items, now)
        if severity == incident.severity and count < incident.last_value * _GROWTH_FACTOR:
            return None
        incident.severity = severity
        return self._emit(scope, incident, "update", items=items, now=now, review=review)

    def _severity(self, scope: str, items: list[tuple[str, Timer]], now: float) -> Severity:
        if scope.startswith("resolution:"):
            passed = any(t.resolve_due is not None and t.resolve_due <= now for _, t in items)
            return "high" if passed else "warning"
        if len(items) >= 50:
            return "critical"
        return "high" if len(items) >= 5 else "warning"

    def _emit(
        self, scope: str, incident: OpenIncident, status: IncidentStatus, *, items: list[tuple[str, Timer]],
        now: float, review: ScoredReview,
    ) -> IncidentEvent:  # fmt: skip
        kind, platform = scope.split(":", 1)
        count = len(items)
        if kind == "reply":
            hours = hours_for(self.reply_hours, self.merchant_id, platform) or 0.0
            what = f"negative reviews on {platform} without a reply after {hours:g} h"
        else:
            hours = hours_for(self.resolve_hours, self.merchant_id, platform) or 0.0
            what = f"negative reviews on {platform} close to or past their {hours:g} h resolution window"
        if status == "resolved":
            title = f"Every {kind} deadline of {self.merchant_name} on {platform} is met again"
            summary = f"No {what} any more."
        else:
            title = f"{count} {what} ({self.merchant_name})"
            oldest = min((t.created for _, t in items), default=now)
            summary = f"{count} {what}; the oldest was written {(now - oldest) / 3600:.1f} h ago. Answer them now."
        samples = tuple(
            SampleItem(item_id=item_id, platform=t.platform, url=t.url, text=t.text, language=None, rating=None)
            for item_id, t in items[:_SAMPLES]
        )
        window = max(int(now - min((t.created for _, t in items), default=now)), 0)
        evidence = Evidence(
            observed=float(count),
            expected=0.0,
            window_seconds=window,
            rate_per_hour=round(count * 3600 / window, 2) if window else 0.0,
            sample_items=samples,
        )
        event = incident.emit(
            status,
            kind="sla_breach",
            merchant_id=self.merchant_id,
            title=title,
            summary=summary,
            evidence=evidence,
            value=float(count),
            at=now,
            observed_at=review.event.observed_at,
            review_created_at=review.event.created_at,
            platform=platform,
            playbook=playbook_for("service"),
        )
        first_reply = self.state.first_replies.get(scope)
        if first_reply is None:
            return event
        return dataclasses.replace(event, first_reply_at=first_reply[0], first_reply_seconds=first_reply[1])


def _due(scope: str, timer: Timer, warn_before: float) -> float:
    if scope.startswith("reply:"):
        assert timer.reply_due is not None
        return timer.reply_due
    assert timer.resolve_due is not None
    return timer.resolve_due - warn_before


def _recovery(review: ScoredReview, timer: Timer) -> Recovery | None:
    """What a later version of a tracked review says: answered, resolved, rating raised, or nothing new."""
    event = review.event
    resolved = event.attributes.get("resolved")
    if resolved is True or event.attributes.get("resolution") not in (None, "", False):
        return "resolved"
    if event.rating is not None:
        scale = event.rating_scale or DEFAULT_SCALE
        try:
            if scale.normalise(event.rating) > NEGATIVE_AT_MOST:
                return "rating_raised"
        except ValueError:
            pass
    if event.merchant_reply is not None and not timer.replied:
        return "replied"
    return None
