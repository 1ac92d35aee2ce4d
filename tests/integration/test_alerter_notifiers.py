"""Every SaaS notifier against a local HTTP server that plays the service and checks the exact payload shape."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiohttp import web

from services.alerter.notifiers.base import DeliveryFailed
from services.alerter.notifiers.opsgenie import OpsgenieNotifier
from services.alerter.notifiers.pagerduty import PagerDutyNotifier
from services.alerter.notifiers.slack import SlackNotifier
from services.alerter.render import build_notification
from services.shared.events import IncidentEvent
from services.shared.settings import Secret
from tests.integration.test_alerter_support import make_incident

HOSTILE = "<!channel> @here <script>alert(1)</script> *bold* & <@U123ABC> \n newline"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def hostile(status: str = "open", version: int = 1) -> IncidentEvent:
    incident = make_incident("hostile", version, status)  # type: ignore[arg-type]
    return dataclasses.replace(incident, title=f"Spike {HOSTILE}", summary=f"Review says: {HOSTILE}")


class Recorder:
    """A local server: records (path, headers, JSON body) and answers with the queued responses (default 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.responses: list[web.Response] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append((request.path_qs, dict(request.headers), body))
        if self.responses:
            return self.responses.pop(0)
        return self.default(request.path_qs, body)

    def default(self, _path: str, _body: Any) -> web.Response:
        return web.Response(text="ok")


@asynccontextmanager
async def serving(recorder: Recorder) -> AsyncIterator[Recorder]:
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recorder.url = f"http://127.0.0.1:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


class PagerDuty(Recorder):
    """Answers like Events API v2: 202 with the dedup_key, 400 for an event missing required fields."""

    def default(self, _path: str, body: Any) -> web.Response:
        required = {"routing_key", "event_action", "dedup_key"}
        if not required <= set(body) or (body["event_action"] == "trigger" and "payload" not in body):
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid", "errors": ["missing"]}, status=400
            )
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]}, status=202
        )


class Opsgenie(Recorder):
    def default(self, _path: str, _body: Any) -> web.Response:
        return web.json_response({"result": "Request will be processed", "took": 0.1, "requestId": "r-1"}, status=202)


def _all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _all_strings(v)]
    return []


async def test_slack_gets_block_kit_with_hostile_text_escaped() -> None:
    """The Slack incoming webhook receives text + blocks; no string in the payload contains a raw `<`, `<!channel>`,
    `<@U…>` or a bare @here, so the hostile review pings nobody and renders nothing."""
    async with serving(Recorder()) as slack:
        notifier = SlackNotifier("slack", Secret(slack.url + "/services/T000/B000/XXXX"))
        await notifier.start()
        try:
            outcome = await notifier.send(build_notification(hostile(), "slack"))
        finally:
            await notifier.close()
    assert outcome.detail == "HTTP 200"
    path, headers, body = slack.requests[0]
    assert path == "/services/T000/B000/XXXX"
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {"text", "blocks", "unfurl_links", "unfurl_media"}
    assert [block["type"] for block in body["blocks"]] == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"]["type"] == "plain_text"
    assert body["blocks"][1]["text"]["type"] == "mrkdwn"
    for text in _all_strings(body):
        assert "<" not in text and ">" not in text
        assert "@here" not in text and "@channel" not in text
        assert "*bold*" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body["blocks"][1]["text"]["text"]


async def test_slack_429_is_retriable_with_retry_after() -> None:
    """Slack's rate limit answer (429 + Retry-After) becomes a retriable failure carrying the wait."""
    async with serving(Recorder()) as slack:
        slack.responses.append(web.Response(status=429, headers={"Retry-After": "7"}))
        notifier = SlackNotifier("slack", Secret(slack.url + "/hook"))
        await notifier.start()
        try:
            with pytest.raises(DeliveryFailed) as failure:
                await notifier.send(build_notification(hostile(), "slack"))
        finally:
            await notifier.close()
    assert failure.value.retriable and failure.value.retry_after == 7.0


