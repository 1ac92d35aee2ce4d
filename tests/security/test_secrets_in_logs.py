"""Secrets never appear in logs, metrics or start-up errors: run the services with known secrets, make every
component fail in the ways that get logged, capture everything they print, and search it for the secrets.

Secrets: the DATABASE_URL password (a PostgreSQL role created with it), the API token, the link secret, a
webhook source's signing secret, platform credentials (a Trustpilot key and secret the simulator refuses), and
receiver secrets (a webhook signing secret, a Slack URL, PagerDuty and Opsgenie keys) for receivers that fail.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from services.detector.app import DetectorApp
from services.pollers.app import PollerApp
from services.shared import db, metrics
from services.shared.config import Config, parse_config
from services.shared.errors import TransientError
from services.shared.http import HttpServer
from services.shared.logging import configure_logging
from services.shared.settings import Secret, Settings
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import demo_scenario
from tests.integration.test_alerter_support import (
    count_notifications,
    make_incident,
    produce_incidents,
    running_alerter,
    wait_until,
)

SECRETS = {
    "db_password": "Db-Pass-5e1f0c7a",
    "api_token": "Api-Token-93b2d4e6",
    "link_secret": "Link-Secret-1a7c3e9f",
    "source_signing": "Source-Signing-4d8b2f6a",
    "platform_key": "Platform-Key-7c1e5a9b",
    "platform_secret": "Platform-Secret-2f6d0b4c",
    "receiver_signing": "Receiver-Signing-8e3a7c1d",
    "slack_path": "T000-B000-Slack-Path-6b0d4f8a",
    "pagerduty_key": "Pd-Routing-Key-0c4e8a2b",
    "opsgenie_key": "Og-Api-Key-5a9c3e7f",
}
CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port: every delivery fails and is logged


def with_password(dsn: str, role: str, password: str) -> str:
    split = urlsplit(dsn)
    host = split.netloc.rpartition("@")[2]
    return urlunsplit(split._replace(netloc=f"{role}:{password}@{host}"))


@pytest.fixture
def debug_logs() -> Iterator[None]:
    configure_logging("json", "debug")
    yield
    configure_logging("json", os.environ.get("STORMWATCH_TEST_LOG_LEVEL", "warning"))


def _config(simulator_url: str) -> Config:
    return parse_config(
        {
            "merchants": [{"id": "demo-shop"}],
            "sources": [
                {
                    "id": "demo-shop/trustpilot",
                    "merchant": "demo-shop",
                    "platform": "trustpilot",
                    "base_url": simulator_url,
                    "poll_interval_seconds": 0.2,
                    "credentials": {"api_key": SECRETS["platform_key"], "api_secret": SECRETS["platform_secret"]},
                    "options": {"business_unit_id": "bu-demo-shop", "max_attempts": 1},
                },
                {
                    "id": "demo-shop/push",
                    "merchant": "demo-shop",
                    "platform": "homeadvisor",
                    "credentials": {"signing_secret": SECRETS["source_signing"]},
                    "options": {"mode": "webhook"},
                },
            ],
            "receivers": [
                {
                    "name": "hook",
                    "type": "webhook",
                    "url": f"{CLOSED}/hook",
                    "signing_secret": SECRETS["receiver_signing"],
                },
                {"name": "slack", "type": "slack", "url_secret": f"{CLOSED}/services/{SECRETS['slack_path']}"},
                {"name": "pd", "type": "pagerduty", "url": CLOSED, "routing_key_secret": SECRETS["pagerduty_key"]},
                {"name": "og", "type": "opsgenie", "api_url": CLOSED, "api_key_secret": SECRETS["opsgenie_key"]},
            ],
            "route": {"receivers": ["hook", "slack", "pd", "og"]},
        },
        env={},
    )


async def test_no_secret_reaches_logs_metrics_or_errors(
    test_settings: Settings,
    db_pool: asyncpg.Pool,
    database_url: str,
    registry: CollectorRegistry,
    kafka_bootstrap: str,
    unique: str,
    debug_logs: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Pollers (refused platform credentials, forged webhooks), detector and alerter (failing receivers, wrong
    API tokens, forged links) at debug level, plus a failed start on an unreachable database: none of the ten
    secrets appears in stdout, stderr, /metrics or an exception message."""
    role = f"sw_secret_{unique}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{SECRETS['db_password']}'")
    seen: list[str] = []
    try:
        settings = dataclasses.replace(
            test_settings,
            database_url=Secret(with_password(database_url, role, SECRETS["db_password"])),
            api_token=Secret(SECRETS["api_token"]),
            link_secret=Secret(SECRETS["link_secret"]),
        )
        seen.append(repr(settings))
        clock = SimClock.manual(datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
        simulator = SimulatorApp(demo_scenario(origin=clock.now()), registry=metrics.new_registry(), clock=clock)
        async with simulator:
            config = _config(simulator.url)
            http = HttpServer(registry, port=0)
            pollers = PollerApp(settings, config, registry=registry, http=http, serve_http=False)
            detector = DetectorApp(settings, config, registry=registry, http=http, serve_http=False)
            async with running_alerter(settings, config, registry, http=http), pollers, detector:
                await http.start()
                try:
                    await produce_incidents(
                        kafka_bootstrap, settings.topics.incidents, [make_incident("leak", 1, "open")]
                    )
                    async with aiohttp.ClientSession() as client:
                        for headers in (
                            {"Authorization": "Bearer wrong"},
                            {"Authorization": f"Bearer {SECRETS['api_token']}"},
                        ):
                            async with client.get(f"{http.url}/api/v1/incidents", headers=headers) as response:
                                seen.append(await response.text())
                        forged = {"X-Stormwatch-Timestamp": "1", "X-Stormwatch-Signature": "sha256=00"}
                        async with client.post(f"{http.url}/webhooks/demo-shop/push", data=b"{}", headers=forged) as r:
                            seen.append(await r.text())
                        async with client.get(f"{http.url}/api/v1/links/{'0' * 32}/resolve?expires=1&sig=0") as r:
                            seen.append(await r.text())

                        async def failures_logged() -> bool:
                            polls = registry.get_sample_value(
                                "stormwatch_poll_errors_total", {"platform": "trustpilot", "reason": "auth_error"}
                            )
                            return bool(polls) and await count_notifications(db_pool, "attempts > 0") >= 4

                        await wait_until(failures_logged, "a refused poll and a failed attempt per receiver")
                        async with client.get(f"{http.url}/metrics") as response:
                            seen.append(await response.text())
                finally:
                    await http.stop()
        # A database that cannot be reached: the error a service would stop with must not carry the password.
        dsn = with_password("postgresql://x:@/postgres?host=/nonexistent", role, SECRETS["db_password"])
        with pytest.raises(TransientError) as failed:
            await db.create_pool(dsn, "secrets", wait_seconds=0.5)
        seen.append(f"{failed.value!r} {failed.value} {failed.value.__cause__!r}")
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
    captured = capfd.readouterr()
    everything = "\n".join([captured.out, captured.err, *seen])
    # The failure paths whose log lines could carry a secret did run and log.
    for logged in ("notification failed, will retry", "auth_error", "webhook refused", "link refused"):
        assert logged in captured.out, logged
    leaked = [name for name, value in SECRETS.items() if value in everything]
    assert leaked == [], leaked
