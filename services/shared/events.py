"""Typed events at the boundary: the review event, the incident event and the dead-letter record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

REVIEW_SCHEMA = "review-event.v1"
INCIDENT_SCHEMA = "incident-event.v1"
DEADLETTER_SCHEMA = "deadletter.v1"

EventType = Literal["review.created", "review.updated", "review.deleted", "thread.snapshot"]
ItemKind = Literal["review", "comment", "post", "mention"]
IncidentStatus = Literal["open", "update", "resolved"]
IncidentKind = Literal["negative_spike", "viral_thread", "sla_breach", "rating_drop"]
Severity = Literal["critical", "high", "warning", "info"]

AttributeValue = str | int | float | bool | None | list[str]


def deterministic_id(*parts: str) -> str:
    """A 32-hex-digit id from its parts: the same inputs always give the same id (re-polls, replays)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


@dataclass(frozen=True, slots=True)
class RatingScale:
    min: float
    max: float

    def normalise(self, rating: float) -> float:
        """Map a rating onto 0 (worst) .. 1 (best)."""
        span = self.max - self.min
        if span <= 0:
            raise ValueError(f"rating scale {self.min}..{self.max} is empty")
        return min(1.0, max(0.0, (rating - self.min) / span))


@dataclass(frozen=True, slots=True)
class Engagement:
    views: int | None = None
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None


@dataclass(frozen=True, slots=True)
class MerchantReply:
    text: str
    created_at: str | None


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """One observation of an item on a platform. Timestamps are RFC 3339 UTC strings, as on the wire."""

    event_id: str
    event_type: EventType
    merchant_id: str
    platform: str
    source_id: str
    item_id: str
    kind: ItemKind
    created_at: str
    observed_at: str
    thread_id: str | None = None
    parent_id: str | None = None
    rating: float | None = None
    rating_scale: RatingScale | None = None
    title: str | None = None
    text: str | None = None
    language: str | None = None
    author: str | None = None
    url: str | None = None
    engagement: Engagement | None = None
    merchant_reply: MerchantReply | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REVIEW_SCHEMA,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "merchant_id": self.merchant_id,
            "platform": self.platform,
            "source_id": self.source_id,
            "item_id": self.item_id,
            "thread_id": self.thread_id,
            "parent_id": self.parent_id,
            "kind": self.kind,
            "rating": self.rating,
            "rating_scale": None
            if self.rating_scale is None
            else {"min": self.rating_scale.min, "max": self.rating_scale.max},
            "title": self.title,
            "text": self.text,
            "language": self.language,
            "author": self.author,
            "url": self.url,
            "created_at": self.created_at,
            "observed_at": self.observed_at,
            "engagement": None
            if self.engagement is None
            else {
                "views": self.engagement.views,
                "likes": self.engagement.likes,
                "shares": self.engagement.shares,
                "replies": self.engagement.replies,
            },
            "merchant_reply": None
            if self.merchant_reply is None
            else {"text": self.merchant_reply.text, "created_at": self.merchant_reply.created_at},
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewEvent:
        """Build from an already schema-validated dict.

        The same event as `cls(event_id=..., ...)`, at a third of the cost (the detector builds one per review):
        the frozen `__init__` stores each field through `object.__setattr__`; here they go into `_ReviewSlots` (the
        same slots on a class that is not frozen, so plain stores), which then becomes this class by `__class__`
        assignment (Python allows it between classes with the same slots, and raises otherwise). The result is an
        ordinary frozen ReviewEvent. tests/unit/test_decode_equivalence.py holds it equal to the `__init__` build.
        """
        scale = data["rating_scale"]
        engagement = data["engagement"]
        reply = data["merchant_reply"]
        event: Any = _ReviewSlots()
        # In the order the constructor call read them (the same KeyError first for a dict that lacks some).
        event.event_id = data["event_id"]
        event.event_type = data["event_type"]
        event.merchant_id = data["merchant_id"]
        event.platform = data["platform"]
        event.source_id = data["source_id"]
        event.item_id = data["item_id"]
        event.thread_id = data["thread_id"]
        event.parent_id = data["parent_id"]
        event.kind = data["kind"]
        event.rating = data["rating"]
        event.rating_scale = None if scale is None else _rating_scale(scale["min"], scale["max"])
        event.title = data["title"]
        event.text = data["text"]
        event.language = data["language"]
        event.author = data["author"]
        event.url = data["url"]
        event.created_at = data["created_at"]
        event.observed_at = data["observed_at"]
        event.engagement = None if engagement is None else Engagement(**engagement)
        event.merchant_reply = None if reply is None else MerchantReply(reply["text"], reply["created_at"])
        event.attributes = data["attributes"]
        event.__class__ = cls
        built: ReviewEvent = event
        return built


class _ReviewSlots:
    """ReviewEvent's slots, not frozen: `ReviewEvent.from_dict` fills one, then makes it a ReviewEvent."""

    __slots__ = ReviewEvent.__slots__


class _ScaleSlots:
    """RatingScale's slots, not frozen (see `_ReviewSlots`)."""

    __slots__ = RatingScale.__slots__


