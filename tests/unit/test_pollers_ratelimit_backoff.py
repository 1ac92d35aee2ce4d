"""Token bucket, backoff and HTTP status translation: the pollers' manners toward platforms, on fake time."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from services.pollers.adapters.http import AuthError, HttpResponse, PlatformError, check_status, translate
from services.pollers.backoff import Backoff
from services.pollers.ratelimit import RateLimiters, TokenBucket
from services.shared.errors import Reason, StormwatchError
from services.shared.retry_after import parse_retry_after


class FakeTime:
    """A monotonic clock whose sleep only moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_bucket_allows_a_burst_then_paces_at_its_rate() -> None:
    """`burst` calls go at once; after that each call waits 1/rate seconds."""
    time = FakeTime()
    bucket = TokenBucket(rate=2.0, burst=3, clock=time.clock, sleep=time.sleep)
    waits = [await bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert time.now == pytest.approx(1.0)


async def test_bucket_refills_while_idle_up_to_its_burst() -> None:
    """Idle time refills tokens, but never beyond the burst size."""
    time = FakeTime()
    bucket = TokenBucket(rate=1.0, burst=2, clock=time.clock, sleep=time.sleep)
    await bucket.acquire()
    await bucket.acquire()
    time.now += 100
    assert [await bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert await bucket.acquire() == pytest.approx(1.0)


async def test_block_for_makes_every_caller_wait() -> None:
    """After a 429 with Retry-After, the credential's bucket holds every caller until the time is up."""
    time = FakeTime()
    bucket = TokenBucket(rate=10.0, burst=10, clock=time.clock, sleep=time.sleep)
    bucket.block_for(3.0)
    waited = await bucket.acquire()
    assert waited >= 3.0 and time.now >= 3.0


async def test_concurrent_callers_share_the_rate() -> None:
    """Many callers on one bucket together get no more than rate x time tokens."""
    time = FakeTime()
    bucket = TokenBucket(rate=5.0, burst=1, clock=time.clock, sleep=time.sleep)
    await asyncio.gather(*(bucket.acquire() for _ in range(11)))
    assert time.now == pytest.approx(2.0)


def test_rate_limiters_share_a_bucket_per_credential() -> None:
    """Two sources with the same credential get the same bucket; another credential gets its own."""
    limiters = RateLimiters()
    assert limiters.bucket("cred-a", 1, 1) is limiters.bucket("cred-a", 5, 5)
    assert limiters.bucket("cred-a", 1, 1) is not limiters.bucket("cred-b", 1, 1)


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    """Attempt n waits between half and all of base*factor^(n-1), never more than the cap."""
    backoff = Backoff(base=1.0, factor=2.0, cap=10.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        for _ in range(50):
            assert ceiling / 2 <= backoff.delay(attempt) <= ceiling


def test_backoff_honours_retry_after() -> None:
    """A server's Retry-After is the delay, whatever the attempt (bounded by max_retry_after)."""
    backoff = Backoff(base=1.0, cap=10.0, max_retry_after=120.0)
    assert backoff.delay(1, retry_after=7.0) == 7.0
    assert backoff.delay(6, retry_after=1.0) == 1.0
    assert backoff.delay(1, retry_after=86400.0) == 120.0


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After is delta-seconds or an HTTP-date; garbage means no hint."""
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after("Mon, 02 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 02 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def response(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, CIMultiDictProxy(CIMultiDict(headers or {})), b"{}")


def test_statuses_become_stormwatch_errors() -> None:
    """429 -> rate_limited with Retry-After, 5xx -> server_error (retriable), 401/403 -> auth_error, 404 -> client."""
    check_status(response(200), "x")
    with pytest.raises(PlatformError) as limited:
        check_status(response(429, {"Retry-After": "2"}), "x")
    assert limited.value.reason is Reason.RATE_LIMITED and limited.value.retriable and limited.value.retry_after == 2
    with pytest.raises(PlatformError) as unavailable:
        check_status(response(503), "x")
    assert unavailable.value.reason is Reason.SERVER_ERROR and unavailable.value.retriable
    with pytest.raises(AuthError) as denied:
        check_status(response(401), "x")
    assert denied.value.reason is Reason.AUTH_ERROR and not denied.value.retriable
    with pytest.raises(StormwatchError) as missing:
        check_status(response(404), "x")
    assert missing.value.reason is Reason.CLIENT_ERROR and not missing.value.retriable


def test_aiohttp_failures_become_transient_errors() -> None:
    """Timeouts and connection failures are retriable, with reasons timeout and connection_error."""
    assert translate(TimeoutError(), "x").reason is Reason.TIMEOUT
    assert translate(aiohttp.ServerTimeoutError(), "x").reason is Reason.TIMEOUT
    refused = translate(aiohttp.ServerDisconnectedError(), "x")
    assert refused.reason is Reason.CONNECTION_ERROR and refused.retriable
    assert translate(aiohttp.ClientPayloadError("cut"), "x").reason is Reason.SERVER_ERROR
