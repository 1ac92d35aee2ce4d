"""Fuzz the alerter's HTTP surface (incident API, noise API, signed links, console, probes): never a 5xx.

Routes are read from the running server's router; each example picks one and fills its path parameters, query
and body with valid, random and hostile values, with the right token, a wrong one or none.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import pytest_asyncio
from hypothesis import event, given
from hypothesis import strategies as st

from services.shared import codec
from tests.conftest import ModuleEnv
from tests.fuzz.alerter_rig import INBOUND, Alerter, now, running
from tests.fuzz.strategies import FUZZ, hostile_text, json_objects, json_values

QUERY_KEYS = ["status", "kind", "state", "merchant", "limit", "expired", "incident", "receiver", "by", "expires", "sig"]
BODY_KEYS = st.sampled_from(
    ["matchers", "owner", "reason", "starts_at", "ends_at", "duration_seconds", "by", "schema", "merchant",
     "platform", "kind", "severity", "category"]
)  # fmt: skip
QUERY_VALUES = st.one_of(
    hostile_text,
    st.sampled_from(["", "1", "50", "500", "501", "0", "-1", "²", "٣", "1e3", "open", "resolved", "triggered",
                     "acknowledged", "negative_spike", "acme", "true", "merchant", "responder", "99999999999999"]),
)  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def alerter(module_env: ModuleEnv) -> AsyncIterator[Alerter]:
    """One alerter for the module: the fuzzer changes incidents at random anyway, and the other tests' answers
    (4xx, never a 5xx) do not depend on an incident's state."""
    async with running(module_env.settings, module_env.db_pool, module_env.registry) as running_alerter:
        yield running_alerter


def _param_values(alerter: Alerter) -> st.SearchStrategy[str]:
    ids = [incident.incident_id for incident in alerter.incidents]
    return st.one_of(
        st.sampled_from([*ids, "a" * 32, "acknowledge", "resolve", "console.js", "console.css", "index.html"]),
        hostile_text,
        st.text(st.characters(codec="ascii"), max_size=40),
        st.sampled_from(["..", "../..", "%2e%2e", "\\", "/etc/passwd", "NUL", "A" * 5000]),
    )


def _bodies(alerter: Alerter) -> st.SearchStrategy[bytes]:
    valid = codec.encode_incident(alerter.incidents[0])
    ids = st.sampled_from([incident.incident_id for incident in alerter.incidents]) | json_values()
    actors = hostile_text | json_values()
    return st.one_of(
        st.just(b""),
        st.binary(max_size=200),
        json_values(BODY_KEYS).map(orjson.dumps),
        json_objects(BODY_KEYS).map(orjson.dumps),
        st.fixed_dictionaries(
            {"matchers": json_objects(st.sampled_from(["merchant", "platform", "kind", "severity", "category"]))},
            optional={
                "owner": hostile_text,
                "reason": hostile_text,
                "duration_seconds": json_values(),
                "ends_at": json_values(),
                "starts_at": json_values(),
            },
        ).map(orjson.dumps),
        st.just(valid),
        st.builds(lambda junk: valid[:-1] + b', "x": ' + orjson.dumps(junk) + b"}", json_values()),
        # Inbound acknowledgements (Opsgenie, PagerDuty shapes) naming a real incident and a hostile actor.
        st.fixed_dictionaries(
            {"action": st.sampled_from(["Acknowledge", "Close", "Create"]) | hostile_text,
             "alert": st.fixed_dictionaries({"alias": ids, "username": actors})},
        ).map(orjson.dumps),
        st.fixed_dictionaries(
            {"event": st.fixed_dictionaries(
                {"event_type": st.sampled_from(["incident.acknowledged", "incident.resolved"]) | hostile_text,
                 "data": st.fixed_dictionaries({"incident_key": ids}),
                 "agent": st.fixed_dictionaries({"summary": actors})})},
        ).map(orjson.dumps),
    )  # fmt: skip


