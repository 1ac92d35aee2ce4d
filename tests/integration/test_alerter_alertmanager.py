"""The Alertmanager notifier against Debian's real `prometheus-alertmanager`, started on free loopback ports."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.alerter.notifiers.alertmanager import AlertmanagerNotifier
from services.alerter.render import build_notification
from services.shared.embedded import free_port
from tests.integration.test_alerter_support import make_incident

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
CONFIG = """route:
  receiver: blackhole
  group_wait: 1h
receivers:
  - name: blackhole
"""


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[str]:
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        BINARY,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(url + "/-/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            else:
                pytest.fail("alertmanager did not become ready")
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def _alerts(url: str, *, active: bool = True) -> list[dict[str, Any]]:
    params = {"active": str(active).lower(), "silenced": "true", "inhibited": "true", "unprocessed": "true"}
    async with aiohttp.ClientSession() as session, session.get(url + "/api/v2/alerts", params=params) as response:
        assert response.status == 200
        alerts: list[dict[str, Any]] = await response.json()
        return alerts


async def test_alertmanager_shows_the_firing_alert_then_resolves_it(alertmanager: str) -> None:
    """A firing incident appears in Alertmanager's API with our labels and annotations (hostile text kept as data);
    re-sending keeps it active; the resolved state sets endsAt so it is no longer active."""
    incident = dataclasses.replace(make_incident("am", 1, "open"), title="Spike <!channel> @here <b>x</b>")
    notifier = AlertmanagerNotifier("am", alertmanager, resend_interval_seconds=3600)
    await notifier.start()
    try:
        await notifier.send(build_notification(incident, "am"))
        assert notifier.firing == 1
        alerts = await _alerts(alertmanager)
        assert len(alerts) == 1
        labels = alerts[0]["labels"]
        assert labels["alertname"] == "stormwatch_negative_spike"
        assert labels["incident_id"] == incident.incident_id
        assert labels["merchant"] == "acme" and labels["severity"] == "high"
        assert "<!channel>" in alerts[0]["annotations"]["summary"]
        assert alerts[0]["status"]["state"] == "active"

        assert await notifier.resend_firing() == 1
        assert len(await _alerts(alertmanager)) == 1

        resolved = dataclasses.replace(make_incident("am", 2, "resolved"), resolved_at="2026-03-01T12:00:00Z")
        await notifier.send(build_notification(resolved, "am"))
        assert notifier.firing == 0
        assert await notifier.resend_firing() == 0
        assert await _alerts(alertmanager, active=True) == []
    finally:
        await notifier.close()
