"""A real Prometheus (Debian's `prometheus`) scrapes the running demo pipeline: every dashboard query returns data."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from services.local_run import LocalPipeline, LocalRunOptions
from services.shared import codec
from services.shared.embedded import free_port
from services.shared.events import Evidence, IncidentEvent, deterministic_id
from services.shared.kafka import EventProducer, ProducerSettings
from services.shared.settings import Settings
from services.shared.timeutil import format_rfc3339
from services.simulator.scenario import demo_scenario

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"
SPEED = 900.0
PAGE_DEADLINE_SECONDS = 90.0
QUERY_DEADLINE_SECONDS = 45.0
# Grafana's interval variables become a window that holds many 1 s scrapes; template variables match anything.
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__interval": "30s", "$__range": "5m"}
TEMPLATE_VARIABLES = ("$platform", "$kind", "$merchant")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `apt-get install -y prometheus`; this test must not be skipped")
    return path


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) of every panel target of every dashboard, variables substituted."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for panel in _panels(document["panels"]):
            for target in panel.get("targets", []):
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                for variable in TEMPLATE_VARIABLES:
                    expr = expr.replace(variable, ".*")
                assert "$" not in expr, f"{path.name} {panel['title']!r}: unknown variable in {expr}"
                queries.append((path.name, panel["title"], expr))
    return queries


@contextlib.asynccontextmanager
async def running_prometheus(tmp_path: Path, target_port: int) -> AsyncIterator[str]:
    """Prometheus scraping 127.0.0.1:`target_port` every second; yields its base URL, killed and reaped on exit."""
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "stormwatch", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        _binary("prometheus"),
        f"--config.file={config_path}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        stdout=subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.kill()
        _out, stderr = await process.communicate()
        assert process.returncode is not None
        if process.returncode not in (0, -9):
            pytest.fail(f"prometheus exited {process.returncode}: {stderr.decode(errors='replace')[-2000:]}")


async def _query(session: aiohttp.ClientSession, base: str, expr: str) -> list[dict[str, Any]]:
    async with session.get(f"{base}/api/v1/query", params={"query": expr}) as response:
        body = await response.json()
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def _api(pipeline: LocalPipeline, method: str, path: str) -> Any:
    assert pipeline.http is not None
    headers = {"Authorization": "Bearer test-token"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{pipeline.http.url}{path}", headers=headers) as response,
    ):
        assert response.status == 200, (path, response.status, await response.text())
        return await response.json()


async def _open_drill_incident(pipeline: LocalPipeline, settings: Settings, title: str = "On-call drill") -> str:
    """Publish an open incident for the demo merchant and wait until the alerter has taken it in."""
    now = format_rfc3339(datetime.now(UTC))
    incident = IncidentEvent(
        incident_id=deterministic_id("prometheus-test", title),
        version=1,
        status="open",
        kind="negative_spike",
        severity="high",
        merchant_id="demo-shop",
        title=title,
        summary="An incident for the on-call dashboard's acknowledge and resolve panels.",
        started_at=now,
        detected_at=now,
        observed_at=now,
        evidence=Evidence(observed=10, expected=1, window_seconds=900, rate_per_hour=40.0),
    )
    producer = EventProducer(ProducerSettings(settings.require_kafka()))
    await producer.start()
    try:
        await producer.send(
            settings.topics.incidents, codec.encode_incident(incident), key=incident.incident_id.encode()
        )
    finally:
        await producer.stop()
    assert pipeline.http is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PAGE_DEADLINE_SECONDS
    url = f"{pipeline.http.url}/api/v1/incidents/{incident.incident_id}"
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer test-token"}) as session:
        while True:
            async with session.get(url) as response:
                if response.status == 200:
                    return incident.incident_id
            assert loop.time() < deadline, "the drill incident never reached the alerter"
            await asyncio.sleep(0.3)


async def _wait_for_page(pipeline: LocalPipeline) -> str:
    """The demo storm's first notification reached the webhook inbox; returns the incident id."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PAGE_DEADLINE_SECONDS
    while not pipeline.inbox.received:
        assert loop.time() < deadline, f"the demo storm was not paged within {PAGE_DEADLINE_SECONDS}s"
        await asyncio.sleep(0.5)
    incident_id: str = pipeline.inbox.received[0].body["incident"]["incident_id"]
    return incident_id


def test_every_alert_rule_file_parses() -> None:
    """`promtool check rules` accepts every rule file under deploy/prometheus/rules."""
    files = sorted(str(path) for path in RULES.glob("*.yml"))
    assert files
    result = subprocess.run(
        [_binary("promtool"), "check", "rules", *files], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_have_queries() -> None:
    """Every dashboard under deploy/grafana/dashboards is loaded, including pipeline and on-call."""
    names = {name for name, _title, _expr in dashboard_queries()}
    assert {"overview.json", "pipeline.json", "oncall.json"} <= names


@pytest.mark.e2e
async def test_prometheus_scrapes_the_demo_and_every_panel_has_data(
    test_settings: Settings, schema_name: str, tmp_path: Path
) -> None:
    """With a real Prometheus scraping `stormwatch run` (the demo) every second, once the demo storm was paged and a
    responder acknowledged and resolved one incident and another stays open, every panel query of every dashboard
    returns at least one series."""
    scenario = dataclasses.replace(
        demo_scenario(speed=SPEED, origin=datetime(2026, 11, 23, tzinfo=UTC)), duration_seconds=3 * 3600
    )
    options = LocalRunOptions(http_port=0, scenario=scenario, demo_schema=schema_name, state_dir=tmp_path)
    async with LocalPipeline(test_settings, options) as pipeline:
        assert pipeline.http is not None
        async with running_prometheus(tmp_path, pipeline.http.port) as prometheus, aiohttp.ClientSession() as session:
            await _wait_for_page(pipeline)
            # The on-call dashboard is about responders: give it one acknowledgement and one resolve, on an incident
            # of our own (the demo's may already be resolved by the detector when we get to it).
            incident_id = await _open_drill_incident(pipeline, test_settings)
            await _api(pipeline, "POST", f"/api/v1/incidents/{incident_id}/ack")
            await _api(pipeline, "POST", f"/api/v1/incidents/{incident_id}/resolve")
            # And one that stays open, so the open-incidents panel has an incident whatever the detector resolved.
            await _open_drill_incident(pipeline, test_settings, "Open drill")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + QUERY_DEADLINE_SECONDS
            pending = dashboard_queries()
            while pending:
                still_empty = []
                for name, title, expr in pending:
                    with contextlib.suppress(aiohttp.ClientConnectionError):
                        if await _query(session, prometheus, expr):
                            continue
                    still_empty.append((name, title, expr))
                pending = still_empty
                if pending:
                    assert loop.time() < deadline, "panels without data:\n" + "\n".join(
                        f"  {name} {title!r}: {expr}" for name, title, expr in pending
                    )
                    await asyncio.sleep(1.0)


def test_dashboards_use_only_catalogued_metrics() -> None:
    """Every panel of every dashboard selects only metrics the services export (the list the deploy tests keep)."""
    from tests.integration.test_deploy_config import KNOWN_METRICS, metric_names

    for name, title, expr in dashboard_queries():
        unknown = metric_names(expr) - KNOWN_METRICS
        assert not unknown, f"{name} {title!r} uses unknown metrics {sorted(unknown)}"
