"""The detector's list of failures a retry can fix (services/detector/app.py `_RETRIABLE`)."""

from __future__ import annotations

import asyncpg

from services.detector.app import _RETRIABLE
from services.shared.errors import TransientError


def test_a_pooled_connection_dropped_mid_query_is_retried_not_fatal() -> None:
    """Releasing a pooled connection PostgreSQL dropped mid-query raises asyncpg's InternalClientError ("cannot
    switch to state"): the detector rewinds and retries the batch, as the alerter does, instead of stopping."""
    assert isinstance(asyncpg.exceptions.InternalClientError("cannot switch to state"), _RETRIABLE)
    assert isinstance(asyncpg.exceptions.ConnectionDoesNotExistError("gone"), _RETRIABLE)
    assert isinstance(TransientError("database unavailable"), _RETRIABLE)


def test_a_bug_is_not_retried() -> None:
    """Anything else (a programming error) is not in the list: it stops the service rather than loop."""
    assert not isinstance(ValueError("bug"), _RETRIABLE)
    assert not isinstance(KeyError("bug"), _RETRIABLE)
