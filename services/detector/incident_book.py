"""Incident state and event building shared by the viral-thread, response-deadline and rating-drop rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.detector.incidents import format_epoch
from services.shared.events import Evidence, IncidentEvent, IncidentKind, IncidentStatus, Severity, deterministic_id

SEVERITY_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}


@dataclass(slots=True)
class OpenIncident:
    """One open incident of a rule: its id, the last version sent and what that version said."""

    incident_id: str
    started_at: str
    detected_at: str
    severity: Severity
    version: int = 0
    last_value: float = 0.0  # the rule's headline figure in the last version sent (count, predicted reach, ...)

    @classmethod
    def start(cls, merchant_id: str, kind: IncidentKind, scope: str, *, started_at: float, detected_at: float,
              severity: Severity) -> OpenIncident:  # fmt: skip
        """A new incident whose id follows from merchant, kind, scope and start: a replay opens the same one."""
        started = format_epoch(started_at)
        return cls(
            incident_id=deterministic_id(merchant_id, kind, scope, started),
            started_at=started,
            detected_at=format_epoch(detected_at),
            severity=severity,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "started_at": self.started_at,
            "detected_at": self.detected_at,
            "severity": self.severity,
            "version": self.version,
            "last_value": self.last_value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenIncident:
        return cls(
            incident_id=data["incident_id"],
            started_at=data["started_at"],
            detected_at=data["detected_at"],
            severity=data["severity"],
            version=data["version"],
            last_value=float(data["last_value"]),
        )

    def emit(
        self,
        status: IncidentStatus,
        *,
        kind: IncidentKind,
        merchant_id: str,
        title: str,
        summary: str,
        evidence: Evidence,
        value: float,
        at: float,
        observed_at: str | None,
        review_created_at: str | None = None,
        platform: str | None = None,
        category: str | None = None,
        thread_id: str | None = None,
        playbook: tuple[str, ...] = (),
    ) -> IncidentEvent:
        """The next version of this incident (the caller decides that it is worth sending)."""
        self.version += 1
        self.last_value = value
        return IncidentEvent(
            incident_id=self.incident_id,
            version=self.version,
            status=status,
            kind=kind,
            severity=self.severity,
            merchant_id=merchant_id,
            platform=platform,
            category=category,
            thread_id=thread_id,
            title=title[:500],
            summary=summary[:5000],
            started_at=self.started_at,
            detected_at=self.detected_at,
            resolved_at=format_epoch(at) if status == "resolved" else None,
            observed_at=observed_at,
            evidence=evidence,
            playbook=playbook,
            review_created_at=review_created_at,
        )


def optional_incident(data: Mapping[str, Any] | None) -> OpenIncident | None:
    return None if data is None else OpenIncident.from_dict(data)
