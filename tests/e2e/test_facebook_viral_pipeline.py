"""A viral Facebook post in the simulated world becomes a viral_thread incident at the receiver, end to end."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.local_run import LocalPipeline, LocalRunOptions
from services.shared.settings import Settings
from services.simulator.scenario import CascadeSpec, demo_scenario

SPEED = 900.0
ORIGIN = datetime(2026, 11, 23, tzinfo=UTC)
DEADLINE_SECONDS = 120.0


def _scenario() -> Any:
    """The demo merchant without its logistics storm, and the salad post going viral 20 simulated minutes in."""
    demo = demo_scenario(speed=SPEED, origin=ORIGIN)
    salad = CascadeSpec("facebook", 20 * 60, shares=6000, replies=600, views=20000, hours=6)
    merchant = dataclasses.replace(demo.merchants[0], storms=(), cascades=(salad,))
    return dataclasses.replace(demo, merchants=(merchant,), duration_seconds=3 * 3600)


async def _incidents(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    assert pipeline.http is not None and pipeline.settings.api_token is not None
    headers = {"Authorization": f"Bearer {pipeline.settings.api_token.reveal()}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{pipeline.http.url}/api/v1/incidents", headers=headers) as response,
    ):
        assert response.status == 200
        return list((await response.json())["incidents"])


@pytest.mark.e2e
async def test_a_viral_facebook_post_is_paged_as_a_viral_thread(
    test_settings: Settings, schema_name: str, tmp_path: Path
) -> None:
    """Simulator Graph API -> Facebook poller snapshots -> Kafka -> detector -> alerter: a viral_thread incident
    on platform facebook naming the post, delivered to the team webhook."""
    options = LocalRunOptions(http_port=0, scenario=_scenario(), demo_schema=schema_name, state_dir=tmp_path)
    async with LocalPipeline(test_settings, options) as pipeline:
        viral = next(p for p in pipeline.simulator.facebook.posts["demo-shop"] if p.cascade is not None)
        found: list[dict[str, Any]] = []
        for _ in range(int(DEADLINE_SECONDS * 2)):
            found = [i for i in await _incidents(pipeline) if i["kind"] == "viral_thread"]
            delivered = [r.body["incident"] for r in pipeline.inbox.received]
            if found and any(d["kind"] == "viral_thread" for d in delivered):
                break
            await asyncio.sleep(0.5)
        assert found, "no viral_thread incident"
        assert found[0]["platform"] == "facebook"
        paged = [d for d in delivered if d["kind"] == "viral_thread"]
        assert paged and paged[0]["thread_id"] == viral.id and paged[0]["status"] == "open"
