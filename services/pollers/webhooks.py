"""Signed JSON webhooks served by the pollers' HTTP server: verify, reject replays, publish after the Kafka ack.

A source with `options: {mode: webhook}` is pushed to instead of polled, at `POST /webhooks/{source id}`.
The sender signs `<timestamp>.<body>` with HMAC-SHA256 and the source's `credentials.signing_secret`:
`X-Stormwatch-Timestamp: <unix seconds>`, `X-Stormwatch-Signature: sha256=<hex>`. A missing or wrong signature,
a timestamp more than five minutes off, or a signature already seen (a replay) is refused with 401 and counted.
Bodies: `{"items": [...]}` or one item in Stormwatch's item format (generic_items.py), or Trustpilot's review
webhook envelope `{"events": [{"eventName": "service-review-created|updated|deleted", "eventData": {...}}]}`.
The answer is 202 once every event is acknowledged by Kafka (503 otherwise, so the sender retries).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.pollers.adapters.facebook_webhooks import (
    SIGNATURE_HEADER,
    HubVerifier,
    challenge_answer,
    feed_items,
    hub_credentials,
)
from services.pollers.adapters.generic_items import normalise_item
from services.pollers.importer import DeadLetters, Producer
from services.shared import codec, metrics
from services.shared.config import SourceConfig
from services.shared.errors import BadInput, ConfigError, Reason, StormwatchError
from services.shared.events import ReviewEvent
from services.shared.logging import get_logger

log = get_logger("stormwatch.pollers.webhooks")

PATH = "/webhooks/{source_id:.+}"
TOLERANCE_SECONDS = 300.0
MAX_BODY = 1 << 20
DEADLETTER_SOURCE = "pollers.webhook"
_REMEMBERED = 100_000


def is_webhook_source(source: SourceConfig) -> bool:
    return source.options.get("mode") == "webhook"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value a sender computes (and this receiver checks)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookReceiver:
    """Verifies and publishes pushed items for every webhook source; unroutable until `attach()` gives it Kafka."""

    def __init__(
        self,
        sources: Iterable[SourceConfig],
        registry: CollectorRegistry,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._sources: dict[str, tuple[SourceConfig, str]] = {}
        # Facebook signs with the app secret (X-Hub-Signature-256) and subscribes with a verify token.
        self._hub_tokens: dict[str, str] = {}
        self._hub = HubVerifier()
        for source in sources:
            if source.platform == "facebook":
                secret_text, self._hub_tokens[source.id] = hub_credentials(source)
                self._sources[source.id] = (source, secret_text)
                continue
            secret = source.credentials.get("signing_secret")
            if secret is None:
                raise ConfigError(f"{source.key_path}.credentials.signing_secret: required for a webhook source")
            self._sources[source.id] = (source, secret.reveal())
        self._clock = wall_clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._producer: Producer | None = None
        self._deadletters: DeadLetters | None = None
        self._topic = ""
        self._requests = metrics.counter(
            registry,
            "stormwatch_webhook_requests_total",
            "Webhook deliveries received, by platform and outcome (accepted, or why they were refused).",
            ["platform", "outcome"],
        )
        self._published = metrics.counter(
            registry,
            "stormwatch_reviews_published_total",
            "Review events published to Kafka and acknowledged, by platform.",
            ["platform"],
        )

    def attach(self, producer: Producer, deadletters: DeadLetters, topic: str) -> None:
        self._producer, self._deadletters, self._topic = producer, deadletters, topic

    def detach(self) -> None:
        """Kafka is going away: deliveries are answered 503 (the sender retries) until the next attach."""
        self._producer = self._deadletters = None

    def routes(self) -> list[web.RouteDef]:
        hub = [web.get(PATH, self.subscribe)] if self._hub_tokens else []
        return [web.post(PATH, self.receive), *hub] if self._sources else []

    async def subscribe(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is the source's."""
        source_id = request.match_info["source_id"]
        token = self._hub_tokens.get(source_id)
        if token is None:
            return self._refuse("unknown", "unknown_source", 404)
        answer = challenge_answer(request.query, token)
        if answer is None:
            return self._refuse("facebook", "bad_verify_token", 403)
        self._requests.labels(platform="facebook", outcome="subscribed").inc()
        return web.Response(text=answer)

    def _refuse(self, platform: str, outcome: str, status: int = 401) -> web.Response:
        self._requests.labels(platform=platform, outcome=outcome).inc()
        return web.json_response({"error": outcome}, status=status)

    def _verify(self, secret: str, request: web.Request, body: bytes) -> str | None:
        """None when the delivery is authentic and fresh, else the reason it is refused."""
        timestamp = request.headers.get("X-Stormwatch-Timestamp", "")
        signature = request.headers.get("X-Stormwatch-Signature", "")
        if not timestamp or not signature:
            return "unsigned"
        # compare_digest raises TypeError on non-ASCII str: such a header was a 500 (found by fuzzing).
        ascii_only = timestamp.isascii() and signature.isascii()
        if not ascii_only or not hmac.compare_digest(sign(secret, timestamp, body), signature):
            return "bad_signature"
        try:
            sent_at = float(timestamp)
        except ValueError:
            return "bad_signature"
        now = self._clock()
        # A signed "nan" passed `abs(now - nan) > tolerance` (False) and so was never stale: replayable forever.
        if not math.isfinite(sent_at) or abs(now - sent_at) > TOLERANCE_SECONDS:
            return "stale"
        # Within the tolerance window a signature is accepted once; older ones are refused as stale anyway.
        while self._seen and (
            next(iter(self._seen.values())) < now - TOLERANCE_SECONDS or len(self._seen) > _REMEMBERED
        ):
            self._seen.popitem(last=False)
        if signature in self._seen:
            return "replay"
        self._seen[signature] = now
        return None

    async def receive(self, request: web.Request) -> web.Response:
        checked = await self._authentic(request)
        if isinstance(checked, web.Response):
            return checked
        source, body = checked
        platform = source.platform
        if self._producer is None or self._deadletters is None:
            return self._refuse(platform, "not_ready", 503)
        try:
            items = _items(orjson.loads(body), platform)
        except (orjson.JSONDecodeError, BadInput) as exc:
            await self._dead_letter(source, body, BadInput(f"webhook body: {exc}", reason=Reason.NORMALISATION_FAILED))
            return self._refuse(platform, "bad_payload", 400)
        events, dead = await self._normalise(source, items)
        try:
            if events:
                await self._producer.send_batch(
                    self._topic, [(source.merchant_id.encode(), codec.encode_review(e)) for e in events]
                )
        except StormwatchError:
            return self._refuse(platform, "unavailable", 503)
        self._published.labels(platform=platform).inc(len(events))
        if platform == "facebook":  # only now: Meta re-sends a failed delivery with the same signature
            self._hub.accepted(request.headers.get(SIGNATURE_HEADER, ""), self._clock())
        self._requests.labels(platform=platform, outcome="accepted").inc()
        return web.json_response({"published": len(events), "dead_lettered": dead}, status=202)

    async def _authentic(self, request: web.Request) -> tuple[SourceConfig, bytes] | web.Response:
        """The source and body of an authentic, fresh delivery, or the refusal to answer with."""
        entry = self._sources.get(request.match_info["source_id"])
        if entry is None:
            return self._refuse("unknown", "unknown_source", 404)
        source, secret = entry
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return self._refuse(source.platform, "too_large", 413)
        if source.platform == "facebook":
            header = request.headers.get(SIGNATURE_HEADER, "")
            refused = self._hub.refusal(secret, header, body, self._clock())
        else:
            refused = self._verify(secret, request, body)
        if refused is not None:
            log.warning("webhook refused", source=source.id, platform=source.platform, reason=refused)
            return self._refuse(source.platform, refused)
        return source, body

    async def _normalise(self, source: SourceConfig, items: list[Any]) -> tuple[list[ReviewEvent], int]:
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        events, dead = [], 0
        for item in items:
            try:
                events.append(
                    normalise_item(
                        item,
                        merchant_id=source.merchant_id,
                        platform=source.platform,
                        source_id=source.id,
                        observed_at=now,
                        timezone=source.timezone,
                    )
                )
            except BadInput as exc:
                await self._dead_letter(source, orjson.dumps(item), exc)
                dead += 1
        return events, dead

    async def _dead_letter(self, source: SourceConfig, raw: bytes, exc: BadInput) -> None:
        assert self._deadletters is not None
        await self._deadletters.publish(
            reason=exc.reason.value,
            detail=str(exc),
            source=DEADLETTER_SOURCE,
            original=raw,
            context={"merchant_id": source.merchant_id, "platform": source.platform, "source_id": source.id},
        )


