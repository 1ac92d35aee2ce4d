"""Yelp excerpts -> events: local time_created read in the source's zone, excerpt flags, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.yelp import normalise_review
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def valid_item() -> dict[str, Any]:
    return {
        "id": "xAG4O7l-t1ubbwVAlPnDKg",
        "url": "https://www.yelp.com/biz/x?hrid=1",
        "text": "Went back again...",
        "rating": 2,
        "time_created": "2026-07-01 14:30:00",
        "user": {"id": "u1", "name": "Ella A."},
    }


def normalise(data: Any, timezone: str = "America/Los_Angeles") -> Any:
    return normalise_review(data, merchant_id="shop", source_id="shop/yelp", observed_at=NOW, timezone=timezone)


def test_local_time_is_converted_with_the_source_time_zone() -> None:
    """14:30 in Los Angeles in July (UTC-7) is 21:30 UTC; the event says it is a sampled excerpt."""
    event = normalise(valid_item())
    assert event.created_at == "2026-07-01T21:30:00Z"
    assert normalise(valid_item(), "Europe/Amsterdam").created_at == "2026-07-01T12:30:00Z"
    assert event.attributes == {"excerpt": True, "sampled": True}
    assert (event.rating, event.author) == (2.0, "Ella A.")
    codec.encode_review(event)


@pytest.mark.parametrize("changes", [{"id": ""}, {"rating": "2 stars"}, {"time_created": "last week"}, {"text": 5}])
def test_malformed_excerpts_raise_bad_input(changes: dict[str, Any]) -> None:
    """A missing id, a rating that is no number or an unreadable time dead-letters the item."""
    with pytest.raises(BadInput):
        normalise({**valid_item(), **changes})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_fields = {
    "id": st.one_of(_json, st.text(max_size=30)),
    "rating": st.one_of(_json, st.floats(0, 6)),
    "time_created": st.one_of(_json, st.sampled_from(["2026-03-29 02:30:00", "2026-10-25 02:30:00", "x"])),
    "text": _json,
    "user": _json,
    "url": _json,
}
_items = st.builds(
    lambda changes, dropped: {k: v for k, v in {**valid_item(), **changes}.items() if k not in dropped},
    st.lists(st.sampled_from(sorted(_fields)), max_size=3, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: _fields[key] for key in keys})
    ),
    st.sets(st.sampled_from(sorted(_fields)), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_items, _json), st.sampled_from(["UTC", "Europe/Amsterdam", "Asia/Shanghai"]))
def test_any_item_yields_a_valid_event_or_bad_input(item: Any, timezone: str) -> None:
    """Whatever JSON Yelp sends (DST gaps and repeats included), a schema-valid event or BadInput."""
    try:
        event = normalise(item, timezone)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)
