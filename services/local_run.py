"""`stormwatch run`: the whole pipeline in one process, with embedded broker, database and demo when unconfigured."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from services.shared import db
from services.shared.config import Config, load_config, parse_config
from services.shared.embedded import EmbeddedBroker, EmbeddedPostgres
from services.shared.http import HttpServer
from services.shared.lifecycle import Lifecycle
from services.shared.logging import configure_logging, get_logger
from services.shared.metrics import new_registry
from services.shared.runtime import tune_garbage_collector
from services.shared.settings import Secret, Settings

log = get_logger("stormwatch.run")

DEMO_SCHEMA = "stormwatch_demo"
DEMO_MERCHANT = "demo-shop"
DEMO_NOTIFY_FILE = "demo-notifications.jsonl"  # in the state dir, unless --notify-file names another
JOURNAL_FILE = "alerter-delivery.journal"  # in the state dir, unless STORMWATCH_ALERTER_JOURNAL names another
# The demo's webhook receiver checks signatures with this; it only ever runs on loopback.
DEMO_WEBHOOK_SECRET = "demo-webhook-signing-secret"  # noqa: S105 - a demo value, not a credential


@dataclass(frozen=True)
class LocalRunOptions:
    state_dir: Path = Path(".stormwatch")
    http_port: int = 8080
    notify_file: Path | None = None
    config_path: Path | None = None
    speed: float = 120.0
    scenario: Any = None  # a simulator Scenario; None means the built-in demo scenario at `speed`
    demo_schema: str = DEMO_SCHEMA  # tests give each demo run a schema of its own


class LocalPipeline(Lifecycle):
    """Pollers, detector and alerter in one process on one registry and one HTTP server.

    Starts what is missing: a Tansu broker when no KAFKA_BOOTSTRAP_SERVERS, an embedded PostgreSQL when no
    DATABASE_URL, and, without a config file, the simulator with the demo scenario plus a local webhook inbox.
    """

    name = "stormwatch-run"

    def __init__(self, settings: Settings, options: LocalRunOptions) -> None:
        super().__init__(shutdown_timeout=30.0)
        self.settings = settings
        self.options = options
        self.registry: CollectorRegistry = new_registry()
        self.apps: dict[str, Lifecycle] = {}
        self.config: Config | None = None
        self.http: HttpServer | None = None
        self.simulator: Any = None
        self.inbox: Any = None
        self.generated_token: str | None = None
        self.notify_file: Path | None = options.notify_file
        self.broker_note = "configured (KAFKA_BOOTSTRAP_SERVERS)"
        self.database_note = "configured (DATABASE_URL)"

    @property
    def demo(self) -> bool:
        return self.options.config_path is None

    async def _start(self, stack: AsyncExitStack) -> None:
        settings = self.settings
        if settings.kafka_bootstrap_servers is None:
            broker = EmbeddedBroker()
            await broker.start()
            stack.push_async_callback(broker.stop)
            settings = dataclasses.replace(settings, kafka_bootstrap_servers=broker.bootstrap_servers)
            self.broker_note = f"embedded Tansu broker on {broker.bootstrap_servers}"
        if settings.database_url is None:
            postgres = EmbeddedPostgres((self.options.state_dir / "pgdata").resolve())
            await postgres.start()
            stack.push_async_callback(postgres.stop)
            settings = dataclasses.replace(settings, database_url=Secret(postgres.dsn))
            self.database_note = f"embedded PostgreSQL in {self.options.state_dir / 'pgdata'}"
        if settings.api_token is None:
            self.generated_token = secrets.token_urlsafe(24)
            settings = dataclasses.replace(settings, api_token=Secret(self.generated_token))
        if settings.link_secret is None:
            settings = dataclasses.replace(settings, link_secret=Secret(secrets.token_urlsafe(32)))
        if settings.alerter_journal is None:
            settings = dataclasses.replace(settings, alerter_journal=self.options.state_dir / JOURNAL_FILE)

        if self.demo:
            settings = dataclasses.replace(settings, database_schema=self.options.demo_schema)
            # The demo simulator starts from nothing each run, so its pipeline state must too (the journal
            # speaks of the old run's notifications).
            await _reset_schema(settings.require_database().reveal(), self.options.demo_schema)
            if settings.alerter_journal is not None:
                settings.alerter_journal.unlink(missing_ok=True)
            self.config = await self._start_demo_world(stack)
        else:
            assert self.options.config_path is not None
            self.config = load_config(self.options.config_path)
        self.notify_file = self.options.notify_file
        if self.demo and self.notify_file is None:
            # The demo also routes to the file notifier; like the rest of the demo's state, the file starts empty.
            self.notify_file = self.options.state_dir / DEMO_NOTIFY_FILE
            self.notify_file.parent.mkdir(parents=True, exist_ok=True)
            self.notify_file.unlink(missing_ok=True)
        self.config = _with_notify_file(self.config, self.notify_file)
        self.settings = settings

        self.http = HttpServer(self.registry, settings.http_host, self.options.http_port)
        self.apps = _build_apps(settings, self.config, self.registry, self.http)
        # Consumers first, producers last: nothing waits on a service that is not there yet.
        for name in ("alerter", "detector", "pollers"):
            await self.apps[name].start()
            # Stop whichever instance runs at the end: `restart` may have replaced the one started here.
            stack.push_async_callback(self._stop_app, name)
        await self.http.start()
        stack.push_async_callback(self.http.stop)
        self.spawn(self._watch_apps(), "watch-apps")

    async def _start_demo_world(self, stack: AsyncExitStack) -> Config:
        from services.simulator.app import SimulatorApp
        from services.simulator.inbox import WebhookInbox
        from services.simulator.scenario import demo_scenario

        scenario = self.options.scenario or demo_scenario(speed=self.options.speed)
        self.simulator = SimulatorApp(scenario, registry=new_registry())
        await self.simulator.start()
        stack.push_async_callback(self.simulator.stop)
        self.inbox = WebhookInbox(signing_secret=DEMO_WEBHOOK_SECRET)
        await self.inbox.start()
        stack.push_async_callback(self.inbox.stop)
        return demo_config(self.simulator, self.inbox.url)

    async def restart(self, name: str) -> None:
        """Stop one service and start a fresh instance of it (tests use this to prove restarts lose nothing)."""
        assert self.config is not None and self.http is not None
        await self.apps[name].stop()
        fresh = _build_apps(self.settings, self.config, self.registry, self.http, only=name)[name]
        await fresh.start()
        self.apps[name] = fresh

    async def _stop_app(self, name: str) -> None:
        await self.apps[name].stop()

    async def _watch_apps(self) -> None:
        """A service whose background work failed takes the whole local run down, loudly."""
        while True:
            for name, app in self.apps.items():
                if app.failure is not None:
                    raise RuntimeError(f"{name} failed: {app.failure!r}") from app.failure
            await asyncio.sleep(0.5)


def demo_config(simulator: Any, webhook_url: str) -> Config:
    """The built-in demo: the demo merchant on every simulated platform, paged to console and webhook; negative
    spikes also run an on-call escalation (a daily schedule of two people, paged on the `oncall-page` log)."""
    from services.simulator.sources import simulated_sources

    # More than the demo's 48 h of history: the simulated clock runs from the first call, so a source that starts
    # polling a moment later must still reach back to the first review.
    sources = simulated_sources(simulator, DEMO_MERCHANT, poll_interval_seconds=1.0, backfill_hours=72)
    return parse_config(
        {
            "merchants": [{"id": DEMO_MERCHANT, "name": "Demo Shop", "timezone": "Europe/Amsterdam"}],
            "sources": sources,
            "detection": {"preset": "balanced", "bucket_seconds": 900},
            "receivers": [
                {"name": "console", "type": "log"},
                {"name": "team-webhook", "type": "webhook", "url": webhook_url, "signing_secret": DEMO_WEBHOOK_SECRET},
                # The on-call pages of the escalation below, logged apart from the team's notifications.
                {"name": "oncall-page", "type": "log"},
            ],
            "people": [{"name": "sam", "receivers": ["oncall-page"]}, {"name": "lee", "receivers": ["oncall-page"]}],
            "schedules": [
                {
                    "name": "demo-primary",
                    "time_zone": "Europe/Amsterdam",
                    "layers": [
                        {"participants": ["sam", "lee"], "rotation": "1d", "handoff": "09:00", "start": "2026-01-05"}
                    ],
                }
            ],
            # Whoever is primary is paged at once, then lee (the lead) after 10 minutes without an acknowledgement.
            "escalation_policies": [
                {
                    "name": "demo-oncall",
                    "levels": [{"targets": ["demo-primary"]}, {"delay": "10m", "targets": ["lee"]}],
                    "ack_timeout": "30m",
                }
            ],
            # Negative spikes (the demo storm) run the escalation besides the team's receivers (inherited).
            "route": {
                "receivers": ["console", "team-webhook"],
                "routes": [{"match": {"kind": "negative_spike"}, "escalation": "demo-oncall"}],
            },
        }
    )


def _with_notify_file(config: Config, notify_file: Path | None) -> Config:
    """`--notify-file PATH` adds a file receiver to the root route."""
    if notify_file is None:
        return config
    from services.shared.config import ReceiverConfig

    receiver = ReceiverConfig(name="notify-file", type="file", settings={"path": str(notify_file)})
    route = dataclasses.replace(config.route, receivers=(*config.route.receivers, receiver.name))
    return dataclasses.replace(config, receivers=(*config.receivers, receiver), route=route)


def _build_apps(
    settings: Settings, config: Config, registry: CollectorRegistry, http: HttpServer, only: str | None = None
) -> dict[str, Lifecycle]:
    from services.alerter.app import AlerterApp
    from services.detector.app import DetectorApp
    from services.pollers.app import PollerApp

    kinds: dict[str, Any] = {"pollers": PollerApp, "detector": DetectorApp, "alerter": AlerterApp}
    return {
        name: kind(settings, config, registry=registry, http=http, serve_http=False)
        for name, kind in kinds.items()
        if only is None or name == only
    }


async def _reset_schema(dsn: str, schema: str) -> None:
    db.check_schema_name(schema)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def _banner(pipeline: LocalPipeline) -> str:
    assert pipeline.http is not None
    base = pipeline.http.url
    lines = [
        "",
        "Stormwatch is running" + (" the built-in demo" if pipeline.demo else ""),
        f"  metrics, health, HTTP API  {base}/metrics  {base}/healthz  {base}/readyz  {base}/api/v1/incidents",
        f"  Kafka                      {pipeline.broker_note}",
        f"  PostgreSQL                 {pipeline.database_note}",
    ]
    if pipeline.generated_token:
        lines.append(f"  API token (generated)      {pipeline.generated_token}")
        lines.append(f'    try: curl -H "Authorization: Bearer {pipeline.generated_token}" {base}/api/v1/incidents')
    if pipeline.simulator is not None:
        lines.append(f"  simulator (platform APIs)  {pipeline.simulator.url}  (speed {pipeline.options.speed:g}x)")
    if pipeline.inbox is not None:
        lines.append(f"  demo webhook receiver      {pipeline.inbox.url}")
    if pipeline.notify_file is not None:
        lines.append(f"  notifications file         {pipeline.notify_file}")
    lines.append("Incidents and notifications are logged below as they happen. Ctrl-C stops everything.")
    return "\n".join(lines) + "\n"


async def run_local(args: argparse.Namespace, stop: asyncio.Event) -> int:
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    tune_garbage_collector()
    config_path = args.config or settings.config_path
    options = LocalRunOptions(
        state_dir=args.state_dir,
        http_port=args.http_port,
        notify_file=args.notify_file,
        config_path=config_path,
        speed=args.speed,
    )
    pipeline = LocalPipeline(settings, options)
    started = asyncio.get_running_loop().time()
    await pipeline.start()
    log.info("pipeline started", seconds=round(asyncio.get_running_loop().time() - started, 2))
    sys.stdout.write(_banner(pipeline))
    sys.stdout.flush()
    if args.duration is not None:
        asyncio.get_running_loop().call_later(args.duration, stop.set)
    await pipeline.run(stop)
    return 0
