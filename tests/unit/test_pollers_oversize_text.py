"""Every platform's normaliser truncates oversize free text to the event schema's limit and flags the event."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from services.pollers.adapters.facebook_items import normalise_comment
from services.pollers.adapters.feeds_xml import parse_feed
from services.pollers.revisions import MAX_TEXT
from services.shared import codec
from services.shared.events import ReviewEvent
from tests.unit import (
    test_pollers_app_store_normalise as app_store,
)
from tests.unit import (
    test_pollers_ebay_normalise as ebay,
)
from tests.unit import (
    test_pollers_ecwid_normalise as ecwid,
)
from tests.unit import (
    test_pollers_etsy_normalise as etsy,
)
from tests.unit import (
    test_pollers_facebook_normalise as facebook,
)
from tests.unit import (
    test_pollers_feeds_normalise as feeds,
)
from tests.unit import (
    test_pollers_google_business_normalise as google_business,
)
from tests.unit import (
    test_pollers_google_play_normalise as google_play,
)
from tests.unit import (
    test_pollers_import as generic,
)
from tests.unit import (
    test_pollers_taobao_normalise as taobao,
)
from tests.unit import (
    test_pollers_trustpilot_normalise as trustpilot,
)
from tests.unit import (
    test_pollers_x_search_normalise as x_search,
)
from tests.unit import (
    test_pollers_yelp_normalise as yelp,
)

HUGE = "x" * (MAX_TEXT * 2 + 7)  # no spaces: feeds collapse whitespace


def _set(path: tuple[str | int, ...]) -> Callable[[Any], None]:
    def put(item: Any) -> None:
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = HUGE

    return put


def _facebook_comment(item: Any) -> ReviewEvent:
    return normalise_comment(
        item, post_id=facebook.POST, merchant_id="shop", source_id="shop/facebook", observed_at=facebook.NOW
    )


def _feed_entry() -> dict[str, Any]:
    return parse_feed(feeds.RSS)[0].to_dict()


def _generic_row() -> dict[str, Any]:
    return {"id": "r-1", "rating": 2, "rating_scale": "1-5", "created_at": "2026-11-01T10:00:00Z", "text": "late"}


# platform -> (a valid item, where its review text lives, the normaliser)
CASES: dict[str, tuple[Callable[[], Any], Callable[[Any], None], Callable[[Any], ReviewEvent]]] = {
    "trustpilot": (trustpilot.valid_item, _set(("text",)), trustpilot.normalise),
    "google_business": (google_business.valid_item, _set(("comment",)), google_business.normalise),
    "etsy": (etsy.valid_item, _set(("review",)), etsy.normalise),
    "yelp": (yelp.valid_item, _set(("text",)), yelp.normalise),
    "ebay": (ebay.valid_item, _set(("feedbackComment", "commentText")), ebay.normalise),
    "taobao": (taobao.valid_item, _set(("content",)), taobao.normalise),
    "google_play": (google_play.valid_item, _set(("comments", 1, "userComment", "text")), google_play.normalise),
    "app_store": (app_store.valid_item, _set(("review", "attributes", "body")), app_store.normalise),
    "ecwid": (ecwid.valid_item, _set(("review",)), ecwid.normalise),
    "rss": (_feed_entry, _set(("text",)), feeds.normalise),
    "facebook": (facebook.comment, _set(("message",)), _facebook_comment),
    "x": (x_search.tweet, _set(("text",)), x_search.mention),
    "generic": (_generic_row, _set(("text",)), generic.normalise),
}


@pytest.mark.parametrize("platform", sorted(CASES))
def test_oversize_text_is_truncated_and_flagged(platform: str) -> None:
    """An item whose text is over the schema's limit still becomes a valid event: the text is cut to MAX_TEXT and
    `attributes.truncated` is true, while the same item with normal text carries no flag."""
    make, inflate, normalise = CASES[platform]
    plain = normalise(make())
    assert "truncated" not in plain.attributes
    item = copy.deepcopy(make())
    inflate(item)
    event = normalise(item)
    codec.encode_review(event)  # still valid against the schema
    assert event.text is not None and len(event.text) <= MAX_TEXT
    assert event.text.startswith("x" * 100)
    assert event.attributes.get("truncated") is True
