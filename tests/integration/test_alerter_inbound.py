"""Inbound acknowledgements from PagerDuty (signed V3 webhooks) and Opsgenie (shared-token outgoing webhooks),
served by the running alerter on the real broker and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac

import aiohttp
import orjson
from prometheus_client import CollectorRegistry

from services.alerter.inbound_api import pagerduty_signature_valid
from services.shared.config import parse_config
from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    make_incident,
    produce_incidents,
    running_alerter,
    wait_until,
)

AUTH = {"Authorization": "Bearer test-token"}
PD_SECRET = "pd-webhook-secret"
OG_TOKEN = "og-webhook-token"


def _pd_event(event_type: str, incident_key: str, agent: str = "Ana") -> bytes:
    """A PagerDuty V3 webhook body, trimmed to the fields the alerter reads (plus some it ignores)."""
    return orjson.dumps(
        {
            "event": {
                "id": "01DEN3FZ2UZSI3OAXLKCE0OPW5",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2026-03-01T10:15:00.000Z",
                "agent": {"id": "PLH1HKV", "summary": agent, "type": "user_reference"},
                "data": {"id": "Q2MJ4MSHXXXXXX", "type": "incident", "incident_key": incident_key, "status": "x"},
            }
        }
    )


def _sign(body: bytes, secret: str = PD_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-PagerDuty-Signature": f"v1=00ff, v1={digest}", "Content-Type": "application/json"}


def test_pagerduty_signature_accepts_any_listed_v1_signature_only() -> None:
    """During secret rotation PagerDuty lists several signatures: any matching v1 passes; other versions,
    empty or malformed headers fail."""
    body = b'{"event": {}}'
    good = hmac.new(b"s", body, hashlib.sha256).hexdigest()
    assert pagerduty_signature_valid(f"v1=abc,v1={good}", body, b"s")
    assert not pagerduty_signature_valid(f"v2={good}", body, b"s")
    assert not pagerduty_signature_valid("", body, b"s")
    assert not pagerduty_signature_valid("v1=\udcff", body, b"s")


async def test_pagerduty_ack_and_opsgenie_close_change_the_incident_and_bad_requests_are_refused(
    test_settings: Settings, registry: CollectorRegistry
) -> None:
    """A signed PagerDuty incident.acknowledged acknowledges the incident named by incident_key (by
    'pagerduty:Ana'); the same event again is 202 (already acknowledged). An Opsgenie Close with the token resolves
    it (by 'opsgenie:bo'). Bad signatures and tokens are 403, malformed bodies 400, unknown receivers 404, other
    event types and unknown incidents 202: nothing changes for them."""
    async with FakeReceiver() as hook:
        config = parse_config(
            {
                "merchants": [{"id": "acme"}],
                "receivers": [
                    {"name": "team", "type": "webhook", "url": hook.url},
                    {"name": "pd", "type": "pagerduty", "url": hook.url, "routing_key_secret": "rk",
                     "inbound_secret": PD_SECRET},
                    {"name": "og", "type": "opsgenie", "api_url": hook.url, "api_key_secret": "k",
                     "inbound_secret": OG_TOKEN},
                ],
                "route": {"receivers": ["team"]},
            },
            env={},
        )  # fmt: skip
        async with running_alerter(test_settings, config, registry) as running, aiohttp.ClientSession() as client:
            incident = make_incident("inbound", 1, "open")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [incident])
            await wait_until(lambda: len(hook.received) >= 1, "the incident is paged")
            base = running.http.url
            pd_url, og_url = f"{base}/api/v1/inbound/pagerduty/pd", f"{base}/api/v1/inbound/opsgenie/og"
            api = f"{base}/api/v1/incidents/{incident.incident_id}"

            ack = _pd_event("incident.acknowledged", incident.incident_id)
            async with client.post(pd_url, data=ack, headers=_sign(ack, "wrong")) as refused:
                assert refused.status == 403
            async with client.post(pd_url, data=ack) as unsigned:
                assert unsigned.status == 403
            async with client.post(f"{base}/api/v1/inbound/pagerduty/team", data=ack, headers=_sign(ack)) as missing:
                assert missing.status == 404
            async with client.post(pd_url, data=b"[1]", headers=_sign(b"[1]")) as malformed:
                assert malformed.status == 400
            other = _pd_event("incident.annotated", incident.incident_id)
            async with client.post(pd_url, data=other, headers=_sign(other)) as ignored:
                assert ignored.status == 202
            stranger = _pd_event("incident.acknowledged", "f" * 32)
            async with client.post(pd_url, data=stranger, headers=_sign(stranger)) as unknown:
                assert (unknown.status, (await unknown.json())["detail"]) == (202, "unknown incident")
            async with client.get(api, headers=AUTH) as detail:
                assert (await detail.json())["incident"]["response_state"] == "triggered"

            async with client.post(pd_url, data=ack, headers=_sign(ack)) as applied:
                assert (applied.status, (await applied.json())["response_state"]) == (200, "acknowledged")
            async with client.post(pd_url, data=ack, headers=_sign(ack)) as again:
                assert (again.status, (await again.json())["detail"]) == (202, "already acknowledged")
            async with client.get(api, headers=AUTH) as detail:
                assert (await detail.json())["incident"]["acknowledged_by"] == "pagerduty:Ana"

            close = orjson.dumps({"action": "Close", "alert": {"alias": incident.incident_id, "username": "bo"}})
            async with client.post(og_url, data=close, headers={"X-Stormwatch-Token": "nope"}) as refused:
                assert refused.status == 403
            token = {"X-Stormwatch-Token": OG_TOKEN}
            async with client.post(og_url, data=b"not json", headers=token) as malformed:
                assert malformed.status == 400
            note = orjson.dumps({"action": "AddNote", "alert": {"alias": incident.incident_id}})
            async with client.post(og_url, data=note, headers=token) as ignored:
                assert ignored.status == 202
            async with client.post(og_url, data=close, headers=token) as applied:
                assert (applied.status, (await applied.json())["response_state"]) == (200, "resolved")
            async with client.get(api, headers=AUTH) as detail:
                assert (await detail.json())["incident"]["resolved_by"] == "opsgenie:bo"
