"""The detector's whole per-partition state as JSON-able dicts, so it can be checkpointed with the offsets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.detector.incidents import IncidentState
from services.detector.spike import SpikeState

# Bump when the layout changes; an old checkpoint is then rejected instead of misread.
STATE_FORMAT = 1


class StateMismatch(ValueError):
    """A checkpoint that this configuration cannot continue from (other format or other bucket size)."""


@dataclass(slots=True)
class MerchantState:
    spike: SpikeState = field(default_factory=SpikeState)
    incident: IncidentState = field(default_factory=IncidentState)

    def to_dict(self) -> dict[str, Any]:
        return {"spike": self.spike.to_dict(), "incident": self.incident.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MerchantState:
        return cls(spike=SpikeState.from_dict(data["spike"]), incident=IncidentState.from_dict(data["incident"]))


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
