"""X tweets -> events: mentions without rating, edits keep the original id, conversation snapshots, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.x_search_items import is_superseded, normalise_conversation, normalise_mention
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def tweet() -> dict[str, Any]:
    return {
        "id": "1853000000000000010",
        "text": "@shopnl my parcel never arrived",
        "author_id": "42",
        "created_at": "2026-11-02T11:59:00.000Z",
        "conversation_id": "1853000000000000001",
        "referenced_tweets": [{"type": "replied_to", "id": "1853000000000000005"}],
        "lang": "en",
        "public_metrics": {"retweet_count": 3, "quote_count": 1, "reply_count": 2, "like_count": 9,
                           "impression_count": 400, "bookmark_count": 0},
        "edit_history_tweet_ids": ["1853000000000000010"],
    }  # fmt: skip


def mention(data: Any, author: Any = None) -> Any:
    return normalise_mention(data, merchant_id="shop", source_id="shop/x", observed_at=NOW, author=author)


def test_a_reply_mention_is_a_review_event_in_its_conversation() -> None:
    """No rating; thread = conversation, parent = the tweet answered; metrics as engagement; author from includes."""
    event = mention(tweet(), {"id": "42", "name": "Ana", "username": "ana_p"})
    assert (event.kind, event.rating, event.language) == ("mention", None, "en")
    assert event.thread_id == "1853000000000000001" and event.parent_id == "1853000000000000005"
    assert event.engagement is not None and (event.engagement.shares, event.engagement.views) == (4, 400)
    assert event.url == "https://x.com/ana_p/status/1853000000000000010" and event.author == "Ana"
    assert event.created_at == "2026-11-02T11:59:00Z"
    codec.encode_review(event)


def test_an_edit_keeps_the_original_id_and_roots_have_no_thread() -> None:
    """An edited version names the first id of its history; a conversation root is not a reply in a thread."""
    edited = {**tweet(), "id": "1853000000000000099", "edit_history_tweet_ids": ["1853000000000000010",
                                                                             "1853000000000000099"]}  # fmt: skip
    assert mention(edited).item_id == "1853000000000000010"
    assert is_superseded({**tweet(), "edit_history_tweet_ids": ["1853000000000000010", "1853000000000000099"]})
    root = {**tweet(), "id": "1853000000000000001", "referenced_tweets": None, "edit_history_tweet_ids": None}
    assert mention(root).thread_id is None and mention(root).parent_id is None


def test_a_conversation_snapshot_names_its_root() -> None:
    """A looked-up root becomes a thread.snapshot of its conversation with shares = retweets + quotes."""
    root = {**tweet(), "id": "1853000000000000001", "referenced_tweets": None}
    event = normalise_conversation(root, merchant_id="shop", source_id="shop/x", observed_at=NOW)
    assert event.event_type == "thread.snapshot" and event.thread_id == event.item_id
    with pytest.raises(BadInput):
        normalise_conversation({**root, "public_metrics": None}, merchant_id="s", source_id="s", observed_at=NOW)


@pytest.mark.parametrize("changes", [{"id": "abc"}, {"id": None}, {"created_at": "just now"}, {"text": None}])
def test_malformed_tweets_raise_bad_input(changes: dict[str, Any]) -> None:
    """A non-numeric id, an unreadable time or no text dead-letters the tweet."""
    with pytest.raises(BadInput):
        mention({**tweet(), **changes})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_times = st.sampled_from(["2026-11-02T10:00:00.000Z", "2026-11-02T10:00:00", "0001-01-01T00:00:00+01:00", "x"])
_fields = {
    "id": st.one_of(_json, st.from_regex(r"\A[0-9]{1,22}\Z")),
    "text": st.one_of(_json, st.text(max_size=50)),
    "created_at": st.one_of(_json, _times),
    "conversation_id": _json,
    "referenced_tweets": st.one_of(_json, st.lists(st.fixed_dictionaries({"type": _json, "id": _json}), max_size=2)),
    "lang": st.one_of(_json, st.sampled_from(["und", "zh-Hant", "en"])),
    "public_metrics": st.one_of(_json, st.dictionaries(st.sampled_from(["retweet_count", "reply_count"]), _json)),
    "edit_history_tweet_ids": st.one_of(_json, st.lists(st.from_regex(r"\A[0-9]{1,20}\Z"), max_size=3)),
}
_items = st.builds(
    lambda changes, dropped: {k: v for k, v in {**tweet(), **changes}.items() if k not in dropped},
    st.lists(st.sampled_from(sorted(_fields)), max_size=4, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: _fields[key] for key in keys})
    ),
    st.sets(st.sampled_from(sorted(_fields)), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_items, _json), _json)
def test_any_item_yields_a_valid_event_or_bad_input(item: Any, author: Any) -> None:
    """Whatever JSON X sends (as a mention or a looked-up root): a schema-valid event or BadInput, never a crash."""
    for normalise in (
        lambda data: mention(data, author),
        lambda data: normalise_conversation(data, merchant_id="s", source_id="s", observed_at=NOW),
    ):
        try:
            event = normalise(item)
        except BadInput as exc:
            assert exc.reason is Reason.NORMALISATION_FAILED
            continue
        codec.encode_review(event)
