"""Facebook Graph items -> events: comments in their post's thread, posts as thread.snapshot counters, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.facebook import platform_time
from services.pollers.adapters.facebook_items import normalise_comment, normalise_post
from services.shared import codec
from services.shared.errors import BadInput, Reason
from services.shared.events import ReviewEvent

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POST = "104400000000042_1000000000000003"


def comment() -> dict[str, Any]:
    return {
        "id": "1000000000000003_100000000000007",
        "message": "Still no refund after three weeks.",
        "created_time": "2026-11-02T11:58:03+0000",
        "from": {"id": "1", "name": "Ana P."},
        "parent": {"id": "1000000000000003_100000000000002"},
        "like_count": 4,
        "comment_count": 0,
        "permalink_url": "https://www.facebook.com/x/posts/1?comment_id=7",
    }


def post() -> dict[str, Any]:
    return {
        "id": POST,
        "message": "Found a caterpillar in my salad.",
        "created_time": "2026-11-02T10:00:00+0000",
        "from": {"id": "9", "name": "Kim"},
        "shares": {"count": 1200},
        "comments": {"data": [], "summary": {"total_count": 85}},
        "reactions": {"data": [], "summary": {"total_count": 900}},
    }


def test_a_comment_is_a_review_event_in_its_posts_thread() -> None:
    """Comments carry no rating; thread = the post, parent = the comment answered; time in UTC; schema-valid."""
    event = normalise_comment(comment(), post_id=POST, merchant_id="shop", source_id="shop/fb", observed_at=NOW)
    assert (event.event_type, event.kind, event.rating) == ("review.created", "comment", None)
    assert event.thread_id == POST and event.parent_id == "1000000000000003_100000000000002"
    assert event.created_at == "2026-11-02T11:58:03Z" and event.author == "Ana P."
    top = normalise_comment(
        {**comment(), "parent": None}, post_id=POST, merchant_id="s", source_id="s", observed_at=NOW
    )
    assert top.parent_id == POST
    codec.encode_review(event)


def test_a_post_is_a_snapshot_of_its_counters() -> None:
    """Shares, comment and reaction totals become engagement on a thread.snapshot; no `shares` means zero."""
    event = normalise_post(post(), merchant_id="shop", source_id="shop/fb", observed_at=NOW)
    assert event.event_type == "thread.snapshot" and event.kind == "post" and event.thread_id == POST
    assert event.engagement is not None
    assert (event.engagement.shares, event.engagement.replies, event.engagement.likes) == (1200, 85, 900)
    fresh = normalise_post({k: v for k, v in post().items() if k != "shares"}, merchant_id="s", source_id="s",
                           observed_at=NOW)  # fmt: skip
    assert fresh.engagement is not None and fresh.engagement.shares == 0
    codec.encode_review(event)


@pytest.mark.parametrize(
    "changes", [{"id": ""}, {"id": None}, {"created_time": "yesterday at noon"}, {"message": 5}, {"created_time": 1}]
)
def test_malformed_items_raise_bad_input(changes: dict[str, Any]) -> None:
    """A missing id, an unreadable time or a message that is not text dead-letters the item."""
    with pytest.raises(BadInput):
        normalise_comment({**comment(), **changes}, post_id=POST, merchant_id="s", source_id="s", observed_at=NOW)
    with pytest.raises(BadInput):
        normalise_post({**post(), **changes}, merchant_id="s", source_id="s", observed_at=NOW)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_times = st.sampled_from(
    ["2026-11-02T10:00:00+0000", "2026-11-02T10:00:00", "9999-12-31T23:59:59+1400", "0001-01-01T00:00:00+0100", "x"]
)
_fields = {
    "id": st.one_of(_json, st.text(max_size=30)),
    "message": st.one_of(_json, st.text(max_size=50)),
    "created_time": st.one_of(_json, _times),
    "from": _json,
    "parent": st.one_of(_json, st.fixed_dictionaries({"id": _json})),
    "like_count": st.one_of(_json, st.integers(-5, 10**13)),
    "comment_count": _json,
    "permalink_url": _json,
    "shares": st.one_of(_json, st.fixed_dictionaries({"count": st.one_of(_json, st.integers(-5, 10**13))})),
    "comments": st.one_of(_json, st.fixed_dictionaries({"summary": st.fixed_dictionaries({"total_count": _json})})),
    "reactions": _json,
}


def _mutated(base: dict[str, Any]) -> Any:
    return st.builds(
        lambda changes, dropped: {k: v for k, v in {**base, **changes}.items() if k not in dropped},
        st.lists(st.sampled_from(sorted(_fields)), max_size=4, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({key: _fields[key] for key in keys})
        ),
        st.sets(st.sampled_from(sorted(_fields)), max_size=2),
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(_mutated(comment()), _mutated(post()), _json))
def test_any_item_yields_a_valid_event_or_bad_input(item: Any) -> None:
    """Whatever JSON Graph sends, as a comment or as a post: a schema-valid event or BadInput, never a crash."""

    def as_comment(data: Any) -> ReviewEvent:
        return normalise_comment(data, post_id=POST, merchant_id="s", source_id="s", observed_at=NOW)

    def as_post(data: Any) -> ReviewEvent:
        return normalise_post(data, merchant_id="s", source_id="s", observed_at=NOW)

    for normalise in (as_comment, as_post):
        try:
            event = normalise(item)
        except BadInput as exc:
            assert exc.reason is Reason.NORMALISATION_FAILED
            continue
        codec.encode_review(event)


def test_a_snapshot_is_never_observed_before_the_newest_activity_the_platform_showed() -> None:
    """A poller clock behind the platform's (skew, a sped-up simulator) does not date snapshots before the
    platform's own newest activity; with a clock ahead of it, our clock is used."""
    later = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert platform_time({"platform_now": later.timestamp()}, NOW) == later
    assert platform_time({"platform_now": (NOW - timedelta(hours=1)).timestamp()}, NOW) == NOW
    assert platform_time({"platform_now": None}, NOW) == NOW
