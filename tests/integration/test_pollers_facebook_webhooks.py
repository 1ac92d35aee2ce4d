"""Facebook Page feed webhooks over HTTP: the hub.challenge handshake, X-Hub-Signature-256, replays, feed changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from services.pollers.adapters.facebook_webhooks import hub_signature
from services.pollers.webhooks import WebhookReceiver
from services.shared import codec
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError
from services.shared.settings import Secret
from tests.unit.test_pollers_poll_loop import FakeDeadLetters, FakeProducer

APP_SECRET = "app-secret"
VERIFY = "verify-me"
SOURCE = SourceConfig(
    id="shop/facebook-push",
    merchant_id="shop",
    platform="facebook",
    credentials={"app_secret": Secret(APP_SECRET), "verify_token": Secret(VERIFY)},
    options={"mode": "webhook"},
)
PATH = "/webhooks/shop/facebook-push"


def delivery(verb: str = "add", message: str = "Where is my order?", comment_id: str = "111_222") -> bytes:
    value = {
        "item": "comment", "verb": verb, "comment_id": comment_id, "post_id": "1044_111", "parent_id": "1044_111",
        "message": message, "created_time": 1793620000, "from": {"id": "7", "name": "Ana"},
    }  # fmt: skip
    reaction = {"item": "reaction", "verb": "add", "post_id": "1044_111", "reaction_type": "angry"}
    changes = [{"field": "feed", "value": value}, {"field": "feed", "value": reaction}]
    return orjson.dumps({"object": "page", "entry": [{"id": "1044", "time": 1793620001, "changes": changes}]})


class Rig:
    def __init__(self, client: TestClient[Any, Any], receiver: WebhookReceiver, registry: CollectorRegistry) -> None:
        self.client, self.registry = client, registry
        self.producer, self.dead = FakeProducer(), FakeDeadLetters()
        receiver.attach(self.producer, self.dead, "reviews")

    async def post(self, body: bytes, *, secret: str = APP_SECRET) -> Any:
        return await self.client.post(PATH, data=body, headers={"X-Hub-Signature-256": hub_signature(secret, body)})

    def count(self, outcome: str) -> float:
        labels = {"platform": "facebook", "outcome": outcome}
        return self.registry.get_sample_value("stormwatch_webhook_requests_total", labels) or 0

    def events(self) -> list[Any]:
        return [codec.decode_review(v) for _t, batch in self.producer.sent for _k, v in batch]


@pytest_asyncio.fixture(loop_scope="session")
async def rig() -> AsyncIterator[Rig]:
    registry = CollectorRegistry()
    receiver = WebhookReceiver([SOURCE], registry)
    app = web.Application()
    app.router.add_routes(receiver.routes())
    async with TestClient(TestServer(app)) as client:
        yield Rig(client, receiver, registry)


async def test_the_subscription_handshake_echoes_the_challenge_for_our_verify_token(rig: Rig) -> None:
    """GET hub.mode=subscribe with our verify token answers hub.challenge; a wrong token gets 403, counted."""
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    response = await rig.client.get(PATH, params=query)
    assert response.status == 200 and await response.text() == "1158201444"
    wrong = await rig.client.get(PATH, params={**query, "hub.verify_token": "guess"})
    assert wrong.status == 403 and rig.count("bad_verify_token") == 1


async def test_signed_feed_changes_become_comment_events_and_edits_updates(rig: Rig) -> None:
    """A signed comment `add` is a comment event in its post's thread; an `edited` one is review.updated;
    a reaction change is skipped (the poller's snapshots count reactions)."""
    assert (await rig.post(delivery())).status == 202
    assert (await rig.post(delivery("edited", "Where is my order? Day 12."))).status == 202
    created, updated = rig.events()
    assert (created.event_type, created.kind, created.thread_id, created.author) == (
        "review.created", "comment", "1044_111", "Ana",
    )  # fmt: skip
    assert updated.event_type == "review.updated" and updated.item_id == created.item_id == "111_222"
    assert created.created_at == "2026-11-02T11:46:40Z"


async def test_wrong_missing_and_replayed_signatures_get_401_and_are_counted(rig: Rig) -> None:
    """A wrong app secret, no X-Hub-Signature-256, or an accepted delivery sent again: 401 by reason."""
    body = delivery(comment_id="111_333")
    assert (await rig.post(body, secret="guess")).status == 401
    assert (await rig.client.post(PATH, data=body)).status == 401
    assert (await rig.post(body)).status == 202
    assert (await rig.post(body)).status == 401
    for outcome in ("bad_signature", "unsigned", "replay"):
        assert rig.count(outcome) == 1, outcome


async def test_an_unreadable_change_is_dead_lettered_and_the_rest_published(rig: Rig) -> None:
    """A comment change without an id is dead-lettered; the delivery is still accepted with its good changes."""
    payload = orjson.loads(delivery(comment_id="111_444"))
    broken = {"field": "feed", "value": {"item": "comment", "verb": "add", "post_id": "1044_111", "message": "x"}}
    payload["entry"][0]["changes"].append(broken)
    response = await rig.post(orjson.dumps(payload))
    assert response.status == 202 and await response.json() == {"published": 1, "dead_lettered": 1}


def test_a_facebook_webhook_source_needs_app_secret_and_verify_token() -> None:
    """Configuration names the missing credential."""
    bare = SourceConfig(id="f", merchant_id="shop", platform="facebook", options={"mode": "webhook"})
    with pytest.raises(ConfigError, match=r"credentials\.app_secret"):
        WebhookReceiver([bare], CollectorRegistry())
