"""The Trustpilot normaliser: a served review becomes a schema-valid event, a malformed one becomes BadInput."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.trustpilot_items import item_key, normalise_review
from services.shared import codec
from services.shared.errors import BadInput, Reason
from services.shared.events import RatingScale, deterministic_id
from services.simulator.scenario import demo_scenario
from services.simulator.timeline import generate_timeline
from services.simulator.trustpilot import render_review

OBSERVED = datetime(2026, 11, 2, 12, 0, 5, tzinfo=UTC)


def valid_item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "5f8e1d2c3b4a596877665544",
        "stars": 1,
        "title": "Parcel never arrived",
        "text": "Ordered three weeks ago, still nothing.",
        "language": "en",
        "createdAt": "2026-11-02T11:59:00Z",
        "updatedAt": None,
        "consumer": {"id": "c1", "displayName": "Jane D.", "displayLocation": "London, GB", "numberOfReviews": 3},
        "businessUnit": {"id": "bu-shop", "identifyingName": "shop.example", "displayName": "Shop"},
        "companyReply": None,
        "referenceId": "ORD-1001",
        "source": "AFSv2",
        "tags": [{"group": "delivery", "value": "late"}],
        "isVerified": True,
        "numberOfLikes": 2,
        "status": "active",
        "links": [],
    }
    item.update(changes)
    return item


def normalise(item: Any) -> Any:
    return normalise_review(item, merchant_id="shop", source_id="shop/trustpilot", observed_at=OBSERVED)


def test_valid_item_becomes_a_valid_event() -> None:
    """Every field maps as documented, the event id is deterministic, and the event passes the schema."""
    event = normalise(valid_item())
    assert event.event_id == deterministic_id(
        "trustpilot", "shop/trustpilot", "5f8e1d2c3b4a596877665544", "review.created", "created"
    )
    assert (event.event_type, event.kind, event.platform) == ("review.created", "review", "trustpilot")
    assert (event.merchant_id, event.source_id, event.item_id) == (
        "shop",
        "shop/trustpilot",
        "5f8e1d2c3b4a596877665544",
    )
    assert event.rating == 1 and event.rating_scale == RatingScale(1, 5)
    assert (event.title, event.language, event.author) == ("Parcel never arrived", "en", "Jane D.")
    assert event.created_at == "2026-11-02T11:59:00Z"
    assert event.observed_at == "2026-11-02T12:00:05Z"
    assert event.url == "https://www.trustpilot.com/reviews/5f8e1d2c3b4a596877665544"
    assert event.merchant_reply is None
    assert event.engagement is not None and event.engagement.likes == 2
    assert event.attributes == {"order": "ORD-1001", "tags": ["delivery:late"], "source": "AFSv2", "verified": True}
    assert codec.decode_review(codec.encode_review(event)) == event


def test_company_reply_becomes_the_merchant_reply() -> None:
    """companyReply{text, createdAt} maps onto merchant_reply, timestamp normalised to UTC."""
    reply = {"text": "Sorry, we sent a new parcel.", "createdAt": "2026-11-02T13:00:00+01:00", "updatedAt": None}
    event = normalise(valid_item(companyReply=reply))
    assert event.merchant_reply is not None
    assert event.merchant_reply.text == "Sorry, we sent a new parcel."
    assert event.merchant_reply.created_at == "2026-11-02T12:00:00Z"


def test_every_review_the_simulator_serves_intact_normalises() -> None:
    """The simulator's well-formed reviews all normalise; its malformed ones all raise BadInput."""
    scenario = demo_scenario(origin=datetime(2026, 11, 2, 12, tzinfo=UTC))
    for review in generate_timeline(scenario).all("demo-shop"):
        item = render_review(review, "http://sim", "Demo Shop")
        if review.malformed is None:
            event = normalise(item)
            codec.encode_review(event)
            assert event.item_id == review.id and event.rating == review.stars
        else:
            with pytest.raises(BadInput):
                normalise(item)


