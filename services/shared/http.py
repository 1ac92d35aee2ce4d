"""One aiohttp server per app: /metrics, /healthz, /readyz, plus the routes a service adds before it starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


class HttpServer:
    """Serves metrics and health for one registry; binds port 0 in tests and reports the port it got."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 8080) -> None:
        self._registry = registry
        self._host = host
        self._requested_port = port
        self._bound_port: int | None = None
        self._readiness: dict[str, ReadinessCheck] = {}
        self._liveness: dict[str, Callable[[], bool]] = {}
        self._runner: web.AppRunner | None = None
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._registered: set[tuple[str, str]] = set()
        self.app = web.Application(client_max_size=2 * 1024 * 1024)
        self.app.router.add_get("/metrics", self._metrics)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)

    def add_routes(self, routes: Iterable[web.RouteDef]) -> None:
        """Register routes. Re-registering a (method, path) replaces its handler, even after the server started:
        a restarted service instance takes over the paths of the one it replaces (aiohttp's router is frozen)."""
        for route in routes:
            key = (route.method, route.path)
            self._handlers[key] = route.handler
            if key in self._registered:
                continue
            if self._runner is not None:
                raise RuntimeError(f"cannot add a new route {route.method} {route.path} after the server started")
            if route.method == "GET":  # add_get also answers HEAD, as web.get() promises
                self.app.router.add_get(route.path, self._trampoline(key), **route.kwargs)
            else:
                self.app.router.add_route(route.method, route.path, self._trampoline(key), **route.kwargs)
            self._registered.add(key)

    def _trampoline(self, key: tuple[str, str]) -> Handler:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            return await self._handlers[key](request)

        return dispatch

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        self._readiness[name] = check

    def add_liveness_check(self, name: str, check: Callable[[], bool]) -> None:
        self._liveness[name] = check

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("HTTP server is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        # aiohttp has no public bound-port API; the asyncio server behind the site knows it.
        server: Any = site._server
        sockets = list(server.sockets) if server is not None else []
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._requested_port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def readiness(self) -> list[CheckResult]:
        results = []
        for name, check in self._readiness.items():
            try:
                ok, detail = await check()
            except Exception as exc:  # noqa: BLE001 - a failing check means "not ready", never a 500
                ok, detail = False, f"check failed: {type(exc).__name__}"
            results.append(CheckResult(name, ok, detail))
        return results

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        failing = [name for name, check in self._liveness.items() if not check()]
        status = 503 if failing else 200
        return _json({"status": "fail" if failing else "ok", "failing": failing}, status)

    async def _readyz(self, _request: web.Request) -> web.Response:
        results = await self.readiness()
        ready = all(r.ok for r in results)
        body = {"ready": ready, "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results}}
        return _json(body, 200 if ready else 503)


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def json_response(body: object, status: int = 200) -> web.Response:
    """A JSON response serialised with orjson (shared by every service's API)."""
    return _json(body, status)
