"""Etsy TransactionReviews -> events: transaction ids, epoch seconds, hidden buyers, bad input; quota headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.etsy_items import normalise_review
from services.pollers.adapters.http import DAILY_QUOTA_PAUSE_SECONDS, throttle_hint
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "shop_id": 777,
        "listing_id": 1234,
        "transaction_id": 99887766,
        "buyer_user_id": None,
        "rating": 4,
        "review": "Lovely mug",
        "language": "en",
        "create_timestamp": 1793620800,
        "update_timestamp": 1793620800,
    }


def normalise(data: Any) -> Any:
    return normalise_review(data, merchant_id="shop", source_id="shop/etsy", observed_at=NOW)


def test_transaction_id_is_the_item_id_and_epochs_are_utc() -> None:
    """The transaction identifies the review; epoch seconds become RFC 3339 UTC; a hidden buyer has no author."""
    event = normalise(valid_item())
    assert event.item_id == "99887766" and event.rating == 4.0 and event.author is None
    assert event.created_at == "2026-11-02T12:00:00Z"
    assert event.attributes["product"] == "1234"
    codec.encode_review(event)


@pytest.mark.parametrize(
    "changes", [{"transaction_id": None}, {"rating": "five"}, {"rating": 6}, {"create_timestamp": "today"}]
)
def test_malformed_reviews_raise_bad_input(changes: dict[str, Any]) -> None:
    """Without a transaction, a 1..5 rating or an epoch timestamp the item is dead-lettered."""
    with pytest.raises(BadInput):
        normalise({**valid_item(), **changes, **({"created_timestamp": None} if "create_timestamp" in changes else {})})


def test_quota_headers_become_waits() -> None:
    """Spent quotas in Etsy's, X's and Yelp's headers hold the credential back; unspent ones do not."""
    assert throttle_hint({"x-remaining-this-second": "3", "x-remaining-today": "900"}) is None
    assert throttle_hint({"x-remaining-this-second": "0"}) == 1.0
    assert throttle_hint({"x-remaining-today": "0"}) == DAILY_QUOTA_PAUSE_SECONDS
    assert throttle_hint({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1100"}, now=1000.0) == 100.0
    assert (
        throttle_hint({"ratelimit-remaining": "0", "ratelimit-resettime": "1970-01-01T00:20:00+00:00"}, now=0) == 1200
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_fields = {
    "transaction_id": st.one_of(_json, st.integers(-5, 10**12)),
    "rating": st.one_of(_json, st.integers(0, 6)),
    "create_timestamp": st.one_of(_json, st.integers(-1, 2**40)),
    "review": _json,
    "language": _json,
    "buyer_user_id": _json,
    "listing_id": _json,
    "shop_id": _json,
}
_items = st.builds(
    lambda changes, dropped: {k: v for k, v in {**valid_item(), **changes}.items() if k not in dropped},
    st.lists(st.sampled_from(sorted(_fields)), max_size=3, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: _fields[key] for key in keys})
    ),
    st.sets(st.sampled_from(sorted(_fields)), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_items, _json))
def test_any_item_yields_a_valid_event_or_bad_input(item: Any) -> None:
    """Whatever JSON Etsy sends, the normaliser returns a schema-valid event or raises BadInput."""
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
