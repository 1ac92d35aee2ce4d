"""The console's routes on an HttpServer: the page and its two assets, strict security headers, nothing else."""

from __future__ import annotations

import aiohttp

from services.alerter.console.routes import install_console
from services.shared.http import HttpServer
from services.shared.metrics import new_registry


async def test_console_serves_its_page_and_assets_with_a_strict_policy() -> None:
    """GET /console is the page and /console/static/ serves only console.js and console.css, each with a
    Content-Security-Policy that allows no inline script and no other origin; other names are 404. Installing the
    console again on the started server (a restarted alerter) takes the routes over instead of failing."""
    http = HttpServer(new_registry(), "127.0.0.1", 0)
    install_console(http)
    await http.start()
    try:
        install_console(http)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{http.url}/console") as response:
                assert response.status == 200
                assert response.content_type == "text/html"
                policy = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in policy and "unsafe-inline" not in policy
                assert "default-src 'none'" in policy and "connect-src 'self'" in policy
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                page = await response.text()
            assert '<script src="/console/static/console.js" defer></script>' in page
            for name, content_type in {"console.js": "text/javascript", "console.css": "text/css"}.items():
                async with session.get(f"{http.url}/console/static/{name}") as response:
                    assert response.status == 200, name
                    assert response.content_type == content_type
                    assert "Content-Security-Policy" in response.headers
            for name in ("index.html", "routes.py", "..%2Froutes.py", "nope.js"):
                async with session.get(f"{http.url}/console/static/{name}") as response:
                    assert response.status == 404, name
            async with session.get(f"{http.url}/console/", allow_redirects=False) as response:
                assert response.status == 302
                assert response.headers["Location"] == "/console"
    finally:
        await http.stop()
