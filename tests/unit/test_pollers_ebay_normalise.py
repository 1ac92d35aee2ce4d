"""eBay feedback -> events: comment types on the 1..5 scale, removed texts, follow-ups, withdrawals, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.ebay_items import normalise_feedback
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "feedbackId": "1234567890",
        "commentType": "NEGATIVE",
        "feedbackComment": {"commentText": "Never arrived"},
        "feedbackEnteredDate": "2026-11-01T10:00:00.000Z",
        "feedbackState": "ACTIVE",
        "orderLineItemSummary": {"listingId": "111", "orderLineItemId": "111-222"},
    }


def normalise(data: Any) -> Any:
    return normalise_feedback(data, merchant_id="shop", source_id="shop/ebay", observed_at=NOW)


def test_negative_feedback_with_reply_and_follow_up() -> None:
    """NEGATIVE is 1 of 1..5; the seller's reply is the merchant reply; the buyer's follow-up joins the text."""
    item = {
        **valid_item(),
        "replyComment": {"commentText": "Refunded", "commentEnteredDate": "2026-11-01T12:00:00Z"},
        "followupComment": {"commentText": "Got my refund"},
    }
    event = normalise(item)
    assert (event.rating, event.event_type) == (1.0, "review.created")
    assert event.merchant_reply is not None and event.merchant_reply.text == "Refunded"
    assert event.text == "Never arrived\nFollow-up: Got my refund"
    assert event.attributes["order"] == "111-222"
    codec.encode_review(event)


def test_withdrawn_feedback_is_a_deletion_and_removed_text_is_none() -> None:
    """A WITHDRAWN feedback is review.deleted; a comment eBay removed ('--') has no text and is flagged."""
    withdrawn = normalise({**valid_item(), "feedbackState": "WITHDRAWN"})
    assert withdrawn.event_type == "review.deleted" and withdrawn.event_id != normalise(valid_item()).event_id
    removed = normalise({**valid_item(), "feedbackComment": {"commentText": "--"}})
    assert removed.text is None and removed.attributes["removed_per_policy"] is True


@pytest.mark.parametrize("changes", [{"feedbackId": 5}, {"commentType": "GOODISH"}, {"feedbackEnteredDate": "x"}])
def test_malformed_feedback_raises_bad_input(changes: dict[str, Any]) -> None:
    """An unusable id, comment type or date dead-letters the entry."""
    with pytest.raises(BadInput):
        normalise({**valid_item(), **changes})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_comment = st.one_of(_json, st.fixed_dictionaries({"commentText": _json, "commentEnteredDate": _json}))
_fields = {
    "feedbackId": st.one_of(_json, st.just("9")),
    "commentType": st.one_of(_json, st.sampled_from(["POSITIVE", "NEUTRAL", "X"])),
    "feedbackEnteredDate": st.one_of(_json, st.just("2026-11-01T00:00:00Z")),
    "feedbackComment": _comment,
    "replyComment": _comment,
    "followupComment": _comment,
    "feedbackState": _json,
    "orderLineItemSummary": _json,
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
    """Whatever JSON eBay sends, a schema-valid event or BadInput."""
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
