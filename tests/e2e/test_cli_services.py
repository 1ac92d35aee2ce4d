"""Each service runs alone as `stormwatch <service>` against configured Kafka and PostgreSQL, and the simulator too."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from services.shared.embedded import free_port
from services.shared.settings import Settings
from tests.conftest import TEST_SESSION_TIMEOUT_MS


async def _start(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _wait_ok(url: str, seconds: float = 60) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return await response.text()
            except aiohttp.ClientError:
                pass
            assert loop.time() < deadline, f"{url} never answered 200"
            await asyncio.sleep(0.3)


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode(errors="replace")[-3000:]


@pytest.mark.e2e
async def test_services_run_alone(test_settings: Settings, tmp_path: Path) -> None:
    """`stormwatch simulator`, `pollers`, `detector` and `alerter` each start alone from environment variables and a
    config file, become ready on their own HTTP port, expose their metrics, and stop cleanly on SIGTERM."""
    sim_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_", "STORMWATCH_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": test_settings.require_kafka(),
        "DATABASE_URL": test_settings.require_database().reveal(),
        "STORMWATCH_DB_SCHEMA": test_settings.database_schema,
        "STORMWATCH_API_TOKEN": "alone-token",
        "STORMWATCH_TOPIC_REVIEWS": test_settings.topics.reviews,
        "STORMWATCH_TOPIC_INCIDENTS": test_settings.topics.incidents,
        "STORMWATCH_TOPIC_DEADLETTER": test_settings.topics.deadletter,
        "STORMWATCH_CONSUMER_GROUP_PREFIX": test_settings.consumer_group_prefix,
        "STORMWATCH_CONSUMER_SESSION_TIMEOUT_MS": str(TEST_SESSION_TIMEOUT_MS),
        "STORMWATCH_LOG_FORMAT": "json",
        "STORMWATCH_WEBHOOK_SECRET": "s3cret",
    }
    simulator = await _start(["simulator", "--port", str(sim_port), "--speed", "600"], env)
    processes = [simulator]
    try:
        await _wait_ok(f"http://127.0.0.1:{sim_port}/healthz")
        from services.simulator.scenario import demo_scenario
        from services.simulator.trustpilot import credentials_for

        api_key, api_secret = credentials_for(demo_scenario(), "demo-shop")
        config = {
            "merchants": [{"id": "demo-shop"}],
            "sources": [
                {
                    "id": "demo-shop/trustpilot",
                    "merchant": "demo-shop",
                    "platform": "trustpilot",
                    "base_url": f"http://127.0.0.1:{sim_port}",
                    "poll_interval_seconds": 1,
                    "backfill_hours": 1,
                    "credentials": {"api_key": api_key, "api_secret": api_secret},
                    "options": {"business_unit_id": "bu-demo-shop"},
                }
            ],
            "receivers": [
                {
                    "name": "hook",
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{sim_port}/hooks/stormwatch",
                    "signing_secret": {"env": "STORMWATCH_WEBHOOK_SECRET"},
                }
            ],
        }
        config_path = tmp_path / "stormwatch.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env["STORMWATCH_CONFIG"] = str(config_path)

        ports = {}
        for service in ("alerter", "detector", "pollers"):
            ports[service] = free_port()
            processes.append(await _start([service, "--http-port", str(ports[service])], env))
        for port in ports.values():
            await _wait_ok(f"http://127.0.0.1:{port}/readyz")
        pollers_metrics = await _wait_ok(f"http://127.0.0.1:{ports['pollers']}/metrics")
        assert "stormwatch_reviews_published_total" in pollers_metrics
        detector_metrics = await _wait_ok(f"http://127.0.0.1:{ports['detector']}/metrics")
        assert "stormwatch_reviews_processed_total" in detector_metrics
        simulator_metrics = await _wait_ok(f"http://127.0.0.1:{sim_port}/metrics")
        assert "stormwatch_simulator_requests_total" in simulator_metrics
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{ports['alerter']}/api/v1/incidents"
            async with session.get(url) as response:
                assert response.status == 401
            async with session.get(url, headers={"Authorization": "Bearer alone-token"}) as response:
                assert response.status == 200
    finally:
        for process in reversed(processes):
            if process.returncode is None:
                await _stop(process)
