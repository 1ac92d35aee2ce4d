"""Signed acknowledge / resolve links in notifications, served by the running alerter: confirm, act, refuse."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import aiohttp
from prometheus_client import CollectorRegistry

from services.alerter.links import LinkSigner
from services.shared.settings import Secret, Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    make_incident,
    produce_incidents,
    running_alerter,
    wait_until,
)


async def test_notification_links_confirm_then_acknowledge_and_refuse_forgeries(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """The webhook body carries signed links to this alerter; GET shows a confirmation page and changes nothing;
    POST acknowledges (then 409 on a second POST); a forged or expired link answers 403."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        async with running_alerter(test_settings, config, registry) as running:
            incident = make_incident("links", 1, "open")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [incident])
            await wait_until(lambda: len(hook.received) >= 1, "the notification arrives")
            links = hook.received[0].body["links"]
            assert set(links) == {"acknowledge", "resolve", "console"}
            assert links["console"] == f"{running.http.url}/console#/incidents/{incident.incident_id}"
            ack = links["acknowledge"]
            assert ack.startswith(f"{running.http.url}/api/v1/links/{incident.incident_id}/acknowledge?")
            assert ack in hook.received[0].body["text"]
            api = f"{running.http.url}/api/v1/incidents/{incident.incident_id}"
            auth = {"Authorization": "Bearer test-token"}
            async with aiohttp.ClientSession() as client:
                async with client.get(ack) as page:
                    assert page.status == 200
                    assert '<form method="post"' in await page.text()
                async with client.get(api, headers=auth) as detail:
                    assert (await detail.json())["incident"]["response_state"] == "triggered"
                async with client.post(ack) as done:
                    assert done.status == 200
                async with client.get(api, headers=auth) as detail:
                    body = await detail.json()
                    assert body["incident"]["response_state"] == "acknowledged"
                    assert body["incident"]["acknowledged_by"] == "link"
                async with client.post(ack) as again:
                    assert again.status == 409
                forged = links["resolve"].replace("sig=", "sig=0")
                async with client.post(forged) as refused:
                    assert refused.status == 403
                signer = LinkSigner(Secret("test-link-secret"), running.http.url)
                expired = signer.link(incident.incident_id, "resolve", int(datetime.now(UTC).timestamp()) - 1)
                async with client.get(expired) as old:
                    assert old.status == 403
                    assert "expired" in await old.text()


async def test_public_url_is_the_base_of_every_notification_link(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """With STORMWATCH_PUBLIC_URL set (how responders reach the alerter behind a proxy), the ack / resolve links
    and the console link point there instead of at the server's own address."""
    settings = dataclasses.replace(test_settings, public_url="https://alerts.example.com")
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        async with running_alerter(settings, config, registry):
            incident = make_incident("public-url", 1, "open")
            await produce_incidents(settings.require_kafka(), settings.topics.incidents, [incident])
            await wait_until(lambda: len(hook.received) >= 1, "the notification arrives")
            links = hook.received[0].body["links"]
    assert links["console"] == f"https://alerts.example.com/console#/incidents/{incident.incident_id}"
    for action in ("acknowledge", "resolve"):
        assert links[action].startswith(f"https://alerts.example.com/api/v1/links/{incident.incident_id}/{action}?")
