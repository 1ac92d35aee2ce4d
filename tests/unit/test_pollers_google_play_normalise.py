"""Google Play Review objects -> events: comment order, Timestamp seconds as text, replies, bad input; RS256 JWTs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.app_store_jwt import sign_jwt
from services.pollers.adapters.google_play_items import last_modified, normalise_review
from services.shared import codec
from services.shared.errors import BadInput, Reason
from services.simulator.google_play import verify_jwt

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "reviewId": "gp:abc",
        "authorName": "Ana",
        "comments": [
            {"developerComment": {"text": "Thanks!", "lastModified": {"seconds": "1793624400", "nanos": 0}}},
            {
                "userComment": {
                    "text": "Crashes\tThe app crashes on start",
                    "lastModified": {"seconds": "1793620800", "nanos": 5},
                    "starRating": 2,
                    "reviewerLanguage": "en",
                    "appVersionName": "4.2.1",
                }
            },
        ],
    }


def normalise(data: Any) -> Any:
    return normalise_review(data, merchant_id="shop", source_id="shop/google_play", observed_at=NOW)


def test_user_and_developer_comments_are_found_in_any_order() -> None:
    """The developer reply may come first; the rating, text and reply are read from the right entries."""
    event = normalise(valid_item())
    assert event.item_id == "gp:abc" and event.rating == 2.0 and event.language == "en"
    assert event.created_at == "2026-11-02T12:00:00Z"
    assert event.merchant_reply is not None and event.merchant_reply.text == "Thanks!"
    assert event.attributes["app_version"] == "4.2.1"
    assert last_modified(valid_item()) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # the reply is newer
    codec.encode_review(event)


@pytest.mark.parametrize(
    "changes",
    [
        {"reviewId": None},
        {"comments": []},
        {"comments": [{"userComment": {"text": "x", "starRating": "5 stars", "lastModified": {"seconds": "1"}}}]},
        {"comments": [{"userComment": {"text": "x", "starRating": 5, "lastModified": {"seconds": "soon"}}}]},
    ],
)
def test_malformed_reviews_raise_bad_input(changes: dict[str, Any]) -> None:
    """No id, no user comment, a rating that is not 1..5 or an unreadable lastModified: dead-lettered."""
    with pytest.raises(BadInput):
        normalise({**valid_item(), **changes})


def test_rs256_assertions_verify_with_the_public_key_only() -> None:
    """A service-account assertion verifies with its key's public half and not with another key's."""
    key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    token = sign_jwt({"iss": "a@b", "exp": 1}, key)
    assert verify_jwt(token, key.public_key()) == {"iss": "a@b", "exp": 1}
    assert verify_jwt(token, other.public_key()) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_user = st.fixed_dictionaries(
    {},
    optional={
        "text": _json,
        "starRating": st.one_of(_json, st.integers(0, 6)),
        "lastModified": st.one_of(_json, st.fixed_dictionaries({"seconds": st.one_of(_json, st.text("0123456789"))})),
        "reviewerLanguage": _json,
        "device": _json,
    },
)
_items = st.fixed_dictionaries(
    {},
    optional={
        "reviewId": st.one_of(_json, st.text(max_size=30)),
        "authorName": _json,
        "comments": st.one_of(
            _json,
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({"userComment": _user}),
                    st.fixed_dictionaries({"developerComment": st.one_of(_json, _user)}),
                    _json,
                ),
                max_size=3,
            ),
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_items, _json, st.just(valid_item())))
def test_any_item_yields_a_valid_event_or_bad_input(item: Any) -> None:
    """Whatever JSON Play sends, the normaliser returns a schema-valid event or raises BadInput."""
    last_modified(item)
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
