"""The detector's whole per-partition state as JSON-able dicts, so it can be checkpointed with the offsets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.detector.deadlines import DeadlineState
from services.detector.incidents import IncidentState
from services.detector.ratings import RatingsState
from services.detector.spike import SpikeState
from services.detector.threads import ThreadsState

# Bump when the layout changes; an old checkpoint is then rejected instead of misread.
STATE_FORMAT = 2


class StateMismatch(ValueError):
    """A checkpoint that this configuration cannot continue from (other format or other bucket size)."""


@dataclass(slots=True)
class ScopeState:
    """The spike rule and incident of one narrower scope: merchant x platform or merchant x category."""

    spike: SpikeState = field(default_factory=SpikeState)
    incident: IncidentState = field(default_factory=IncidentState)

    def to_dict(self) -> dict[str, Any]:
        return {"spike": self.spike.to_dict(), "incident": self.incident.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScopeState:
        return cls(spike=SpikeState.from_dict(data["spike"]), incident=IncidentState.from_dict(data["incident"]))


@dataclass(slots=True)
class MerchantState:
    spike: SpikeState = field(default_factory=SpikeState)
    incident: IncidentState = field(default_factory=IncidentState)
    scopes: dict[str, ScopeState] = field(default_factory=dict)  # "platform:<p>", "category:<c>"
    threads: ThreadsState = field(default_factory=ThreadsState)
    deadlines: DeadlineState = field(default_factory=DeadlineState)
    ratings: RatingsState = field(default_factory=RatingsState)
    watermark: float = 0.0  # the newest event time seen for the merchant: the clock of its timers
    last_spike: float | None = None  # event time of the merchant's latest negative_spike incident event
    last_spike_scope: str | None = None  # the scope that emitted it

    def to_dict(self) -> dict[str, Any]:
        return {
            "spike": self.spike.to_dict(),
            "incident": self.incident.to_dict(),
            "scopes": {key: scope.to_dict() for key, scope in sorted(self.scopes.items())},
            "threads": self.threads.to_dict(),
            "deadlines": self.deadlines.to_dict(),
            "ratings": self.ratings.to_dict(),
            "watermark": self.watermark,
            "last_spike": self.last_spike,
            "last_spike_scope": self.last_spike_scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MerchantState:
        last_spike = data["last_spike"]
        return cls(
            spike=SpikeState.from_dict(data["spike"]),
            incident=IncidentState.from_dict(data["incident"]),
            scopes={key: ScopeState.from_dict(raw) for key, raw in data["scopes"].items()},
            threads=ThreadsState.from_dict(data["threads"]),
            deadlines=DeadlineState.from_dict(data["deadlines"]),
            ratings=RatingsState.from_dict(data["ratings"]),
            watermark=float(data["watermark"]),
            last_spike=None if last_spike is None else float(last_spike),
            last_spike_scope=data["last_spike_scope"],
        )


@dataclass(slots=True)
class PartitionState:
    """Per merchant a constant amount of data (the open bucket, the baseline sums, the incident): memory is bounded
    by the number of merchants, never by the length of the history."""

    bucket_seconds: int
    merchants: dict[str, MerchantState] = field(default_factory=dict)

    def merchant(self, merchant_id: str) -> MerchantState:
        found = self.merchants.get(merchant_id)
        if found is None:
            found = self.merchants[merchant_id] = MerchantState()
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "bucket_seconds": self.bucket_seconds,
            "merchants": {merchant_id: state.to_dict() for merchant_id, state in sorted(self.merchants.items())},
        }

    def header(self) -> dict[str, Any]:
        """`to_dict` without the merchants (checkpointed one row per merchant beside it)."""
        return {"format": STATE_FORMAT, "bucket_seconds": self.bucket_seconds, "merchants": {}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], bucket_seconds: int) -> PartitionState:
        if data.get("format") != STATE_FORMAT:
            raise StateMismatch(f"checkpoint format {data.get('format')!r}, expected {STATE_FORMAT}")
        if data.get("bucket_seconds") != bucket_seconds:
            raise StateMismatch(
                f"checkpoint bucket_seconds {data.get('bucket_seconds')!r}, configured {bucket_seconds}"
            )
        return cls(
            bucket_seconds=bucket_seconds,
            merchants={merchant_id: MerchantState.from_dict(raw) for merchant_id, raw in data["merchants"].items()},
        )