@FUZZ
@given(data=st.data())
async def test_any_request_to_any_route_is_never_a_5xx(alerter: Alerter, data: st.DataObject) -> None:
    """Every route of the alerter, with any path parameters, query, body and credentials, answers below 500:
    bad input is a 4xx that says why (JSON for the API), never a traceback."""
    route = data.draw(st.sampled_from(alerter.routes), label="route")
    values = {
        name: data.draw(st.sampled_from(["pd", "og"]) if name == "receiver" else _param_values(alerter), label=name)
        for name in route.params
    }
    path = route.fill({name: quote(value, safe="") for name, value in values.items()})
    query = data.draw(st.dictionaries(st.sampled_from(QUERY_KEYS), QUERY_VALUES, max_size=4), label="query")
    if "expires" in query and data.draw(st.booleans(), label="fresh link"):
        query["expires"] = str(int(now().timestamp()) + 600)
    body = data.draw(_bodies(alerter), label="body")
    auth = data.draw(st.sampled_from(["token", "token", "none", "wrong", "basic", "odd"]), label="auth")
    headers = {
        # The inbound routes' own credentials ride along with every "token" request.
        "token": {
            **alerter.auth,
            "X-Stormwatch-Token": INBOUND["og"],
            "X-PagerDuty-Signature": "v1=" + hmac.new(INBOUND["pd"].encode(), body, hashlib.sha256).hexdigest(),
        },
        "none": {},
        "wrong": {"Authorization": "Bearer " + alerter.token[:-1] + "x"},
        "basic": {"Authorization": f"Basic {alerter.token}"},
        "odd": {"Authorization": "Bearer  " + alerter.token + " extra"},
    }[auth]
    url = alerter.url + path + ("?" + urlencode(query) if query else "")
    async with alerter.client.request(route.method, url, data=body, headers=headers) as response:
        text = await response.text()
        event(f"{route.method} {route.template} -> {response.status // 100}xx")
        assert response.status < 500, (route.method, path, query, response.status, text[:300])
        routed = response.content_type != "text/plain"  # aiohttp's own 404 / 405 when no route matched
        api = route.template.startswith("/api/v1/") and "/links/" not in route.template
        if api and routed and response.status >= 400:
            answer: Any = orjson.loads(text)
            assert answer.get("error"), text[:300]


async def test_raw_requests_with_non_utf8_or_odd_headers_are_never_a_5xx(alerter: Alerter) -> None:
    """Bytes that are not UTF-8 in the Authorization header, the path or the query (aiohttp keeps them as
    surrogates), and Unicode digits in numeric parameters, are refused with a 4xx, not a 500."""
    incident = alerter.incidents[0].incident_id
    requests = [
        (b"GET", b"/api/v1/incidents", b"Authorization: Bearer \xff\xfe"),
        (b"GET", b"/api/v1/incidents", b"Authorization: Bearer " + alerter.token.encode() + b"\xc3"),
        (b"GET", b"/api/v1/silences", b"Authorization: \xe9\xe9 x"),
        (b"POST", f"/api/v1/incidents/{incident}/ack".encode(), b"Authorization: Bearer \x80"),
        (b"GET", b"/api/v1/incidents?limit=%FF%FE", b"Authorization: Bearer " + alerter.token.encode()),
        (b"GET", f"/api/v1/links/{incident}/acknowledge?expires=%B2&sig=%FF".encode(), b"X: y"),
        # "²" (superscript two) is a str.isdigit() digit that int() refuses: each was a 500.
        (b"GET", b"/api/v1/incidents?limit=%C2%B2", b"Authorization: Bearer " + alerter.token.encode()),
        (b"GET", b"/api/v1/notifications?limit=%C2%B2", b"Authorization: Bearer " + alerter.token.encode()),
        (b"GET", f"/api/v1/links/{incident}/resolve?expires=%C2%B2&sig=00".encode(), b"X: y"),
        (b"POST", f"/api/v1/links/{incident}/resolve?expires=1%C2%B2&sig=00".encode(), b"X: y"),
    ]
    host, _, port = alerter.url.removeprefix("http://").partition(":")
    for method, path, header in requests:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(method + b" " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n")
        writer.write(header + b"\r\n\r\n")
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, (method, path, header, answer[:300])


async def test_inbound_acknowledgement_with_a_nul_in_the_actor_is_not_a_5xx(alerter: Alerter) -> None:
    """An Opsgenie / PagerDuty acknowledgement whose user name holds a NUL (PostgreSQL cannot store it) is
    answered below 500; the incident API already answers such a `by` with 400."""
    incident = alerter.incidents[0].incident_id
    bodies = {
        "opsgenie/og": orjson.dumps({"action": "Acknowledge", "alert": {"alias": incident, "username": "a\x00b"}}),
        "pagerduty/pd": orjson.dumps(
            {
                "event": {
                    "event_type": "incident.resolved",
                    "data": {"incident_key": incident},
                    "agent": {"summary": "\x00"},
                }
            }
        ),
    }
    for path, body in bodies.items():
        headers = {
            "X-Stormwatch-Token": INBOUND["og"],
            "X-PagerDuty-Signature": "v1=" + hmac.new(INBOUND["pd"].encode(), body, hashlib.sha256).hexdigest(),
        }
        async with alerter.client.post(f"{alerter.url}/api/v1/inbound/{path}", data=body, headers=headers) as response:
            assert response.status < 500, (path, response.status, await response.text())
