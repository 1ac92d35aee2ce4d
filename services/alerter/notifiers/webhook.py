"""Webhook notifier: POSTs the notification as JSON, signed with HMAC-SHA256 when the receiver has a secret.

This module is the aiohttp-client boundary of the alerter: every aiohttp error becomes a DeliveryFailed here.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import aiohttp
import orjson

from services.alerter.notifiers.base import DeliveryFailed, DeliveryOutcome, Notification, Notifier
from services.shared.errors import Reason
from services.shared.retry_after import parse_retry_after
from services.shared.settings import Secret
from services.shared.timeutil import Clock, WallClock

DEFAULT_TIMEOUT_SECONDS = 10.0
USER_AGENT = "stormwatch-alerter/1"
_MAX_RESPONSE_BYTES = 64 * 1024


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body): binding the timestamp stops replays."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookNotifier(Notifier):
    type = "webhook"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        signing_secret: Secret | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name)
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._secret = signing_secret
        self._clock = clock or WallClock()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def build_request(self, notification: Notification, now: datetime) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers of the POST (no I/O, so tests can check the signature independently)."""
        body = orjson.dumps(notification.to_dict())
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            # Receivers deduplicate on it: a re-send after a crash carries the same key.
            "Idempotency-Key": notification.notification_id,
            "X-Stormwatch-Timestamp": timestamp,
        }
        if self._secret:
            headers["X-Stormwatch-Signature"] = sign(self._secret.reveal(), timestamp, body)
        return body, headers

    async def send(self, notification: Notification) -> DeliveryOutcome:
        if self._session is None:
            raise RuntimeError("WebhookNotifier.send before start()")
        body, headers = self.build_request(notification, self._clock.now())
        try:
            # No redirects: a POST bounced elsewhere means a misconfigured URL, and must not leak the body.
            async with self._session.post(self._url, data=body, headers=headers, allow_redirects=False) as response:
                # Only the status matters; a bounded read keeps a hostile receiver from filling memory.
                await response.content.read(_MAX_RESPONSE_BYTES)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc) from None
        return classify(status, parse_retry_after(retry_after, self._clock.now()))


def classify(status: int, retry_after: float | None) -> DeliveryOutcome:
    """2xx delivered; 408/429/5xx retriable (Retry-After honoured); 401/403 auth; any other status a client error."""
    if 200 <= status < 300:
        return DeliveryOutcome(f"HTTP {status}")
    message = f"HTTP {status}"
    if status == 429:
        raise DeliveryFailed(message, retriable=True, reason=Reason.RATE_LIMITED, retry_after=retry_after)
    if status == 408:
        raise DeliveryFailed(message, retriable=True, reason=Reason.TIMEOUT, retry_after=retry_after)
    if status >= 500:
        raise DeliveryFailed(message, retriable=True, reason=Reason.SERVER_ERROR, retry_after=retry_after)
    if status in {401, 403}:
        raise DeliveryFailed(message, retriable=False, reason=Reason.AUTH_ERROR)
    raise DeliveryFailed(message, retriable=False, reason=Reason.CLIENT_ERROR)


def translate(exc: BaseException) -> DeliveryFailed:
    """aiohttp / timeout errors as retriable failures. Messages name the error type only, never the URL."""
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts subclass it too
        return DeliveryFailed("timeout", retriable=True, reason=Reason.TIMEOUT)
    if isinstance(exc, aiohttp.ClientConnectionError):
        return DeliveryFailed(
            f"connection failed: {type(exc).__name__}", retriable=True, reason=Reason.CONNECTION_ERROR
        )
    return DeliveryFailed(f"http client error: {type(exc).__name__}", retriable=True, reason=Reason.OTHER)
