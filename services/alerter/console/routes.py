"""Serve the incident console: GET /console (the page) and GET /console/static/<file> (its script and styles).

The console is static: the browser holds the API token (sessionStorage) and calls the existing bearer-token API,
so serving it needs no authentication and adds no new way in. Data never reaches the page as HTML: the script
builds every element with createElement/textContent, and the Content-Security-Policy forbids inline script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from services.shared.http import HttpServer

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
# The only files served: a fixed allow-list, so no request path ever reaches the file system.
ASSETS: Final = {
    "console.js": "text/javascript",
    "console.css": "text/css",
}
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install_console(http: HttpServer) -> None:
    """Register the console's routes; call before the server starts (new paths cannot be added afterwards)."""
    page = (STATIC_DIR / "index.html").read_bytes()
    assets = {name: (STATIC_DIR / name).read_bytes() for name in ASSETS}

    async def index(_request: web.Request) -> web.Response:
        return _response(page, "text/html")

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = assets.get(name)
        if body is None:
            raise web.HTTPNotFound
        return _response(body, ASSETS[name])

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/console")

    http.add_routes(
        [
            web.get("/console", index),
            web.get("/console/", redirect),
            web.get("/console/static/{name}", asset),
        ]
    )


def _response(body: bytes, content_type: str) -> web.Response:
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=SECURITY_HEADERS)