def _rating_scale(low: float, high: float) -> RatingScale:
    """`RatingScale(low, high)` built as `ReviewEvent.from_dict` builds its event."""
    scale: Any = _ScaleSlots()
    scale.min = low
    scale.max = high
    scale.__class__ = RatingScale
    built: RatingScale = scale
    return built


@dataclass(frozen=True, slots=True)
class SampleItem:
    item_id: str
    platform: str
    url: str | None
    text: str | None
    language: str | None
    rating: float | None


@dataclass(frozen=True, slots=True)
class Evidence:
    observed: float
    expected: float
    window_seconds: int
    rate_per_hour: float
    predicted_reach: float | None = None
    sample_items: tuple[SampleItem, ...] = ()
    languages: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "observed": self.observed,
            "expected": self.expected,
            "window_seconds": self.window_seconds,
            "rate_per_hour": self.rate_per_hour,
            "predicted_reach": self.predicted_reach,
            "sample_items": [
                {
                    "item_id": s.item_id,
                    "platform": s.platform,
                    "url": s.url,
                    "text": s.text,
                    "language": s.language,
                    "rating": s.rating,
                }
                for s in self.sample_items
            ],
            "languages": dict(self.languages),
            "categories": dict(self.categories),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        return cls(
            observed=data["observed"],
            expected=data["expected"],
            window_seconds=data["window_seconds"],
            rate_per_hour=data["rate_per_hour"],
            predicted_reach=data["predicted_reach"],
            sample_items=tuple(
                SampleItem(
                    item_id=s["item_id"],
                    platform=s["platform"],
                    url=s["url"],
                    text=s["text"],
                    language=s["language"],
                    rating=s["rating"],
                )
                for s in data["sample_items"]
            ),
            languages=data["languages"],
            categories=data["categories"],
        )


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One state of an incident. (incident_id, version) identifies the state; sinks deduplicate on it."""

    incident_id: str
    version: int
    status: IncidentStatus
    kind: IncidentKind
    severity: Severity
    merchant_id: str
    title: str
    summary: str
    started_at: str
    detected_at: str
    evidence: Evidence
    platform: str | None = None
    category: str | None = None
    thread_id: str | None = None
    resolved_at: str | None = None
    observed_at: str | None = None
    playbook: tuple[str, ...] = ()
    # The platform's created_at of the review behind this state (observed_at is when a poller saw it): the start of
    # the review-to-notification latency. Optional in the schema: producers before it omit it.
    review_created_at: str | None = None
    # sla_breach reply incidents: the merchant's first public reply to one of its overdue reviews, and how long
    # after that review was written it came (time to first public reply). Optional, omitted when unknown.
    first_reply_at: str | None = None
    first_reply_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema": INCIDENT_SCHEMA,
            "incident_id": self.incident_id,
            "version": self.version,
            "status": self.status,
            "kind": self.kind,
            "severity": self.severity,
            "merchant_id": self.merchant_id,
            "platform": self.platform,
            "category": self.category,
            "thread_id": self.thread_id,
            "title": self.title,
            "summary": self.summary,
            "started_at": self.started_at,
            "detected_at": self.detected_at,
            "resolved_at": self.resolved_at,
            "observed_at": self.observed_at,
            "evidence": self.evidence.to_dict(),
            "playbook": list(self.playbook),
        }
        if self.review_created_at is not None:
            # Only when known: a state without it encodes exactly as before the field existed.
            data["review_created_at"] = self.review_created_at
        if self.first_reply_at is not None:
            data["first_reply_at"] = self.first_reply_at
            data["first_reply_seconds"] = self.first_reply_seconds
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncidentEvent:
        return cls(
            incident_id=data["incident_id"],
            version=data["version"],
            status=data["status"],
            kind=data["kind"],
            severity=data["severity"],
            merchant_id=data["merchant_id"],
            platform=data["platform"],
            category=data["category"],
            thread_id=data["thread_id"],
            title=data["title"],
            summary=data["summary"],
            started_at=data["started_at"],
            detected_at=data["detected_at"],
            resolved_at=data["resolved_at"],
            observed_at=data["observed_at"],
            evidence=Evidence.from_dict(data["evidence"]),
            playbook=tuple(data["playbook"]),
            review_created_at=data.get("review_created_at"),
            first_reply_at=data.get("first_reply_at"),
            first_reply_seconds=data.get("first_reply_seconds"),
        )


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """Input that could not be processed: the original bytes (base64), why, and where it came from."""

    reason: str
    detail: str
    source: str
    original_b64: str
    received_at: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    context: dict[str, str | int | float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": DEADLETTER_SCHEMA,
            "reason": self.reason,
            "detail": self.detail,
            "source": self.source,
            "original_b64": self.original_b64,
            "received_at": self.received_at,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "context": dict(self.context),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetterRecord:
        return cls(
            reason=data["reason"],
            detail=data["detail"],
            source=data["source"],
            original_b64=data["original_b64"],
            received_at=data["received_at"],
            topic=data["topic"],
            partition=data["partition"],
            offset=data["offset"],
            context=data["context"],
        )
