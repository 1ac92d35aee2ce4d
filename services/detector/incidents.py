"""Incident lifecycle for negative spikes: deterministic ids, open / update (only on real change) / resolved events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.detector.playbook import playbook_for
from services.detector.scoring import ScoredReview
from services.detector.spike import SpikeSignal
from services.shared.events import (
    Evidence,
    IncidentEvent,
    IncidentKind,
    IncidentStatus,
    SampleItem,
    Severity,
    deterministic_id,
)
from services.shared.timeutil import format_rfc3339

KIND: IncidentKind = "negative_spike"
# The scope of this rule's incidents; per-platform and per-category scopes come with the deeper detection.
MERCHANT_SCOPE = "merchant"
SAMPLE_SIZE = 5
# Sample texts travel in every incident version and page; the link leads to the full review.
_SAMPLE_TEXT_CHARS = 500
# An update is worth sending when the count grew by half since the last version sent (and by a few reviews).
_GROWTH_FACTOR = 1.5
_SEVERITY_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}
# Windows shorter than a minute make hourly rates meaningless.
_MIN_WINDOW_SECONDS = 60


def severity_of(observed: float, expected: float) -> Severity:
    """From the size of the excess and the ratio: 60 against 2 is critical, 6 against 1 a warning."""
    excess = observed - expected
    ratio = observed / max(expected, 1.0)
    if excess >= 500 or (excess >= 50 and ratio >= 5):
        return "critical"
    if excess >= 150 or (excess >= 15 and ratio >= 3):
        return "high"
    return "warning"


def format_epoch(seconds: float) -> str:
    return format_rfc3339(datetime.fromtimestamp(seconds, UTC))


@dataclass(slots=True)
class IncidentState:
    """The merchant's current negative-spike incident (if any) and its most recent negative items."""

    incident_id: str | None = None
    version: int = 0
    started_at: str = ""
    detected_at: str = ""
    severity: Severity = "warning"
    last_observed: int = 0  # the observed count of the last version sent
    recent: list[dict[str, Any]] = field(default_factory=list)  # newest first, at most SAMPLE_SIZE

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "version": self.version,
            "started_at": self.started_at,
            "detected_at": self.detected_at,
            "severity": self.severity,
            "last_observed": self.last_observed,
            "recent": [dict(item) for item in self.recent],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IncidentState:
        return cls(
            incident_id=data["incident_id"],
            version=data["version"],
            started_at=data["started_at"],
            detected_at=data["detected_at"],
            severity=data["severity"],
            last_observed=data["last_observed"],
            recent=[dict(item) for item in data["recent"]],
        )


def sample_item(review: ScoredReview) -> dict[str, Any]:
    """A negative item as an incident keeps it among its samples."""
    event = review.event
    text = event.text if event.text is not None else event.title
    return {
        "item_id": event.item_id,
        "platform": event.platform,
        "url": event.url,
        "text": None if text is None else text[:_SAMPLE_TEXT_CHARS],
        "language": event.language,
        "rating": event.rating,
    }


