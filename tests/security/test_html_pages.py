"""HTML the alerter serves cannot be injected into: the signed-link pages escape everything they echo, and the
console (which renders data client-side with textContent) is served with a CSP that forbids inline script.
The console's rendering of hostile review text is pinned in tests/e2e/test_console_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ModuleEnv
from tests.fuzz.alerter_rig import Alerter, now, running
from tests.fuzz.strategies import FUZZ, hostile_text

_OUR_TAGS = re.compile(
    r'<!DOCTYPE html>|</?(html|head|title|body|h1|p|button|form)>|<meta charset="utf-8">'
    r'|<form method="post" action="[^"<>]*">|<button type="submit">'
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def alerter(module_env: ModuleEnv) -> AsyncIterator[Alerter]:
    """One alerter for the module: what a page escapes and the console's headers do not depend on its state."""
    async with running(module_env.settings, module_env.db_pool, module_env.registry) as running_alerter:
        yield running_alerter


@FUZZ
@given(
    segment=st.one_of(hostile_text, st.just("")),
    action=st.one_of(st.sampled_from(["acknowledge", "resolve"]), hostile_text),
    junk=hostile_text,
    signed=st.booleans(),
    method=st.sampled_from(["GET", "POST"]),
)
async def test_link_pages_echo_nothing_as_markup(
    alerter: Alerter, segment: str, action: str, junk: str, signed: bool, method: str
) -> None:
    """Whatever the link's path and query hold (valid signature or not), the page's only markup is its own
    template: hostile text in the path, action, expiry or signature never becomes a tag or attribute."""
    incident_id = alerter.incidents[0].incident_id if signed else segment
    query = {"expires": junk, "sig": junk, "x": junk}
    if signed and action in {"acknowledge", "resolve"}:
        link = alerter.signer.link(incident_id, action, int(now().timestamp()) + 600)  # type: ignore[arg-type]
        url = link + "&" + urlencode({"x": junk})
    else:
        url = f"{alerter.url}/api/v1/links/{quote(incident_id, safe='')}/{quote(action, safe='')}?{urlencode(query)}"
    async with alerter.client.request(method, url) as response:
        body = await response.text()
        assert response.status < 500
        if response.content_type == "text/html":
            leftover = _OUR_TAGS.sub("", body)
            assert "<" not in leftover and ">" not in leftover, leftover
            assert response.headers.get("X-Frame-Options") == "DENY"


async def test_console_is_served_with_a_strict_content_security_policy(alerter: Alerter) -> None:
    """The console page and its assets forbid inline script, other origins and framing, and are not sniffed."""
    for path in ("/console", "/console/static/console.js", "/console/static/console.css"):
        async with alerter.client.get(alerter.url + path) as response:
            assert response.status == 200, path
            policy = response.headers["Content-Security-Policy"]
            assert (
                "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
            )
            assert response.headers["X-Content-Type-Options"] == "nosniff"
