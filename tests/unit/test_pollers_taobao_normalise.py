"""Taobao TradeRates -> events (good/neutral/bad, Beijing wall time), TOP signatures and error_response mapping."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.http import AuthError, PlatformError
from services.pollers.adapters.taobao_items import normalise_rate
from services.pollers.adapters.taobao_top import raise_for_error, sign
from services.shared import codec
from services.shared.errors import BadInput, Reason, StormwatchError

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "tid": 123456789,
        "oid": 123456790,
        "role": "buyer",
        "nick": "t**1",
        "result": "bad",
        "created": "2026-11-02 20:00:00",
        "rated_nick": "shop",
        "item_title": "保温杯",
        "content": "物流太慢了",
        "reply": "抱歉",
    }


def normalise(data: Any, timezone: str = "Asia/Shanghai") -> Any:
    return normalise_rate(data, merchant_id="shop", source_id="shop/taobao", observed_at=NOW, timezone=timezone)


def test_a_rate_becomes_a_review_in_utc_with_its_reply() -> None:
    """`created` is Beijing wall time read in the source's zone; bad -> 1 star; the seller's reply is kept."""
    event = normalise(valid_item())
    assert event.item_id == "123456789:123456790:buyer"
    assert event.created_at == "2026-11-02T12:00:00Z"
    assert event.rating == 1.0 and event.merchant_reply is not None and event.merchant_reply.text == "抱歉"
    assert event.attributes["product"] == "保温杯"
    codec.encode_review(event)
    assert normalise({**valid_item(), "result": "good"}, timezone="UTC").created_at == "2026-11-02T20:00:00Z"


@pytest.mark.parametrize(
    "changes", [{"tid": None}, {"result": "5 stars"}, {"created": "yesterday"}, {"role": "robot"}, {"content": 5}]
)
def test_malformed_rates_raise_bad_input(changes: dict[str, Any]) -> None:
    """No trade id, an unknown result, an unreadable time, an unknown role or non-text content: dead-lettered."""
    with pytest.raises(BadInput):
        normalise({**valid_item(), **changes})


def test_md5_and_hmac_signatures_follow_top() -> None:
    """md5 wraps the sorted name+value string in the secret; hmac keys HMAC-MD5 with it; both upper-case hex."""
    params = {"method": "m", "app_key": "k", "sign_method": "md5", "sign": "ignored"}
    joined = "app_keykmethodmsign_methodmd5"
    expected = hashlib.md5(f"s{joined}s".encode(), usedforsecurity=False).hexdigest().upper()
    assert sign(params, "s", "md5") == expected
    assert sign(params, "s", "hmac") != expected and sign(params, "s", "hmac").isupper()


def _error(**fields: Any) -> dict[str, Any]:
    return {"error_response": {"msg": "x", **fields}}


def test_error_responses_map_to_auth_rate_limit_server_and_client_errors() -> None:
    """Signature/session -> AuthError; call limits -> rate limited with the ban as Retry-After; isp -> retriable."""
    raise_for_error({"traderates_get_response": {}}, "w", "s")
    with pytest.raises(AuthError):
        raise_for_error(_error(code=25, msg="Invalid signature"), "w", "s")
    with pytest.raises(AuthError):
        raise_for_error(_error(code=27, sub_code="invalid-sessionkey"), "w", "s")
    with pytest.raises(PlatformError) as limited:
        raise_for_error(
            _error(
                code=7,
                sub_code="accesscontrol.limited-by-app-access-count",
                sub_msg="This ban will last for 9 more seconds",
            ),
            "w",
            "s",
        )
    assert limited.value.reason is Reason.RATE_LIMITED and limited.value.retry_after == 9.0
    with pytest.raises(PlatformError) as limited_isv:
        raise_for_error(_error(code=15, sub_code="isv.call-limited"), "w", "s")
    assert limited_isv.value.reason is Reason.RATE_LIMITED
    with pytest.raises(PlatformError) as server:
        raise_for_error(_error(code=15, sub_code="isp.remote-service-timeout"), "w", "s")
    assert server.value.reason is Reason.SERVER_ERROR
    with pytest.raises(StormwatchError) as client:
        raise_for_error(_error(code=41, sub_code="isv.invalid-parameter"), "w", "s")
    assert not client.value.retriable


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_fields = {
    "tid": st.one_of(_json, st.integers(-5, 10**16), st.text("0123456789", max_size=40)),
    "oid": _json,
    "role": st.one_of(_json, st.sampled_from(["buyer", "seller"])),
    "result": st.one_of(_json, st.sampled_from(["good", "neutral", "bad"])),
    "created": st.one_of(_json, st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))),
    "content": _json,
    "reply": _json,
    "nick": _json,
    "item_title": _json,
}
_items = st.builds(
    lambda changes, dropped: {k: v for k, v in {**valid_item(), **changes}.items() if k not in dropped},
    st.lists(st.sampled_from(sorted(_fields)), max_size=3, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: _fields[key] for key in keys})
    ),
    st.sets(st.sampled_from(sorted(_fields)), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_items, _json), st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]))
def test_any_item_yields_a_valid_event_or_bad_input(item: Any, timezone: str) -> None:
    """Whatever JSON TOP sends, the normaliser returns a schema-valid event or raises BadInput."""
    try:
        event = normalise(item, timezone)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