def _items(payload: Any, platform: str) -> list[Any]:
    """The items of a delivery: Trustpilot's event envelope, `{"items": [...]}`, or a single item."""
    if isinstance(payload, Mapping) and platform == "facebook" and payload.get("object") == "page":
        return feed_items(payload)
    if isinstance(payload, Mapping) and isinstance(payload.get("events"), list) and platform == "trustpilot":
        return [_trustpilot_item(event) for event in payload["events"]]
    if isinstance(payload, Mapping) and "items" in payload:
        if not isinstance(payload["items"], list):
            raise BadInput("items is not a list", reason=Reason.NORMALISATION_FAILED)
        return list(payload["items"])
    if isinstance(payload, Mapping):
        return [payload]
    raise BadInput("body is neither an object nor an envelope", reason=Reason.NORMALISATION_FAILED)


def _trustpilot_item(event: Any) -> Any:
    """A Trustpilot review webhook event in Stormwatch's item format (unknown shapes pass on to be dead-lettered)."""
    if not isinstance(event, Mapping) or not isinstance(event.get("eventData"), Mapping):
        return event
    data = event["eventData"]
    consumer = data.get("consumer") if isinstance(data.get("consumer"), Mapping) else {}
    name = str(event.get("eventName", ""))
    return {
        "id": data.get("id"),
        "created_at": data.get("createdAt"),
        "rating": data.get("stars"),
        "title": data.get("title"),
        "text": data.get("text"),
        "language": data.get("language"),
        "author": consumer.get("name"),
        "url": data.get("link"),
        "order": data.get("referenceId"),
        "event": name.rsplit("-", 1)[-1] if name.startswith("service-review-") else None,
    }
