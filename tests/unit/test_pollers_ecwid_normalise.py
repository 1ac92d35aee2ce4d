"""Ecwid product reviews -> events: epoch timestamps, status, product and order, reviewer name, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.ecwid_items import normalise_review, updated_at
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "id": 4711,
        "productId": 500001,
        "productName": "Teapot",
        "orderId": 900123,
        "status": "published",
        "rating": 2,
        "review": "Lid broke",
        "reviewerInfo": {"name": "Ana", "city": "Porto"},
        "createDate": "2026-11-02 12:00:00 +0000",
        "updateDate": "2026-11-02 15:00:00 +0000",
        "createTimestamp": 1793620800,
        "updateTimestamp": 1793631600,
    }


def normalise(data: Any) -> Any:
    return normalise_review(data, merchant_id="shop", source_id="shop/ecwid", observed_at=NOW)


def test_a_review_becomes_an_event_with_product_order_and_status() -> None:
    """Epoch seconds become RFC 3339 UTC; product, order, status and the edit time are attributes."""
    event = normalise(valid_item())
    assert event.item_id == "4711" and event.rating == 2.0 and event.author == "Ana"
    assert event.created_at == "2026-11-02T12:00:00Z"
    assert event.attributes == {
        "status": "published",
        "product": "500001",
        "product_name": "Teapot",
        "order": "900123",
        "updated_at": "2026-11-02T15:00:00Z",
    }
    assert updated_at(valid_item()) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    codec.encode_review(event)


@pytest.mark.parametrize(
    "changes",
    [{"id": None}, {"rating": "2 stars"}, {"rating": 0}, {"createTimestamp": None}, {"status": "spam"}, {"review": 1}],
)
def test_malformed_reviews_raise_bad_input(changes: dict[str, Any]) -> None:
    """No id, a rating outside 1..5, no creation time, an unknown status or non-text review: dead-lettered."""
    with pytest.raises(BadInput):
        normalise({**valid_item(), **changes})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_fields = {
    "id": st.one_of(_json, st.integers(-5, 10**12)),
    "rating": st.one_of(_json, st.integers(0, 6)),
    "createTimestamp": st.one_of(_json, st.integers(-1, 2**40)),
    "updateTimestamp": st.one_of(_json, st.integers(-1, 2**40)),
    "status": st.one_of(_json, st.sampled_from(["published", "moderated", "PUBLISHED"])),
    "review": _json,
    "reviewerInfo": _json,
    "productId": _json,
    "orderId": _json,
    "productName": _json,
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
    """Whatever JSON Ecwid sends, the normaliser returns a schema-valid event or raises BadInput."""
    updated_at(item)
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
