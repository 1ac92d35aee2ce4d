"""The Facebook adapter's Graph error mapping: codes to errors, usage headers to the wait before retrying."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from services.pollers.adapters.base import PageRequest
from services.pollers.adapters.facebook import FacebookAdapter, regain_seconds
from services.pollers.adapters.http import AuthError, HttpResponse, PlatformError
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason, StormwatchError
from services.shared.settings import Secret

SOURCE = SourceConfig(
    id="shop/facebook",
    merchant_id="shop",
    platform="facebook",
    credentials={"page_access_token": Secret("EAAGtoken")},
    options={"page_id": "1044"},
)


def response(body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(200, CIMultiDictProxy(CIMultiDict(headers or {})), orjson.dumps(body))


class OneAnswer:
    """A Requester that answers every call with the same response and records the parameters."""

    def __init__(self, answer: HttpResponse) -> None:
        self.answer = answer
        self.params: list[Mapping[str, str]] = []

    async def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None, data: Mapping[str, str] | None = None,
    ) -> HttpResponse:  # fmt: skip
        self.params.append(dict(params or {}))
        return self.answer


def graph_error(code: int, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "x", **extra}}


async def fetch(answer: HttpResponse) -> None:
    await FacebookAdapter.from_source(SOURCE, "sources[0]").fetch_page(OneAnswer(answer), PageRequest(None))


async def test_graph_error_codes_map_to_stormwatch_errors() -> None:
    """190 is an AuthError naming the token; 4/17/32/613 are rate limits; 12 is a clear non-retriable error;
    2 is transient; anything else is a non-retriable client error."""
    with pytest.raises(AuthError, match="page_access_token"):
        await fetch(response(graph_error(190)))
    for code in (4, 17, 32, 613):
        with pytest.raises(PlatformError) as limited:
            await fetch(response(graph_error(code)))
        assert limited.value.reason is Reason.RATE_LIMITED
    with pytest.raises(StormwatchError, match="deprecated") as deprecated:
        await fetch(response(graph_error(12)))
    assert not deprecated.value.retriable
    with pytest.raises(PlatformError) as transient:
        await fetch(response(graph_error(2, is_transient=True)))
    assert transient.value.retriable
    with pytest.raises(StormwatchError) as other:
        await fetch(response(graph_error(100)))
    assert not other.value.retriable and other.value.reason is Reason.CLIENT_ERROR


async def test_errors_are_asked_for_as_objects_and_the_token_stays_out_of_the_query() -> None:
    """Every call sends suppress_http_code=1 and no access_token parameter (the token goes in a header)."""
    requester = OneAnswer(response({"data": []}))
    await FacebookAdapter.from_source(SOURCE, "sources[0]").fetch_page(requester, PageRequest(None))
    assert requester.params[0]["suppress_http_code"] == "1" and "access_token" not in requester.params[0]


def test_the_wait_comes_from_the_business_use_case_estimate_or_a_spent_app_quota() -> None:
    """estimated_time_to_regain_access is minutes (the longest wins); a spent X-App-Usage without an estimate
    waits an hour; no usage headers, no hint."""
    buc = {"1044": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7},
                    {"type": "pages", "call_count": 90, "estimated_time_to_regain_access": 2}]}  # fmt: skip
    assert regain_seconds(response({}, {"X-Business-Use-Case-Usage": orjson.dumps(buc).decode()})) == 420.0
    spent = {"X-App-Usage": orjson.dumps({"call_count": 100, "total_time": 20, "total_cputime": 5}).decode()}
    assert regain_seconds(response({}, spent)) == 3600.0
    assert regain_seconds(response({}, {"X-App-Usage": "not json"})) is None
    assert regain_seconds(response({})) is None


@pytest.mark.parametrize(
    ("options", "key"),
    [({}, "page_id"), ({"page_id": "abc"}, "page_id"), ({"page_id": "1", "api_version": "21"}, "api_version"),
     ({"page_id": "1", "watch_hours": 0}, "watch_hours")],
)  # fmt: skip
def test_bad_options_name_the_key(options: dict[str, Any], key: str) -> None:
    """A missing or malformed option is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=key):
        source = SourceConfig(
            id="f", merchant_id="m", platform="facebook", credentials=SOURCE.credentials, options=options
        )
        FacebookAdapter.from_source(source, "sources[0]")
