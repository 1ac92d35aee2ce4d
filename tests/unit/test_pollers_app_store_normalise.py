"""App Store customerReviews -> events (offsets, responses, bad input) and the ES256 API-key JWT."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.app_store import AppStoreToken
from services.pollers.adapters.app_store_items import normalise_review
from services.shared import codec
from services.shared.errors import BadInput, Reason
from services.simulator.google_play import verify_jwt

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "review": {
            "type": "customerReviews",
            "id": "00000abc",
            "attributes": {
                "rating": 1,
                "title": "Crashes",
                "body": "Crashes at checkout",
                "reviewerNickname": "ana",
                "createdDate": "2026-11-02T04:00:00-08:00",
                "territory": "USA",
            },
        },
        "response": {
            "type": "customerReviewResponses",
            "id": "r1",
            "attributes": {
                "responseBody": "Fixed in 4.2",
                "lastModifiedDate": "2026-11-02T14:00:00Z",
                "state": "PUBLISHED",
            },
        },
    }


def normalise(data: Any) -> Any:
    return normalise_review(data, merchant_id="shop", source_id="shop/app_store", observed_at=NOW)


def test_a_review_with_its_response_becomes_an_event_in_utc() -> None:
    """Cupertino offsets become UTC; title, body, territory and the published response are kept."""
    event = normalise(valid_item())
    assert event.created_at == "2026-11-02T12:00:00Z" and event.title == "Crashes" and event.rating == 1.0
    assert event.attributes["territory"] == "USA"
    assert event.merchant_reply is not None and event.merchant_reply.text == "Fixed in 4.2"
    codec.encode_review(event)
    pending = valid_item()
    pending["response"]["attributes"]["state"] = "PENDING_PUBLISH"
    assert normalise(pending).merchant_reply is None


@pytest.mark.parametrize(
    "changes",
    [
        {"id": None},
        {"attributes": {"rating": "five", "createdDate": "2026-11-02T04:00:00Z"}},
        {"attributes": {"rating": 3}},
    ],
)
def test_malformed_reviews_raise_bad_input(changes: dict[str, Any]) -> None:
    """No id, a rating that is not 1..5 or no createdDate: dead-lettered."""
    item = valid_item()
    item["review"] = {**item["review"], **changes}
    with pytest.raises(BadInput):
        normalise(item)


def test_the_jwt_is_es256_with_kid_issuer_audience_and_at_most_twenty_minutes() -> None:
    """The bearer token is an ES256 JWS (raw r||s) that verifies with the key's public half, as Apple requires."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = AppStoreToken("issuer-1", "KEY123", key, wall=lambda: 1_000_000.0).get()
    header = orjson.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "ES256", "typ": "JWT", "kid": "KEY123"}
    claims = verify_jwt(token, key.public_key())
    assert claims == {"iss": "issuer-1", "iat": 1_000_000, "exp": 1_001_200, "aud": "appstoreconnect-v1"}
    assert verify_jwt(token, ec.generate_private_key(ec.SECP256R1()).public_key()) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_attributes = st.fixed_dictionaries(
    {},
    optional={
        "rating": st.one_of(_json, st.integers(0, 6)),
        "title": _json,
        "body": _json,
        "reviewerNickname": _json,
        "createdDate": st.one_of(_json, st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())),
        "territory": _json,
    },
)
_items = st.fixed_dictionaries(
    {},
    optional={
        "review": st.one_of(
            _json,
            st.fixed_dictionaries(
                {}, optional={"id": st.one_of(_json, st.text(max_size=20)), "attributes": _attributes}
            ),
        ),
        "response": st.one_of(_json, st.fixed_dictionaries({}, optional={"attributes": _json})),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_items, _json, st.just(valid_item())))
def test_any_item_yields_a_valid_event_or_bad_input(item: Any) -> None:
    """Whatever JSON Apple sends, the normaliser returns a schema-valid event or raises BadInput."""
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
