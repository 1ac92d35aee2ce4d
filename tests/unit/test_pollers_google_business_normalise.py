"""Google Business Profile reviews -> events: the starRating enum, rating-only reviews, replies, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.google_business_items import normalise_review
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "name": "accounts/1/locations/2/reviews/abc",
        "reviewId": "abc",
        "reviewer": {"displayName": "Ann", "isAnonymous": False, "profilePhotoUrl": "https://x/y"},
        "starRating": "TWO",
        "comment": "Late delivery",
        "createTime": "2026-11-01T10:00:00Z",
        "updateTime": "2026-11-01T12:00:00.123456Z",
        "reviewReply": {"comment": "Sorry!", "updateTime": "2026-11-01T12:00:00Z"},
    }


def normalise(data: Any) -> Any:
    return normalise_review(data, merchant_id="shop", source_id="shop/g", observed_at=NOW)


def test_valid_review_maps_enum_reply_and_location() -> None:
    """starRating TWO is 2 of 1..5; the reply is the merchant reply; the location name is an attribute."""
    event = normalise(valid_item())
    assert (event.item_id, event.rating, event.text, event.author) == ("abc", 2.0, "Late delivery", "Ann")
    assert event.merchant_reply is not None and event.merchant_reply.text == "Sorry!"
    assert event.attributes["location"] == "accounts/1/locations/2"
    assert event.attributes["rating_only"] is False
    codec.encode_review(event)


def test_rating_only_and_unspecified_reviews_are_valid() -> None:
    """No comment: rating-only (no text); STAR_RATING_UNSPECIFIED: no rating; anonymous: no author."""
    item = valid_item()
    del item["comment"]
    item["starRating"] = "STAR_RATING_UNSPECIFIED"
    item["reviewer"] = {"isAnonymous": True, "displayName": "A Google User"}
    event = normalise(item)
    assert (event.text, event.rating, event.rating_scale, event.author) == (None, None, None, None)
    assert event.attributes["rating_only"] is True


def test_oversize_comment_is_truncated_and_flagged() -> None:
    """A comment over the schema limit is cut and `truncated` is set."""
    event = normalise({**valid_item(), "comment": "x" * 30000})
    assert event.text is not None and len(event.text) == 20000 and event.attributes["truncated"] is True


@pytest.mark.parametrize(
    "changes",
    [{"reviewId": None}, {"starRating": "5"}, {"starRating": 5}, {"createTime": "yesterday"}, {"reviewer": "x"}],
)
def test_malformed_reviews_raise_bad_input(changes: dict[str, Any]) -> None:
    """What identifies or rates a review must be right, or the item is dead-lettered."""
    with pytest.raises(BadInput) as caught:
        normalise({**valid_item(), **changes})
    assert caught.value.reason is Reason.NORMALISATION_FAILED


_text = st.text(st.characters(codec="utf-8"), max_size=30)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=10,
)
_fields = {
    "reviewId": st.one_of(_json, st.just("r1")),
    "starRating": st.one_of(_json, st.sampled_from(["ONE", "FIVE", "STAR_RATING_UNSPECIFIED", "SIX"])),
    "createTime": st.one_of(_json, st.sampled_from(["2026-11-02T11:59:00Z", "2026-11-02"])),
    "updateTime": st.one_of(_json, st.sampled_from(["2026-11-02T11:59:00Z"])),
    "comment": st.one_of(_json, _text),
    "name": _json,
    "reviewer": st.one_of(_json, st.fixed_dictionaries({"displayName": _json, "isAnonymous": _json})),
    "reviewReply": st.one_of(_json, st.fixed_dictionaries({"comment": _json, "updateTime": _json})),
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
    """Whatever JSON Google sends, the normaliser returns a schema-valid event or raises BadInput."""
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
