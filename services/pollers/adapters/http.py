"""The one boundary between aiohttp and the pollers: bounded requests; statuses and failures as Stormwatch errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from services.pollers.backoff import parse_retry_after
from services.pollers.ratelimit import TokenBucket
from services.shared.errors import Reason, StormwatchError, TransientError


class PlatformError(TransientError):
    """A platform failure a later retry may fix; `retry_after` is the server's own hint, when it gave one."""

    def __init__(self, message: str, *, reason: Reason, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


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
        """The body as JSON; a body that is not JSON is the platform misbehaving (retriable)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise PlatformError(f"{what}: response body is not JSON", reason=Reason.SERVER_ERROR) from None


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
        try:
            check_status(result, what)
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


def check_status(response: HttpResponse, what: str) -> None:
    """Raise the matching Stormwatch error for any non-2xx status (429 and 5xx carry the server's Retry-After)."""
    status = response.status
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise PlatformError(f"{what}: HTTP 429 rate limited", reason=Reason.RATE_LIMITED, retry_after=retry_after)
    if status in {401, 403}:
        raise AuthError(f"{what}: HTTP {status}", status=status)
    if status >= 500:
        raise PlatformError(f"{what}: HTTP {status}", reason=Reason.SERVER_ERROR, retry_after=retry_after)
    raise StormwatchError(f"{what}: HTTP {status}", retriable=False, reason=Reason.CLIENT_ERROR)