class IncidentTracker:
    """Turns one merchant's spike signals into versioned incident events. Pure, like the rule feeding it."""

    def __init__(
        self,
        merchant_id: str,
        merchant_name: str,
        min_growth: int,
        state: IncidentState,
        *,
        scope: str = MERCHANT_SCOPE,
        platform: str | None = None,
        category: str | None = None,
    ) -> None:
        self.merchant_id = merchant_id
        self.merchant_name = merchant_name
        self.min_growth = min_growth
        self.state = state
        self.scope = scope  # "merchant", "platform:<platform>" or "category:<category>"
        self.platform = platform
        self.category = category

    @property
    def is_open(self) -> bool:
        return self.state.incident_id is not None

    def observe(self, review: ScoredReview) -> None:
        """Remember the newest negative items: they become the incident's samples."""
        if not (review.counts and review.classification.negative):
            return
        self.add_sample(sample_item(review))

    def add_sample(self, item: dict[str, Any]) -> None:
        """`observe` of a counted negative, its item built once for every scope (`sample_item`; never mutated)."""
        self.state.recent = [item, *self.state.recent[: SAMPLE_SIZE - 1]]

    def on_signal(self, signal: SpikeSignal, review: ScoredReview) -> IncidentEvent | None:
        """The incident event this signal causes, or None when nothing a responder cares about changed."""
        state = self.state
        if signal.phase == "open":
            started_at = format_epoch(signal.started_at)
            state.incident_id = deterministic_id(self.merchant_id, KIND, self.scope, started_at)
            state.version = 0
            state.started_at = started_at
            state.detected_at = review.event_at
            state.severity = severity_of(signal.observed, signal.expected)
            return self._emit(signal, review, "open")
        if state.incident_id is None:
            return None  # a signal for an incident this state never opened (cannot happen with one rule)
        if signal.phase == "resolve":
            event = self._emit(signal, review, "resolved")
            state.incident_id = None
            return event
        severity = _max_severity(state.severity, severity_of(signal.observed, signal.expected))
        grew = (
            signal.observed >= state.last_observed * _GROWTH_FACTOR
            and signal.observed - state.last_observed >= self.min_growth
        )
        if severity == state.severity and not grew:
            return None
        state.severity = severity
        return self._emit(signal, review, "update")

    def _emit(self, signal: SpikeSignal, review: ScoredReview, status: IncidentStatus) -> IncidentEvent:
        state = self.state
        assert state.incident_id is not None
        state.version += 1
        state.last_observed = signal.observed
        window = max(int(signal.at - signal.started_at), _MIN_WINDOW_SECONDS)
        resolved_at = format_epoch(signal.at) if status == "resolved" else None
        evidence = Evidence(
            observed=float(signal.observed),
            expected=round(signal.expected, 3),
            window_seconds=window,
            rate_per_hour=round(signal.observed * 3600 / window, 2),
            sample_items=tuple(SampleItem(**item) for item in state.recent),
            languages=dict(sorted(signal.languages.items())),
            categories=dict(sorted(signal.categories.items())),
        )
        category = self.category or _dominant(signal.categories)
        return IncidentEvent(
            incident_id=state.incident_id,
            version=state.version,
            status=status,
            kind=KIND,
            severity=state.severity,
            merchant_id=self.merchant_id,
            platform=self.platform,
            category=category,
            title=self._title(status),
            summary=self._summary(signal, window, status),
            started_at=state.started_at,
            detected_at=state.detected_at,
            resolved_at=resolved_at,
            observed_at=review.event.observed_at,
            evidence=evidence,
            playbook=playbook_for(category),
            review_created_at=review.event.created_at,
        )

    def _title(self, status: IncidentStatus) -> str:
        where = self.merchant_name
        if self.platform is not None:
            where += f" on {self.platform}"
        if self.category is not None:
            where += f" ({self.category} complaints)"
        if status == "resolved":
            return f"Negative reviews for {where} are back to normal"
        return f"Negative reviews spiking for {where}"

    def _summary(self, signal: SpikeSignal, window: int, status: IncidentStatus) -> str:
        since = self.state.started_at[11:16]
        share = f"{100 * signal.observed / signal.total:.0f}%" if signal.total else "n/a"
        counts = (
            f"{signal.observed} negative reviews in {window // 60} min since {since} UTC against about "
            f"{signal.expected:.1f} expected ({share} of {signal.total} rated reviews negative)"
        )
        if status == "resolved":
            return f"Back to the usual level. In total: {counts}."
        return f"{counts}."


def _dominant(categories: Mapping[str, int]) -> str | None:
    """The category most of the episode's negatives share (ties: the alphabetically first), if any is known."""
    if not categories:
        return None
    return min(categories.items(), key=lambda item: (-item[1], item[0]))[0]


def _max_severity(a: Severity, b: Severity) -> Severity:
    # Severity never drops within an incident: a quieter tail is not news, an escalation is.
    return a if _SEVERITY_RANK[a] >= _SEVERITY_RANK[b] else b
