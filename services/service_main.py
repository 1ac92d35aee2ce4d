"""Run one service (pollers, detector or alerter) alone against the configured Kafka and PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
from typing import Any

from services.shared.config import Config, load_config
from services.shared.errors import ConfigError
from services.shared.http import HttpServer
from services.shared.lifecycle import Lifecycle
from services.shared.logging import configure_logging, get_logger
from services.shared.metrics import new_registry
from services.shared.runtime import tune_garbage_collector
from services.shared.settings import Settings

log = get_logger("stormwatch.main")


def load_service_config(settings: Settings, args: argparse.Namespace) -> Config:
    path = args.config or settings.config_path
    if path is None:
        raise ConfigError("no config file: pass --config PATH or set STORMWATCH_CONFIG")
    return load_config(path)


async def run_service(name: str, args: argparse.Namespace, stop: asyncio.Event) -> int:
    settings = Settings.from_env()
    if args.http_port is not None:
        settings = dataclasses.replace(settings, http_port=args.http_port)
    configure_logging(settings.log_format, settings.log_level)
    tune_garbage_collector()
    settings.require_kafka()
    settings.require_database()
    config = load_service_config(settings, args)
    registry = new_registry()
    http = HttpServer(registry, settings.http_host, settings.http_port)
    app = build_app(name, settings, config, registry, http)
    await app.run(stop)
    return 0


def build_app(name: str, settings: Settings, config: Config, registry: object, http: HttpServer) -> Lifecycle:
    from prometheus_client import CollectorRegistry

    assert isinstance(registry, CollectorRegistry)
    if name == "pollers":
        from services.pollers.app import PollerApp

        return PollerApp(settings, config, registry=registry, http=http, serve_http=True)
    if name == "detector":
        from services.detector.app import DetectorApp

        return DetectorApp(settings, config, registry=registry, http=http, serve_http=True)
    if name == "alerter":
        from services.alerter.app import AlerterApp

        return AlerterApp(settings, config, registry=registry, http=http, serve_http=True)
    raise ConfigError(f"unknown service {name!r}")


async def run_simulator(args: argparse.Namespace, stop: asyncio.Event) -> int:
    """Serve the fake platform APIs for a scenario until stopped."""
    from pathlib import Path

    from services.simulator.app import SimulatorApp
    from services.simulator.inbox import WebhookInbox
    from services.simulator.scenario import demo_scenario, load_scenario

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    scenario = demo_scenario(speed=args.speed) if args.scenario == "demo" else load_scenario(Path(args.scenario))
    registry = new_registry()
    # Beside the fake platform APIs: its own health and metrics, and a webhook inbox for the demo's receivers.
    secret = os.environ.get("STORMWATCH_WEBHOOK_SECRET") or None
    inbox = WebhookInbox(signing_secret=secret)
    extra = [*inbox.routes(), *simulator_health_routes(registry)]
    app = SimulatorApp(scenario, registry=registry, host=args.host, port=args.port, extra_routes=extra)
    await app.start()
    log.info("simulator listening", url=app.url, scenario=args.scenario)
    try:
        await stop.wait()
    finally:
        await app.stop()
    return 0


def simulator_health_routes(registry: object) -> list[Any]:
    """/healthz and /metrics for the standalone simulator (it is not a Stormwatch service, but is monitored)."""
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    assert isinstance(registry, CollectorRegistry)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]
