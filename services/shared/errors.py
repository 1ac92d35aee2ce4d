"""One error base for Stormwatch: each error says whether a retry can help and which metric reason it counts as."""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Bounded vocabulary for the `reason` label of failure metrics and dead-letter records."""

    MALFORMED_JSON = "malformed_json"
    SCHEMA_INVALID = "schema_invalid"
    NORMALISATION_FAILED = "normalisation_failed"
    AUTH_ERROR = "auth_error"
    RATE_LIMITED = "rate_limited"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    DELIVERY_EXHAUSTED = "delivery_exhausted"
    CONFIG_INVALID = "config_invalid"
    OTHER = "other"


class StormwatchError(Exception):
    """Base error. `retriable` tells callers whether the same call may succeed later."""

    retriable: bool = False
    reason: Reason = Reason.OTHER

    def __init__(self, message: str, *, retriable: bool | None = None, reason: Reason | None = None) -> None:
        super().__init__(message)
        if retriable is not None:
            self.retriable = retriable
        if reason is not None:
            self.reason = reason


class BadInput(StormwatchError):
    """Input that will never become valid by retrying: dead-letter it and move on."""

    retriable = False
    reason = Reason.SCHEMA_INVALID


class ConfigError(StormwatchError):
    """The configuration is invalid; the message names the offending key."""

    retriable = False
    reason = Reason.CONFIG_INVALID


class TransientError(StormwatchError):
    """A dependency failed in a way a later retry may fix (timeouts, 5xx, broker or database unavailable)."""

    retriable = True
    reason = Reason.SERVER_ERROR
