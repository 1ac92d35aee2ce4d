"""Feeds parsed safely (RSS 2.0, Atom; DTDs, entities and junk refused) and entries -> mention events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pollers.adapters.feeds_items import mentions, normalise_entry
from services.pollers.adapters.feeds_xml import FeedRejected, parse_feed
from services.shared import codec
from services.shared.errors import BadInput, Reason

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<item><title>Good Shop lost my parcel</title><link>https://blog.example/1</link><guid>g-1</guid>
<description>&lt;p&gt;Ordered from &lt;b&gt;Good Shop&lt;/b&gt; &amp;amp; waited&lt;/p&gt;</description>
<dc:creator>Ana</dc:creator><pubDate>Mon, 02 Nov 2026 12:00:00 +0100</pubDate></item>
<item><title>Recipes</title><guid>g-2</guid></item></channel></rss>"""
ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>
<entry><id>urn:1</id><title>About Good Shop</title><link rel="alternate" href="https://blog.example/a"/>
<published>2026-11-02T11:00:00Z</published><updated>2026-11-02T13:00:00Z</updated>
<author><name>Bo</name></author><summary type="html">Fine &lt;i&gt;shop&lt;/i&gt;</summary></entry></feed>"""


def normalise(data: Any) -> Any:
    return normalise_entry(data, merchant_id="shop", source_id="shop/rss", observed_at=NOW)


def test_rss_items_become_mentions_in_utc_with_plain_text() -> None:
    """RSS items: guid is the id, RFC 822 dates become UTC, HTML in the description becomes plain text."""
    entries = parse_feed(RSS)
    assert [e.id for e in entries] == ["g-1", "g-2"]
    event = normalise(entries[0].to_dict())
    assert event.kind == "mention" and event.rating is None and event.rating_scale is None
    assert event.created_at == "2026-11-02T11:00:00Z" and event.author == "Ana"
    assert event.text == "Ordered from Good Shop & waited" and event.url == "https://blog.example/1"
    assert mentions(entries[0].to_dict(), ("good shop",)) and not mentions(entries[1].to_dict(), ("Good Shop",))
    codec.encode_review(event)


def test_atom_entries_keep_published_and_updated() -> None:
    """Atom entries: id, alternate link, author name, published as created_at and updated as an attribute."""
    event = normalise(parse_feed(ATOM)[0].to_dict())
    assert event.item_id == "urn:1" and event.created_at == "2026-11-02T11:00:00Z"
    assert event.attributes["updated_at"] == "2026-11-02T13:00:00Z" and event.text == "Fine shop"


@pytest.mark.parametrize(
    "document",
    [
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x;</title></item></channel></rss>',
        b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>',
        b'<!DOCTYPE rss SYSTEM "http://evil.example/x.dtd"><rss/>',
        b"<rss><channel><item></channel></rss>",
        b"<html><body>not a feed</body></html>",
        b"",
    ],
)
def test_dtds_entities_broken_and_foreign_documents_are_refused(document: bytes) -> None:
    """External entities (XXE), entity expansion, any DOCTYPE, broken XML and non-feeds: FeedRejected, unread."""
    with pytest.raises(FeedRejected):
        parse_feed(document)


@pytest.mark.parametrize(
    "data", [{"rejected": "DTD"}, {"title": "Good Shop"}, {"id": "x", "published": "tomorrow-ish"}, "not an entry"]
)
def test_refused_documents_and_malformed_entries_raise_bad_input(data: Any) -> None:
    """A refused document, an entry without guid/id/link, or an unreadable date: dead-lettered."""
    with pytest.raises(BadInput):
        normalise(data)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
_entries = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from(["rss", "atom"]),
        "id": st.one_of(_json, st.text(max_size=600)),
        "title": _json,
        "link": st.one_of(_json, st.text(max_size=30).map(lambda t: "https://x.example/" + t)),
        "text": st.one_of(_json, st.text(max_size=200)),
        "author": _json,
        "published": st.one_of(_json, st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000"))),
        "updated": st.one_of(_json, st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_entries, _json))
def test_any_entry_yields_a_valid_event_or_bad_input(data: Any) -> None:
    """Whatever an entry holds, the normaliser returns a schema-valid event or raises BadInput."""
    mentions(data, ("Good Shop",))
    try:
        event = normalise(data)
    except BadInput as exc:
        assert exc.reason is Reason.NORMALISATION_FAILED
        return
    codec.encode_review(event)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300), st.text(max_size=300).map(lambda t: f"<rss><channel>{t}</channel></rss>".encode())
    )
)
def test_any_document_parses_or_is_refused(document: bytes) -> None:
    """Whatever bytes a feed URL returns, the parser gives entries or FeedRejected, never another exception."""
    try:
        for entry in parse_feed(document):
            normalise(entry.to_dict()) if entry.id else None
    except (FeedRejected, BadInput):
        return
