"""Edits become events: fingerprints, review.updated / review.deleted ids, snapshots, the breaker, local time."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any, cast

from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import Page, PollOptions, RateLimit
from services.pollers.adapters.http import PlatformError, Requester
from services.pollers.adapters.localtime import from_epoch, parse_local
from services.pollers.fingerprints import MemoryFingerprints
from services.pollers.metrics import PollerMetrics
from services.pollers.poll_loop import BREAKER_COOLDOWN_SECONDS, BREAKER_THRESHOLD, SourcePoller
from services.pollers.revisions import as_update, content_fingerprint, deletion, thread_snapshot, truncate
from services.shared import codec
from services.shared.errors import Reason
from services.shared.events import Engagement, MerchantReply
from services.shared.timeutil import ManualClock
from tests.unit.test_pollers_poll_loop import SOURCE, FakeAdapter, FakeCursors, FakeDeadLetters, FakeProducer, item

NOW = datetime(2026, 11, 2, 12, 1, tzinfo=UTC)


def _event(**changes: Any) -> Any:
    data = item("r1").data
    from services.pollers.adapters.trustpilot_items import normalise_review

    event = normalise_review(data, merchant_id="shop", source_id="shop/tp", observed_at=NOW)
    return dataclasses.replace(event, **changes)


def test_fingerprint_changes_with_rating_text_and_reply_but_not_engagement() -> None:
    """A changed rating, text or a merchant reply is a new content version; a new like count is not."""
    base = _event()
    same = content_fingerprint(dataclasses.replace(base, engagement=Engagement(likes=99)))
    assert content_fingerprint(base) == same
    changed = [
        dataclasses.replace(base, rating=1.0),
        dataclasses.replace(base, text="edited"),
        dataclasses.replace(base, merchant_reply=MerchantReply("sorry", None)),
    ]
    assert len({content_fingerprint(e) for e in [base, *changed]}) == 4
    assert content_fingerprint(deletion(base)) == "deleted"


def test_update_and_deletion_ids_are_deterministic_and_versioned() -> None:
    """review.updated ids include the content version; review.deleted has one id per item."""
    base = _event()
    first, again = as_update(base, "v1"), as_update(base, "v1")
    assert first.event_type == "review.updated" and first.event_id == again.event_id
    assert as_update(base, "v2").event_id != first.event_id != base.event_id
    assert deletion(base).event_type == "review.deleted" and deletion(base).event_id == deletion(_event()).event_id
    codec.encode_review(first)
    codec.encode_review(deletion(base))


def test_thread_snapshot_ids_name_counters_and_time_bucket() -> None:
    """Same counters in the same bucket: one snapshot id; new counters or a new bucket: a new one."""
    post = _event(kind="post", engagement=Engagement(views=10, shares=2, replies=1))
    assert thread_snapshot(_event(engagement=None), NOW) is None
    a = thread_snapshot(post, NOW)
    b = thread_snapshot(post, NOW.replace(second=30))
    grown = thread_snapshot(dataclasses.replace(post, engagement=Engagement(views=50, shares=9)), NOW)
    later = thread_snapshot(post, NOW.replace(hour=13))
    assert a is not None and b is not None and grown is not None and later is not None
    assert a.event_type == "thread.snapshot" and a.event_id == b.event_id
    assert len({a.event_id, grown.event_id, later.event_id}) == 3
    codec.encode_review(a)


def test_truncate_flags_only_cut_text() -> None:
    """Text over the limit is cut and flagged; shorter text is untouched."""
    assert truncate("abc", 5) == ("abc", False)
    assert truncate("abcdef", 5) == ("abcde", True)
    assert truncate(None) == (None, False)


def test_local_times_are_converted_with_the_source_time_zone() -> None:
    """A wall time without an offset is read in the source's zone; an explicit offset wins; epochs are UTC."""
    assert parse_local("2026-07-01 12:00:00", "Europe/Amsterdam") == datetime(2026, 7, 1, 10, tzinfo=UTC)
    assert parse_local("2026-01-01 12:00:00", "Asia/Shanghai") == datetime(2026, 1, 1, 4, tzinfo=UTC)
    assert parse_local("2026-01-01T12:00:00+01:00", "Asia/Shanghai") == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert from_epoch(0) == datetime(1970, 1, 1, tzinfo=UTC)


def _poller(adapter: FakeAdapter, producer: FakeProducer, fingerprints: MemoryFingerprints, registry: Any) -> Any:
    return SourcePoller(
        SOURCE,
        adapter,
        cast(Requester, None),
        producer=cast(Any, producer),
        deadletters=cast(Any, FakeDeadLetters()),
        cursors=cast(Any, FakeCursors()),
        topic="reviews",
        metrics=PollerMetrics.create(registry),
        semaphore=asyncio.Semaphore(1),
        options=PollOptions(rate_limit=RateLimit(10, 10), max_attempts=1),
        clock=ManualClock(NOW),
        fingerprints=fingerprints,
    )


async def test_re_served_items_become_updates_only_when_their_content_changed(registry: CollectorRegistry) -> None:
    """An unchanged re-served review is dropped; a changed rating becomes one review.updated; fingerprints follow."""
    edited = item("a", stars=1)
    adapter = FakeAdapter(
        [
            Page((item("a"), item("b")), {"n": 1}, None),
            Page((item("a"), item("b")), {"n": 2}, None),
            Page((edited, item("b")), {"n": 3}, None),
            Page((edited,), {"n": 4}, None),
        ]
    )
    producer, fingerprints = FakeProducer(), MemoryFingerprints()
    loop = _poller(adapter, producer, fingerprints, registry)
    published = [(await loop.poll_once()).published for _ in range(4)]
    assert published == [2, 0, 1, 0]
    events = [codec.decode_review(value) for _topic, batch in producer.sent for _key, value in batch]
    assert [(e.item_id, e.event_type) for e in events] == [
        ("a", "review.created"),
        ("b", "review.created"),
        ("a", "review.updated"),
    ]
    assert events[2].rating == 1.0
    assert set(fingerprints.rows) == {("shop/tp", "a"), ("shop/tp", "b")}


async def test_breaker_opens_after_repeated_failures(registry: CollectorRegistry) -> None:
    """After BREAKER_THRESHOLD failed polls in a row the source waits a cooldown instead of its short backoff."""
    failure = PlatformError("down", reason=Reason.SERVER_ERROR)
    adapter = FakeAdapter([failure] * BREAKER_THRESHOLD)
    loop = _poller(adapter, FakeProducer(), MemoryFingerprints(), registry)
    delays = [await loop._poll_and_schedule() for _ in range(BREAKER_THRESHOLD)]
    assert not any(d >= BREAKER_COOLDOWN_SECONDS * 0.9 for d in delays[:-1])
    assert loop.circuit_open and delays[-1] >= BREAKER_COOLDOWN_SECONDS * 0.9


async def test_a_re_served_broken_item_is_dead_lettered_once(registry: CollectorRegistry) -> None:
    """A source that re-reads a window serves the same malformed bytes again: one dead letter, not one per poll."""
    broken = item(None)
    adapter = FakeAdapter([Page((broken, item("a")), {"n": 1}, None), Page((broken, item("a")), {"n": 2}, None)])
    loop = _poller(adapter, FakeProducer(), MemoryFingerprints(), registry)
    first, second = await loop.poll_once(), await loop.poll_once()
    assert (first.dead_lettered, second.dead_lettered) == (1, 0)
    assert (first.published, second.published, second.unchanged) == (1, 0, 2)
