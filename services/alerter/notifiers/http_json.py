"""The shared HTTP-JSON client of the SaaS notifiers (Slack, PagerDuty, Opsgenie, Alertmanager).

It owns the aiohttp session and translates every client error into a DeliveryFailed (via the webhook module's
`classify` / `translate`, the alerter's one aiohttp boundary), so each notifier only builds its payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from services.alerter.notifiers.base import DeliveryOutcome, Notifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS, USER_AGENT, classify, translate
from services.shared.retry_after import parse_retry_after
from services.shared.timeutil import Clock, WallClock

_MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class JsonResponse:
    status: int
    body: bytes
    retry_after: float | None

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


class HttpJsonNotifier(Notifier):
    """A notifier that POSTs JSON. Subclasses call `post_json` and `classify` its status."""

    def __init__(self, name: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, clock: Clock | None = None):
        super().__init__(name)
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._clock = clock or WallClock()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def post_json(self, url: str, payload: Any, headers: Mapping[str, str] | None = None) -> JsonResponse:
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__}.send before start()")
        body = orjson.dumps(payload)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            async with self._session.post(url, data=body, headers=all_headers, allow_redirects=False) as response:
                data = await response.content.read(_MAX_RESPONSE_BYTES)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc) from None
        return JsonResponse(status, data, parse_retry_after(retry_after, self._clock.now()))

    @staticmethod
    def accept(response: JsonResponse) -> DeliveryOutcome:
        """2xx delivered, anything else a DeliveryFailed with the webhook's retry classification."""
        return classify(response.status, response.retry_after)
