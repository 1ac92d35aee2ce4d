"""Fuzz the signed webhook endpoint over HTTP, publishing to the real broker: never a 5xx, every request counted.

Inputs: random paths, bodies (bytes, JSON, item lists, Trustpilot envelopes, oversized), and signature headers
(missing, random, non-ASCII, non-UTF-8 bytes, correct over odd timestamps such as `nan`), half of them signed
correctly so the fuzzing reaches the body parsing and the normaliser.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import event, given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.pollers.adapters.facebook_webhooks import hub_signature
from services.pollers.adapters.generic_items import FIELDS
from services.pollers.webhooks import MAX_BODY, WebhookReceiver, sign
from services.shared.config import SourceConfig
from services.shared.deadletter import DeadLetterPublisher
from services.shared.kafka import EventProducer, ProducerSettings
from services.shared.settings import Secret, Topics
from tests.fuzz.strategies import FUZZ, hostile_text, json_objects, json_values

SECRET = "fuzz-webhook-secret"
SOURCES = [
    SourceConfig(
        id=f"shop/{platform}",
        merchant_id="shop",
        platform=platform,
        credentials={"signing_secret": Secret(SECRET)},
        options={"mode": "webhook"},
    )
    for platform in ("homeadvisor", "trustpilot")
]
FACEBOOK_VERIFY = "fuzz-verify-token"
# Facebook pushes signed with the app secret (X-Hub-Signature-256), after a hub.challenge handshake.
SOURCES.append(
    SourceConfig(
        id="shop/facebook-push",
        merchant_id="shop",
        platform="facebook",
        credentials={"app_secret": Secret(SECRET), "verify_token": Secret(FACEBOOK_VERIFY)},
        options={"mode": "webhook"},
    )
)
ITEM_KEYS = st.sampled_from([*FIELDS, "items", "events", "eventName", "eventData", "stars", "createdAt", "consumer"])
TRUSTPILOT_EVENTS = st.sampled_from(["service-review-created", "service-review-updated", "service-review-deleted"])
FEED_CHANGE = st.fixed_dictionaries(
    {"field": st.sampled_from(["feed", "mention"]) | hostile_text,
     "value": json_objects(st.sampled_from(["item", "verb", "comment_id", "post_id", "parent_id", "message",
                                            "created_time", "from", "id", "name", "reaction_type"]))}
)  # fmt: skip
FEED = st.fixed_dictionaries(
    {"object": st.sampled_from(["page", "user"]) | hostile_text,
     "entry": st.lists(st.fixed_dictionaries({"id": json_values(), "time": json_values(),
                                              "changes": st.lists(FEED_CHANGE, max_size=3)}), max_size=3)}
)  # fmt: skip
ENVELOPE = st.fixed_dictionaries(
    {
        "events": st.lists(
            st.fixed_dictionaries(
                {"eventName": st.one_of(TRUSTPILOT_EVENTS, hostile_text), "eventData": json_objects(ITEM_KEYS)}
            ),
            max_size=3,
        )
    }
)
BODIES = st.one_of(
    st.binary(max_size=200),
    json_values(ITEM_KEYS).map(orjson.dumps),
    st.lists(json_objects(ITEM_KEYS), max_size=4).map(lambda items: orjson.dumps({"items": items})),
    json_objects(ITEM_KEYS).map(orjson.dumps),
    ENVELOPE.map(orjson.dumps),
    FEED.map(orjson.dumps),
    st.just(b"<oversized>"),  # replaced by MAX_BODY + 1 bytes in the test (a huge repr makes hypothesis warn)
)
# What an HTTP client can send as a header value (aiohttp refuses control characters; raw bytes are tested below).
HEADER_TEXT = st.one_of(
    hostile_text.map(lambda t: "".join(ch for ch in t if ch.isprintable())),
    st.text(st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=40),
)


@dataclass
class Rig:
    client: TestClient[Any, Any]
    registry: CollectorRegistry

    def count(self, name: str) -> float:
        total = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name:
                    total += sample.value
        return total


@pytest_asyncio.fixture(loop_scope="session")
async def rig(kafka_bootstrap: str, topics: Topics, registry: CollectorRegistry) -> AsyncIterator[Rig]:
    """The receiver on a test server, attached to a real producer and dead-letter publisher."""
    receiver = WebhookReceiver(SOURCES, registry)
    producer = EventProducer(ProducerSettings(kafka_bootstrap, client_id="fuzz-webhooks"))
    await producer.start()
    receiver.attach(producer, DeadLetterPublisher(producer, topics.deadletter, registry), topics.reviews)
    app = web.Application()
    app.router.add_routes(receiver.routes())
    try:
        async with TestClient(TestServer(app)) as client:
            yield Rig(client, registry)
    finally:
        await producer.stop()


@FUZZ
@given(
    path=st.one_of(st.sampled_from([s.id for s in SOURCES]), st.text(st.characters(codec="ascii"), max_size=30))
    | st.sampled_from([s.id for s in SOURCES]),
    body=BODIES,
    signing=st.sampled_from(["correct", "correct", "correct-odd-timestamp", "random", "missing"]),
    timestamp=st.one_of(HEADER_TEXT, st.sampled_from(["nan", "inf", "-inf", "1e308", "0x10", " 1 ", "١٢٣"])),
    signature=HEADER_TEXT,
    age=st.integers(min_value=-250, max_value=250),
)
async def test_any_webhook_delivery_is_answered_2xx_or_4xx_and_counted(
    rig: Rig, path: str, body: bytes, signing: str, timestamp: str, signature: str, age: int
) -> None:
    """Whatever arrives at /webhooks/..., the answer is 202 or a 4xx JSON error naming why, never a 5xx, and
    exactly one request is counted in stormwatch_webhook_requests_total (accepted or refused with its reason)."""
    if body == b"<oversized>":
        body = b"x" * (MAX_BODY + 1)
    headers: dict[str, str] = {}
    if signing.startswith("correct"):
        stamp = str(int(time.time()) - age) if signing == "correct" else timestamp
        headers = {"X-Stormwatch-Timestamp": stamp, "X-Stormwatch-Signature": sign(SECRET, stamp, body)}
        headers["X-Hub-Signature-256"] = hub_signature(SECRET, body)
    elif signing == "random":
        headers = {"X-Stormwatch-Timestamp": timestamp, "X-Stormwatch-Signature": signature}
        headers["X-Hub-Signature-256"] = signature
    before = rig.count("stormwatch_webhook_requests_total")
    response = await rig.client.post("/webhooks/" + path.lstrip("/"), data=io.BytesIO(body), headers=headers)
    event(f"status {response.status}")
    assert response.status in {202, 400, 401, 404, 413}, (response.status, await response.text())
    if response.content_type != "application/json":
        # Only aiohttp's router answers in text: a path no route matches, which never reached the receiver.
        assert response.status == 404
        assert rig.count("stormwatch_webhook_requests_total") == before
        return
    answer = await response.json()
    if response.status == 202:
        assert isinstance(answer, dict) and set(answer) == {"published", "dead_lettered"}
    else:
        assert isinstance(answer, dict) and answer.get("error"), answer
    assert rig.count("stormwatch_webhook_requests_total") == before + 1


async def test_non_utf8_signature_bytes_are_refused_with_401(rig: Rig) -> None:
    """Header bytes that are not UTF-8 (aiohttp keeps them as surrogates) are a refused signature, not a 500.
    Regression: hmac.compare_digest raised TypeError on a non-ASCII signature header."""
    body = b'{"id": "x"}'
    for timestamp, signature in ((b"1700000000", b"\xff\xfe"), (b"\xc3\xa9", b"sha256=00"), (b"1", "é".encode())):
        request = (
            b"POST /webhooks/shop/homeadvisor HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"X-Stormwatch-Timestamp: " + timestamp + b"\r\nX-Stormwatch-Signature: " + signature + b"\r\n\r\n" + body
        )
        reader, writer = await asyncio.open_connection(rig.client.host, rig.client.port)
        writer.write(request)
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


async def test_a_signed_nan_timestamp_is_stale(rig: Rig) -> None:
    """A delivery signed over the timestamp `nan` is refused as stale: `abs(now - nan) > tolerance` is False, so
    it used to be accepted and, once forgotten by the replay guard, replayable forever."""
    body = orjson.dumps({"id": "nan-1", "created_at": "2026-11-01T10:00:00Z", "rating": 1})
    for stamp in ("nan", "NaN", "-nan"):
        headers = {"X-Stormwatch-Timestamp": stamp, "X-Stormwatch-Signature": sign(SECRET, stamp, body)}
        response = await rig.client.post("/webhooks/shop/homeadvisor", data=body, headers=headers)
        assert response.status == 401 and (await response.json()) == {"error": "stale"}


@FUZZ
@given(
    path=st.sampled_from([s.id for s in SOURCES]),
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | st.text(max_size=5),
        st.sampled_from(["subscribe", FACEBOOK_VERIFY, "1158201444"]) | HEADER_TEXT,
        max_size=4,
    ),
)
async def test_any_subscription_handshake_is_answered_below_500_and_counted(
    rig: Rig, path: str, query: dict[str, str]
) -> None:
    """Meta's GET handshake with any query: the challenge echoed (200) only for our verify token, else 403 / 404
    (or 405 where no handshake is served), never a 5xx; each answer from the receiver is counted."""
    before = rig.count("stormwatch_webhook_requests_total")
    response = await rig.client.get("/webhooks/" + path, params=query)
    event(f"status {response.status}")
    assert response.status in {200, 403, 404, 405}, (response.status, await response.text())
    if response.status == 200:
        assert query.get("hub.verify_token") == FACEBOOK_VERIFY and await response.text() == query["hub.challenge"]
    if response.status != 405:
        assert rig.count("stormwatch_webhook_requests_total") == before + 1
