"""Signed webhooks over HTTP: authentic deliveries are published after the ack; forgeries and replays get 401."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from services.pollers.webhooks import WebhookReceiver, sign
from services.shared import codec
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from tests.unit.test_pollers_poll_loop import FakeDeadLetters, FakeProducer

SECRET = "s3cret"
SOURCES = [
    SourceConfig(
        id="shop/homeadvisor",
        merchant_id="shop",
        platform="homeadvisor",
        credentials={"signing_secret": Secret(SECRET)},
        options={"mode": "webhook"},
    ),
    SourceConfig(
        id="shop/trustpilot-push",
        merchant_id="shop",
        platform="trustpilot",
        credentials={"signing_secret": Secret(SECRET)},
        options={"mode": "webhook"},
    ),
]


class Rig:
    def __init__(self, client: TestClient[Any, Any], receiver: WebhookReceiver, registry: CollectorRegistry) -> None:
        self.client, self.receiver, self.registry = client, receiver, registry
        self.producer, self.dead = FakeProducer(), FakeDeadLetters()
        receiver.attach(self.producer, self.dead, "reviews")

    async def post(self, source: str, body: bytes, *, secret: str = SECRET, at: float | None = None) -> Any:
        stamp = str(int(time.time() if at is None else at))
        headers = {"X-Stormwatch-Timestamp": stamp, "X-Stormwatch-Signature": sign(secret, stamp, body)}
        return await self.client.post(f"/webhooks/{source}", data=body, headers=headers)

    def refused(self, platform: str, outcome: str) -> float:
        labels = {"platform": platform, "outcome": outcome}
        return self.registry.get_sample_value("stormwatch_webhook_requests_total", labels) or 0


@pytest_asyncio.fixture(loop_scope="session")
async def rig() -> AsyncIterator[Rig]:
    registry = CollectorRegistry()
    receiver = WebhookReceiver(SOURCES, registry)
    app = web.Application()
    app.router.add_routes(receiver.routes())
    async with TestClient(TestServer(app)) as client:
        yield Rig(client, receiver, registry)


ITEM = {"id": "ha-1", "created_at": "2026-11-01T10:00:00Z", "rating": 1, "text": "No-show plumber"}


async def test_authentic_delivery_is_published_and_bad_items_dead_lettered(rig: Rig) -> None:
    """A signed delivery is answered 202 after the ack; a malformed item is dead-lettered, the others published."""
    body = orjson.dumps({"items": [ITEM, {"id": "ha-2"}]})
    response = await rig.post("shop/homeadvisor", body)
    assert response.status == 202 and await response.json() == {"published": 1, "dead_lettered": 1}
    (event,) = [codec.decode_review(v) for _t, batch in rig.producer.sent for _k, v in batch]
    assert (event.platform, event.item_id, event.rating) == ("homeadvisor", "ha-1", 1.0)
    assert rig.dead.published[0]["context"]["source_id"] == "shop/homeadvisor"


async def test_forged_stale_unsigned_and_replayed_deliveries_get_401(rig: Rig) -> None:
    """Wrong secret, an old timestamp, no signature, or the same signed delivery twice: 401, counted by reason."""
    body = orjson.dumps(ITEM)
    assert (await rig.post("shop/homeadvisor", body, secret="guess")).status == 401
    assert (await rig.post("shop/homeadvisor", body, at=time.time() - 3600)).status == 401
    unsigned = await rig.client.post("/webhooks/shop/homeadvisor", data=body)
    assert unsigned.status == 401
    now = time.time() + 1  # a fresh signature, then the very same request again
    assert (await rig.post("shop/homeadvisor", body, at=now)).status == 202
    assert (await rig.post("shop/homeadvisor", body, at=now)).status == 401
    for outcome in ("bad_signature", "stale", "unsigned", "replay"):
        assert rig.refused("homeadvisor", outcome) == 1, outcome
    assert (await rig.post("nobody/else", body)).status == 404


async def test_trustpilot_envelope_maps_created_updated_deleted(rig: Rig) -> None:
    """Trustpilot's review webhook events become review.created / review.updated / review.deleted events."""
    data = {"id": "tp-9", "stars": 2, "createdAt": "2026-11-01T10:00:00Z", "text": "late", "consumer": {"name": "Jo"}}
    events = [
        {"eventName": "service-review-created", "eventData": data},
        {"eventName": "service-review-updated", "eventData": {**data, "stars": 5}},
        {"eventName": "service-review-deleted", "eventData": data},
    ]
    response = await rig.post("shop/trustpilot-push", orjson.dumps({"events": events}))
    assert response.status == 202
    published = [codec.decode_review(v) for _t, batch in rig.producer.sent[-1:] for _k, v in batch]
    assert [(e.event_type, e.rating) for e in published] == [
        ("review.created", 2.0),
        ("review.updated", 5.0),
        ("review.deleted", 2.0),
    ]
    assert published[0].author == "Jo"


async def test_not_json_is_400_and_dead_lettered(rig: Rig) -> None:
    """An authentic body that is not JSON is refused with 400 and its bytes go to the dead-letter topic."""
    before = len(rig.dead.published)
    response = await rig.post("shop/homeadvisor", b"<xml/>")
    assert response.status == 400 and rig.dead.published[before]["original"] == b"<xml/>"
