"""A stand-in for a team's webhook endpoint in the demo: receives signed notifications and keeps them for a look."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class ReceivedNotification:
    headers: dict[str, str]
    body: dict[str, Any]
    signature_valid: bool | None


@dataclass
class WebhookInbox:
    """An aiohttp app at POST /hooks/stormwatch that records every delivery and checks its HMAC signature."""

    signing_secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    received: list[ReceivedNotification] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _bound_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._bound_port}/hooks/stormwatch"

    def routes(self) -> list[web.RouteDef]:
        """The inbox's routes, to mount on another app (the standalone simulator serves them on its port)."""
        return [web.post("/hooks/stormwatch", self._receive), web.get("/hooks/stormwatch", self._list)]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_routes(self.routes())
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        server: Any = site._server
        self._bound_port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _verify(self, request: web.Request, body: bytes) -> bool | None:
        if self.signing_secret is None:
            return None
        timestamp = request.headers.get("X-Stormwatch-Timestamp", "")
        signature = request.headers.get("X-Stormwatch-Signature", "")
        expected = hmac.new(self.signing_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(signature, "sha256=" + expected.hexdigest())

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        valid = self._verify(request, body)
        if valid is False:
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.json_response({"error": "not JSON"}, status=400)
        self.received.append(ReceivedNotification(dict(request.headers), payload, valid))
        return web.json_response({"status": "ok"})

    async def _list(self, _request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps([r.body for r in self.received]), content_type="application/json")