async def test_pagerduty_trigger_acknowledge_resolve_share_the_incident_dedup_key() -> None:
    """Trigger carries the full payload (summary, source, severity, timestamp, custom_details); acknowledge and
    resolve carry only routing_key, event_action and dedup_key = incident id; PagerDuty answers 202 each time."""
    async with serving(PagerDuty()) as pd:
        notifier = PagerDutyNotifier("pd", Secret(ROUTING_KEY), url=pd.url + "/v2/enqueue")
        await notifier.start()
        try:
            opened = build_notification(hostile(), "pd")
            await notifier.send(opened)
            await notifier.send(dataclasses.replace(opened, action="acknowledge"))
            outcome = await notifier.send(build_notification(hostile("resolved", 2), "pd"))
        finally:
            await notifier.close()
    assert outcome.detail == "HTTP 202 resolve"
    incident_id = opened.incident.incident_id
    bodies = [body for path, _headers, body in pd.requests if path == "/v2/enqueue"]
    assert [b["event_action"] for b in bodies] == ["trigger", "acknowledge", "resolve"]
    assert all(b["dedup_key"] == incident_id and b["routing_key"] == ROUTING_KEY for b in bodies)
    trigger = bodies[0]
    assert set(trigger["payload"]) == {
        "summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details",
    }  # fmt: skip
    assert trigger["payload"]["severity"] == "error"  # our "high"
    assert "\n" not in trigger["payload"]["summary"]
    assert set(bodies[1]) == {"routing_key", "event_action", "dedup_key"}
    assert set(bodies[2]) == {"routing_key", "event_action", "dedup_key"}


async def test_pagerduty_400_is_final_and_429_retriable() -> None:
    """400 "invalid event" is not retried; 429 (throttled) is."""
    async with serving(PagerDuty()) as pd:
        pd.responses.append(web.json_response({"status": "invalid event"}, status=400))
        pd.responses.append(web.Response(status=429))
        notifier = PagerDutyNotifier("pd", Secret(ROUTING_KEY), url=pd.url + "/v2/enqueue")
        await notifier.start()
        try:
            with pytest.raises(DeliveryFailed) as bad:
                await notifier.send(build_notification(hostile(), "pd"))
            with pytest.raises(DeliveryFailed) as throttled:
                await notifier.send(build_notification(hostile(), "pd"))
        finally:
            await notifier.close()
    assert not bad.value.retriable
    assert throttled.value.retriable


async def test_opsgenie_create_acknowledge_close_by_alias() -> None:
    """Create posts to /v2/alerts with alias = incident id, message ≤ 130 chars, a GenieKey header; acknowledge and
    close address the alert by alias; each answer is 202 with a requestId."""
    async with serving(Opsgenie()) as og:
        notifier = OpsgenieNotifier("og", Secret("genie-key"), api_url=og.url)
        await notifier.start()
        try:
            opened = build_notification(hostile(), "og")
            await notifier.send(opened)
            await notifier.send(dataclasses.replace(opened, action="acknowledge"))
            await notifier.send(build_notification(hostile("resolved", 2), "og"))
        finally:
            await notifier.close()
    alias = opened.incident.incident_id
    paths = [path for path, _h, _b in og.requests]
    assert paths == [
        "/v2/alerts",
        f"/v2/alerts/{alias}/acknowledge?identifierType=alias",
        f"/v2/alerts/{alias}/close?identifierType=alias",
    ]
    assert all(headers["Authorization"] == "GenieKey genie-key" for _p, headers, _b in og.requests)
    create = og.requests[0][2]
    assert create["alias"] == alias
    assert len(create["message"]) <= 130 and "\n" not in create["message"]
    assert create["priority"] == "P2"
    assert {"message", "alias", "description", "tags", "details", "entity", "source", "priority"} == set(create)


async def test_opsgenie_answer_without_request_id_is_not_a_delivery() -> None:
    """A 2xx that is not Opsgenie's 202 + requestId is treated as a retriable failure."""
    async with serving(Opsgenie()) as og:
        og.responses.append(web.json_response({"unexpected": True}, status=200))
        notifier = OpsgenieNotifier("og", Secret("genie-key"), api_url=og.url)
        await notifier.start()
        try:
            with pytest.raises(DeliveryFailed) as failure:
                await notifier.send(build_notification(hostile(), "og"))
        finally:
            await notifier.close()
    assert failure.value.retriable
