"""Noise control and escalation on the real broker and PostgreSQL: silences through the API, inhibition, the
explain endpoint, escalation stopped by an acknowledgement, the audit trail and response SLAs."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from services.shared.config import parse_config
from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    make_incident,
    metric,
    produce_incidents,
    running_alerter,
    wait_until,
)

AUTH = {"Authorization": "Bearer test-token"}


def audit_step(audit: list[dict[str, Any]]) -> str:
    """The ack-timeout step's name (it embeds the acknowledgement's time)."""
    step: str = next(n["step"] for n in audit if n["step"].startswith("ack_timeout:"))
    return step


async def _status(pool: asyncpg.Pool, incident_id: str, receiver: str, step: str = "") -> tuple[str, str | None]:
    row = await pool.fetchrow(
        "SELECT status, last_reason FROM notifications WHERE incident_id = $1 AND receiver = $2 AND step = $3",
        incident_id,
        receiver,
        step,
    )
    return ("", None) if row is None else (row["status"], row["last_reason"])


async def test_silence_and_inhibition_suppress_with_reasons_and_explain_says_why(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """A silence created through the API mutes a matching incident (logged as suppressed, never sent); an open
    viral thread inhibits the merchant's spikes; the explain endpoints name the silence and the inhibiting
    incident; deleting the silence expires it."""
    async with FakeReceiver() as hook:
        config = parse_config(
            {
                "merchants": [{"id": "acme"}, {"id": "globex"}],
                "receivers": [{"name": "team", "type": "webhook", "url": hook.url}],
                "route": {"receivers": ["team"]},
                "inhibit_rules": [
                    {"source_match": {"kind": "viral_thread"}, "target_match": {"kind": "negative_spike"}}
                ],
            },
            env={},
        )
        async with running_alerter(test_settings, config, registry) as running, aiohttp.ClientSession() as client:
            base = running.http.url
            silence_body = {"matchers": {"merchant": "globex"}, "owner": "ana", "reason": "migration",
                            "duration_seconds": 3600}  # fmt: skip
            async with client.post(f"{base}/api/v1/silences", json=silence_body, headers=AUTH) as created:
                assert created.status == 201
                silence = (await created.json())["silence"]
            assert silence["state"] == "active"
            async with client.post(f"{base}/api/v1/silences", json={"matchers": {}}, headers=AUTH) as bad:
                assert bad.status == 400

            silenced = make_incident("silenced", 1, "open", merchant="globex")
            viral = dataclasses.replace(make_incident("viral", 1, "open"), kind="viral_thread")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [silenced, viral])
            await wait_until(lambda: len(hook.received) >= 1, "the viral thread is paged")
            spike = make_incident("spike", 1, "open")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [spike])

            async def suppressed() -> bool:
                return (await _status(db_pool, spike.incident_id, "team"))[0] == "suppressed"

            await wait_until(suppressed, "the spike is inhibited")
            assert await _status(db_pool, silenced.incident_id, "team") == ("suppressed", "silenced")
            assert await _status(db_pool, spike.incident_id, "team") == ("suppressed", "inhibited")
            assert [r.body["incident"]["incident_id"] for r in hook.received] == [viral.incident_id]
            assert metric(registry, "stormwatch_notifications_suppressed_total", reason="silenced") == 1

            async with client.get(f"{base}/api/v1/incidents/{spike.incident_id}/explain", headers=AUTH) as answer:
                explained = await answer.json()
            assert explained["notifications"][0]["suppressed"] == "inhibited"
            assert viral.incident_id in explained["notifications"][0]["why"][-1]
            assert explained["logged"][0]["status"] == "suppressed"
            dry = orjson.dumps(make_incident("dry-run", 1, "open", merchant="globex").to_dict())
            async with client.post(f"{base}/api/v1/explain", data=dry, headers=AUTH) as answer:
                explained = await answer.json()
            assert explained["notifications"][0]["suppressed"] == "silenced"
            assert silence["silence_id"] in explained["notifications"][0]["why"][-1]
            assert await db_pool.fetchval("SELECT count(*) FROM incidents WHERE merchant_id = 'globex'") == 1

            async with client.delete(f"{base}/api/v1/silences/{silence['silence_id']}", headers=AUTH) as deleted:
                assert deleted.status == 200
            async with client.get(f"{base}/api/v1/silences", headers=AUTH) as listed:
                assert (await listed.json())["count"] == 0
            async with client.get(f"{base}/api/v1/silences?expired=true", headers=AUTH) as listed:
                assert [s["state"] for s in (await listed.json())["silences"]] == ["expired"]


async def test_acknowledgement_stops_the_escalation_and_feeds_the_sla(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """Level 1 (the pager) is paged at once; the responder acknowledges; level 2 (the lead), due later, is
    suppressed as acknowledged and never sent. The audit lists both; the SLA and the metric show the ack."""
    async with FakeReceiver() as pager, FakeReceiver() as lead:
        config = parse_config(
            {
                "merchants": [{"id": "acme"}],
                "receivers": [
                    {"name": "pager", "type": "webhook", "url": pager.url},
                    {"name": "lead", "type": "webhook", "url": lead.url},
                ],
                "people": [{"name": "ana", "receivers": ["pager"]}],
                "escalation_policies": [
                    {
                        "name": "oncall",
                        "levels": [{"receivers": ["pager"]}, {"delay": "2s", "receivers": ["lead"]}],
                        "ack_timeout": "1s",
                    }
                ],
                "route": {"receivers": [], "routes": [{"match": {"merchant": "acme"}, "escalation": "oncall"}]},
            },
            env={},
        )
        async with running_alerter(test_settings, config, registry) as running, aiohttp.ClientSession() as client:
            incident = make_incident("escalate", 1, "open")
            await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [incident])
            await wait_until(lambda: len(pager.received) >= 1, "level 1 is paged")
            assert pager.received[0].body["title"].startswith("[ESCALATION level 1, round 1]")
            url = f"{running.http.url}/api/v1/incidents/{incident.incident_id}/ack"
            async with client.post(url, json={"by": "ana"}, headers=AUTH) as acked:
                assert acked.status == 200

            async def level_two_suppressed() -> bool:
                status = await _status(db_pool, incident.incident_id, "lead", "escalation:oncall:1:0")
                return status == ("suppressed", "acknowledged")

            await wait_until(level_two_suppressed, "level 2 is stopped by the acknowledgement")
            assert lead.received == []
            # The pager learns of the acknowledgement, and is re-notified when the ack times out unresolved.
            await wait_until(lambda: len(pager.received) >= 3, "the ack follow-up and the ack-timeout page")
            titles = [r.body["title"] for r in pager.received]
            assert titles[1].startswith("[ACKNOWLEDGED]") and titles[2].startswith("[ACK TIMEOUT]")

            audit_url = f"{running.http.url}/api/v1/notifications?incident={incident.incident_id}"
            async with client.get(audit_url, headers=AUTH) as answer:
                audit: list[dict[str, Any]] = (await answer.json())["notifications"]
            assert sorted((n["receiver"], n["step"], n["status"]) for n in audit) == [
                ("lead", "escalation:oncall:1:0", "suppressed"),
                ("pager", audit_step(audit), "delivered"),
                ("pager", "acknowledge", "delivered"),
                ("pager", "escalation:oncall:0:0", "delivered"),
            ]
            assert {n["channel"] for n in audit} == {"webhook"}
            assert all(n["latency_seconds"] is not None for n in audit if n["status"] == "delivered")
            async with client.get(f"{running.http.url}/api/v1/sla?by=responder", headers=AUTH) as answer:
                sla = await answer.json()
            assert sla["groups"][0]["responder"] == "ana" and sla["groups"][0]["acknowledged"] == 1
            # Per kind, platform, merchant (few configured: its id) and responder (a configured person: their name).
            labels = {"kind": "negative_spike", "platform": "trustpilot", "merchant": "acme", "responder": "ana"}
            assert metric(registry, "stormwatch_time_to_acknowledge_seconds_count", **labels) == 1
