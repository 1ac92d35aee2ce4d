"""The one boundary between aiohttp and the pollers: bounded requests; statuses and failures as Stormwatch errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from services.pollers.ratelimit import TokenBucket
from services.shared.errors import Reason, StormwatchError, TransientError
from services.shared.retry_after import parse_retry_after


class PlatformError(TransientError):
    """A platform failure a later retry may fix; `retry_after` is the server's own hint, when it gave one."""

    def __init__(self, message: str, *, reason: Reason, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class UnparseablePage(PlatformError):
    """A response body the adapter cannot read at all: retried (a proxy's error page passes), then the poll loop
    dead-letters `body` (its first MAX_PAGE_BYTES) so people can see what the platform sent."""

    MAX_PAGE_BYTES = 64 * 1024

    def __init__(self, message: str, *, body: bytes, reason: Reason = Reason.MALFORMED_JSON) -> None:
        # malformed_json: not JSON at all; schema_invalid: JSON without the shape the platform documents.
        super().__init__(message, reason=reason)
        self.body = body[: self.MAX_PAGE_BYTES]


class AuthError(StormwatchError):
    """The platform refused our credentials or token: retrying the same call cannot help until someone acts."""

    retriable = False
    reason = Reason.AUTH_ERROR

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self, what: str) -> Any:
        """The body as JSON; a body that is not JSON is the platform misbehaving (UnparseablePage, retriable)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise UnparseablePage(f"{what}: response body is not JSON", body=self.body) from None


class Requester(Protocol):
    """What an adapter needs from HTTP; tests pass a fake."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> HttpResponse: ...


class PlatformClient:
    """HTTP for one source: waits on its credential's token bucket, bounds every call, translates every failure."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        platform: str,
        bucket: TokenBucket,
        *,
        timeout_seconds: float = 30.0,
        on_rate_limit_wait: Callable[[], None] = lambda: None,
    ) -> None:
        self._session = session
        self._platform = platform
        self._bucket = bucket
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=min(10.0, timeout_seconds))
        self._on_wait = on_rate_limit_wait

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        if await self._bucket.acquire() > 0:
            self._on_wait()
        # Errors name the method and path only: query strings and headers may carry credentials.
        what = f"{self._platform} {method} {urlsplit(url).path}"
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                result = HttpResponse(response.status, CIMultiDictProxy(CIMultiDict(response.headers)), body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise translate(exc, what) from exc
        hint = throttle_hint(result.headers)
        if hint is not None and hint > 0:
            # The platform says this credential's quota is spent: every source sharing it waits, not only this one.
            self._bucket.block_for(hint)
        try:
            check_status(result, what, hint)
        except PlatformError as exc:
            if exc.reason is Reason.RATE_LIMITED and exc.retry_after is not None:
                self._bucket.block_for(exc.retry_after)
            raise
        return result


def translate(exc: BaseException, what: str) -> StormwatchError:
    """Map aiohttp / asyncio failures onto Stormwatch's error vocabulary."""
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return PlatformError(f"{what}: timed out", reason=Reason.TIMEOUT)
    if isinstance(exc, aiohttp.InvalidURL):
        return StormwatchError(f"{what}: invalid URL", retriable=False, reason=Reason.CLIENT_ERROR)
    if isinstance(exc, aiohttp.ClientConnectionError):
        return PlatformError(f"{what}: connection failed ({type(exc).__name__})", reason=Reason.CONNECTION_ERROR)
    return PlatformError(f"{what}: {type(exc).__name__}", reason=Reason.SERVER_ERROR)


# A daily quota that is spent without a reset time (Etsy's 24 h sliding window): look again in an hour.
DAILY_QUOTA_PAUSE_SECONDS = 3600.0


def throttle_hint(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to hold a credential back, from the platform's own quota headers, when they say it is spent.

    X: x-rate-limit-remaining / x-rate-limit-reset (epoch s, 15-minute windows). Etsy: x-remaining-this-second,
    x-remaining-today. Yelp: ratelimit-remaining / ratelimit-resettime (ISO 8601). None when nothing is spent.
    """
    current = time.time() if now is None else now
    if _int(headers.get("x-rate-limit-remaining")) == 0:
        reset = _int(headers.get("x-rate-limit-reset"))
        return max(1.0, reset - current) if reset is not None else 60.0
    if _int(headers.get("x-remaining-today")) == 0:
        return DAILY_QUOTA_PAUSE_SECONDS
    if _int(headers.get("x-remaining-this-second")) == 0:
        return 1.0
    if _int(headers.get("ratelimit-remaining")) == 0:
        reset_text = headers.get("ratelimit-resettime")
        try:
            reset_at = datetime.fromisoformat(reset_text.replace("Z", "+00:00")) if reset_text else None
        except ValueError:
            reset_at = None
        if reset_at is None or reset_at.tzinfo is None:
            return DAILY_QUOTA_PAUSE_SECONDS
        return max(1.0, reset_at.timestamp() - current)
    return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def check_status(response: HttpResponse, what: str, hint: float | None = None) -> None:
    """Raise the matching Stormwatch error for any non-2xx status (429 and 5xx carry the server's Retry-After,
    or, without one, what the platform's quota headers say)."""
    status = response.status
    if 200 <= status < 300 or status == 304:  # 304: the answer to a conditional GET (feeds), not a failure
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is None:
        retry_after = hint
    if status == 429:
        raise PlatformError(f"{what}: HTTP 429 rate limited", reason=Reason.RATE_LIMITED, retry_after=retry_after)
    if status in {401, 403}:
        raise AuthError(f"{what}: HTTP {status}", status=status)
    if status >= 500:
        raise PlatformError(f"{what}: HTTP {status}", reason=Reason.SERVER_ERROR, retry_after=retry_after)
    raise StormwatchError(f"{what}: HTTP {status}", retriable=False, reason=Reason.CLIENT_ERROR)
