"""deploy/alertmanager/alertmanager.yml is valid and routes both kinds of alert the compose deployment sends it: the
Prometheus rules' Stormwatch-health alerts and the alerter's merchant incidents (checked with amtool and with a real
Alertmanager receiving from the alerter's notifier built from deploy/stormwatch/config.yaml)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from services.alerter.notifiers.base import Notifier
from services.alerter.notifiers.factory import build_notifiers
from services.alerter.render import build_notification
from services.shared.config import parse_config
from services.shared.embedded import free_port
from tests.integration.test_alerter_support import make_incident

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "stormwatch.rules.yml"
STORMWATCH_CONFIG = ROOT / "deploy" / "stormwatch" / "config.yaml"
CONFIG_ENV = {
    "TRUSTPILOT_API_KEY": "test-key",
    "TRUSTPILOT_API_SECRET": "test-secret",
    "STORMWATCH_WEBHOOK_SECRET": "test-hook-secret",
}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: `apt-get install -y prometheus-alertmanager` (or `make system-deps`). "
            "These tests check the Alertmanager configuration with it and must not be skipped."
        )
    return path


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("amtool"), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def route_of(*labels: str) -> str:
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_alertmanager_config_is_valid() -> None:
    """`amtool check-config` accepts the compose Alertmanager's configuration."""
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_health_alert_rule_routes_to_the_operators() -> None:
    """Each alert of deploy/prometheus/rules (with its own severity) lands with the people who run Stormwatch."""
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]
    assert rules
    for rule in rules:
        assert route_of(f"alertname={rule['alert']}", f"severity={rule['labels']['severity']}") == (
            "stormwatch-operators"
        ), rule["alert"]


def test_merchant_incidents_route_to_their_own_receiver() -> None:
    """An alert from the alerter's notifier (alertname stormwatch_<kind> with an incident_id) goes to
    merchant-incidents, whatever its severity, and does not mix with the health alerts."""
    for severity in ("low", "medium", "high", "critical"):
        labels = ("alertname=stormwatch_negative_spike", "incident_id=0123abcd", "merchant=demo-shop")
        assert route_of(*labels, f"severity={severity}") == "merchant-incidents"


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[str]:
    """Debian's prometheus-alertmanager running the deploy configuration on a free loopback port."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        tool("prometheus-alertmanager"),
        f"--config.file={CONFIG}",
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


def deploy_notifier(url: str) -> Notifier:
    """The alerter's `alertmanager` receiver exactly as deploy/stormwatch/config.yaml defines it, but pointed at the
    test's Alertmanager instead of the compose host name."""
    document = yaml.safe_load(STORMWATCH_CONFIG.read_text(encoding="utf-8"))
    for receiver in document["receivers"]:
        if receiver["type"] == "alertmanager":
            assert receiver["url"] == "http://alertmanager:9093"
            receiver["url"] = url
    config = parse_config(document, CONFIG_ENV)
    return build_notifiers(config.receivers)["alertmanager"]


async def test_the_alerter_delivers_an_incident_to_the_deploy_alertmanager(alertmanager: str) -> None:
    """A merchant incident sent by the compose config's alertmanager receiver is accepted by an Alertmanager running
    the deploy configuration, active, and routed to the merchant-incidents receiver."""
    notifier = deploy_notifier(alertmanager)
    await notifier.start()
    try:
        incident = make_incident("deploy-am", 1, "open", merchant="demo-shop")
        await notifier.send(build_notification(incident, "alertmanager"))
    finally:
        await notifier.close()
    params = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            async with session.get(alertmanager + "/api/v2/alerts", params=params) as response:
                assert response.status == 200
                alerts: list[dict[str, Any]] = await response.json()
            if alerts and alerts[0]["receivers"]:
                break
            await asyncio.sleep(0.05)
    (alert,) = alerts
    assert alert["labels"]["incident_id"] == incident.incident_id
    assert alert["labels"]["merchant"] == "demo-shop"
    assert alert["status"]["state"] == "active"
    assert [receiver["name"] for receiver in alert["receivers"]] == ["merchant-incidents"]
