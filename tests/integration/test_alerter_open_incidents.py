"""The open-incidents gauge on the real broker and PostgreSQL: stormwatch_open_incidents counts the incidents
neither the detector nor a responder resolved, by kind, severity, platform, merchant and response state."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from services.alerter.open_incidents import OpenIncidentsGauge
from services.alerter.telemetry import AlerterMetrics, LabelValues
from services.shared import db, metrics
from services.shared.errors import TransientError
from services.shared.settings import Settings
from tests.integration.test_alerter_support import (
    FakeReceiver,
    alerter_config,
    make_incident,
    metric,
    produce_incidents,
    running_alerter,
    wait_until,
)

AUTH = {"Authorization": "Bearer test-token"}
NAME = "stormwatch_open_incidents"


def _labels(merchant: str, state: str, severity: str = "high") -> dict[str, str]:
    return {"kind": "negative_spike", "severity": severity, "platform": "trustpilot", "merchant": merchant,
            "state": state}  # fmt: skip


async def test_open_incidents_follow_the_detector_and_the_responders(
    test_settings: Settings, registry: CollectorRegistry, db_pool: asyncpg.Pool
) -> None:
    """Three incidents open (two high, one critical); the running alerter's gauge shows them. One is acknowledged
    (it moves from triggered to acknowledged), one is resolved by the detector (its series drops to 0, it is not
    removed). A gauge refreshed on a second registry reads the same database: every replica agrees. The SLA API
    by merchant counts the same incidents."""
    async with FakeReceiver() as hook:
        config = alerter_config([{"name": "team", "type": "webhook", "url": hook.url}])
        async with running_alerter(test_settings, config, registry) as running:
            first, second = make_incident("open-1", 1, "open"), make_incident("open-2", 1, "open")
            third = make_incident("open-3", 1, "open", severity="critical")
            bootstrap, topic = test_settings.require_kafka(), test_settings.topics.incidents
            await produce_incidents(bootstrap, topic, [first, second, third])
            # The app refreshes the gauge on its own every few seconds.
            await wait_until(lambda: metric(registry, NAME, **_labels("acme", "triggered")) == 2, "two high open")
            assert metric(registry, NAME, **_labels("acme", "triggered", "critical")) == 1

            async with aiohttp.ClientSession() as client:
                url = f"{running.http.url}/api/v1/incidents/{first.incident_id}/ack"
                async with client.post(url, json={"by": "ana"}, headers=AUTH) as acked:
                    assert acked.status == 200
            await produce_incidents(bootstrap, topic, [make_incident("open-3", 2, "resolved", severity="critical")])

            async def resolved_stored() -> bool:
                status = await db_pool.fetchval("SELECT status FROM incidents WHERE incident_id = $1",
                                                third.incident_id)  # fmt: skip
                return bool(status == "resolved")

            await wait_until(resolved_stored, "the detector's resolve is stored")
            other = AlerterMetrics.create(metrics.new_registry(), LabelValues.of(["acme"]))
            counts = await OpenIncidentsGauge(db_pool, other).refresh()
            assert counts == {
                ("negative_spike", "high", "trustpilot", "acme", "triggered"): 1,
                ("negative_spike", "high", "trustpilot", "acme", "acknowledged"): 1,
            }
            await wait_until(
                lambda: (
                    metric(registry, NAME, **_labels("acme", "acknowledged")) == 1
                    and metric(registry, NAME, **_labels("acme", "triggered")) == 1
                ),
                "the acknowledgement moves one incident",
            )
            await wait_until(
                lambda: registry.get_sample_value(NAME, _labels("acme", "triggered", "critical")) == 0,
                "the resolved incident's series drops to zero",
            )
            # The SLA API reports the same incidents per merchant: three, one acknowledged, one resolved.
            async with (
                aiohttp.ClientSession() as client,
                client.get(f"{running.http.url}/api/v1/sla", params={"by": "merchant"}, headers=AUTH) as answer,
            ):
                (group,) = (await answer.json())["groups"]
            assert (group["merchant"], group["incidents"], group["acknowledged"], group["resolved"]) == (
                "acme",
                3,
                1,
                1,
            )
            assert group["time_to_acknowledge_seconds"]["p50"] is not None


async def test_many_merchants_share_one_series_and_unknown_ones_are_other(db_pool: asyncpg.Pool) -> None:
    """With more merchants configured than the label limit the merchant label is `_all`; with few, an incident of
    a merchant outside the configuration counts as `_other`, so the label never takes an unbounded value."""
    await db_pool.execute(
        """INSERT INTO incidents (incident_id, version, status, kind, severity, merchant_id, platform, category,
               title, summary, started_at, detected_at, payload, response_state)
           VALUES ('i-1', 1, 'open', 'viral_thread', 'warning', 'm-7', 'yelp', NULL, 't', 's', now(), now(), '{}',
                   'triggered')"""
    )
    many = AlerterMetrics.create(metrics.new_registry(), LabelValues.of([f"m-{i}" for i in range(50)], limit=20))
    assert await OpenIncidentsGauge(db_pool, many).refresh() == {
        ("viral_thread", "warning", "yelp", "_all", "triggered"): 1
    }
    few = AlerterMetrics.create(metrics.new_registry(), LabelValues.of(["acme"]))
    assert await OpenIncidentsGauge(db_pool, few).refresh() == {
        ("viral_thread", "warning", "yelp", "_other", "triggered"): 1
    }


async def test_the_gauge_loop_outlives_a_database_it_cannot_reach(database_url: str, schema_name: str) -> None:
    """While PostgreSQL cannot be reached (here: a closed pool) each refresh fails as a transient error, is logged
    and retried on the next period; the loop keeps running until asked to stop and then ends cleanly."""
    pool = await db.create_pool(database_url, schema_name, max_size=1)
    await pool.close()
    with pytest.raises(TransientError):
        await OpenIncidentsGauge(pool, AlerterMetrics.create(metrics.new_registry())).refresh()
    gauge = OpenIncidentsGauge(pool, AlerterMetrics.create(metrics.new_registry()), refresh_seconds=0.01)
    task = asyncio.create_task(gauge.run())
    await asyncio.sleep(0.1)  # several failed periods
    assert not task.done()
    gauge.request_stop()
    await asyncio.wait_for(task, 5)