@pytest.mark.parametrize(
    "item",
    [
        {k: v for k, v in valid_item().items() if k != "id"},
        valid_item(id=""),
        valid_item(id=42),
        valid_item(stars="five"),
        valid_item(stars=0),
        valid_item(stars=6),
        valid_item(stars=2.5),
        valid_item(stars=True),
        valid_item(createdAt="yesterday"),
        valid_item(createdAt="2026-11-02T11:59:00"),
        valid_item(title=["not", "a", "string"]),
        valid_item(consumer="Jane"),
        valid_item(tags=[{"group": "delivery"}]),
        valid_item(numberOfLikes=-1),
        valid_item(companyReply={"text": 5}),
        "not an object",
    ],
)
def test_malformed_items_raise_bad_input(item: Any) -> None:
    """Missing id, stars "five", a bad timestamp or wrongly typed fields: BadInput with reason normalisation_failed."""
    with pytest.raises(BadInput) as caught:
        normalise(item)
    assert caught.value.reason is Reason.NORMALISATION_FAILED


def test_over_long_text_is_cut_to_the_schema_limits() -> None:
    """Free text longer than the event schema allows is truncated and flagged, not rejected: the review still counts,
    and `attributes.truncated` says the text is not whole (a review of normal length carries no flag)."""
    event = normalise(valid_item(title="t" * 5000, text="x" * 50000, language="x" * 100))
    codec.encode_review(event)
    assert event.title is not None and len(event.title) == 2000
    assert event.text is not None and len(event.text) == 20000
    assert event.language is None
    assert event.attributes.get("truncated") is True
    assert "truncated" not in normalise(valid_item()).attributes


def test_item_key_falls_back_to_a_digest_without_an_id() -> None:
    """An item without a usable id is still identified (by its bytes) so the cursor can remember it."""
    assert item_key({"id": "abc"}, b"...") == "abc"
    assert item_key({"stars": 1}, b"one") == item_key({"stars": 1}, b"one")
    assert item_key({"stars": 1}, b"one") != item_key({"stars": 1}, b"two")
    assert item_key({"id": ""}, b"one").startswith("sha256:")


# JSON as orjson decodes it: no lone surrogates, no NaN or infinities.
_text = st.text(st.characters(codec="utf-8"), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)
_fields = {
    "id": st.one_of(_json, _text, st.just("abc123")),
    "stars": st.one_of(_json, st.integers(0, 6), st.sampled_from([1, 5, 3.0, "five"])),
    "createdAt": st.one_of(
        _json, st.sampled_from(["2026-11-02T11:59:00Z", "2026-11-02T11:59:00.5+02:00", "2026-11-02"])
    ),
    "title": st.one_of(_json, _text),
    "text": st.one_of(_json, _text),
    "language": st.one_of(_json, st.sampled_from(["en", "de-DE"])),
    "consumer": st.one_of(_json, st.fixed_dictionaries({"displayName": st.one_of(_json, _text)})),
    "companyReply": st.one_of(
        _json, st.fixed_dictionaries({"text": st.one_of(_json, _text), "createdAt": st.one_of(_json, _text)})
    ),
    "tags": st.one_of(_json, st.lists(st.fixed_dictionaries({"group": _json, "value": _json}), max_size=3)),
    "numberOfLikes": st.one_of(_json, st.integers(-2, 5)),
    "isVerified": _json,
    "referenceId": _json,
    "source": _json,
}
# A valid item with a few fields replaced by arbitrary JSON, a few removed, and unknown keys added: this reaches
# both outcomes (pure random dictionaries would almost never be valid reviews).
_mutations = st.lists(st.sampled_from(sorted(_fields)), max_size=3, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({key: _fields[key] for key in keys})
)
_items = st.builds(
    lambda changes, dropped, extra: {
        **extra,
        **{k: v for k, v in {**valid_item(), **changes}.items() if k not in dropped},
    },
    _mutations,
    st.sets(st.sampled_from(sorted(_fields)), max_size=2),
    st.dictionaries(_text, _json, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_items, st.dictionaries(_text, _json), _json))
def test_any_json_yields_a_valid_event_or_bad_input(item: Any) -> None:
    """Whatever JSON the platform sends, the normaliser returns a schema-valid event or raises BadInput: never more."""
    try:
        event = normalise(item)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
