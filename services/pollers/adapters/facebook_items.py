"""Facebook Graph items -> review events: comments become comment events, posts become thread.snapshot events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.pollers.revisions import thread_snapshot, truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import Engagement, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "facebook"
_MAX_COUNT = 10**12


def _bad(what: str, message: str) -> BadInput:
    return BadInput(f"facebook {what}: {message}", reason=Reason.NORMALISATION_FAILED)


def parse_graph_time(text: Any) -> datetime | None:
    """Graph's `2026-11-02T12:00:00+0000` (or RFC 3339) as UTC; None when it is not a timestamp."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset
        return None


def _node_id(data: dict[str, Any], what: str) -> str:
    node = data.get("id")
    if not isinstance(node, str) or not node.strip() or len(node) > 500:
        raise _bad(what, "id is missing or not a non-empty string")
    return node


def _count(value: Any) -> int | None:
    """A counter Graph sends as a number; anything else counts as unknown."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_COUNT:
        return None
    return value


def _summary_count(data: dict[str, Any], edge: str) -> int | None:
    block = data.get(edge)
    summary = block.get("summary") if isinstance(block, dict) else None
    return _count(summary.get("total_count")) if isinstance(summary, dict) else None


def _name(data: dict[str, Any]) -> str | None:
    author = data.get("from")
    name = author.get("name") if isinstance(author, dict) else None
    return name[:500] if isinstance(name, str) else None


def _url(data: dict[str, Any]) -> str | None:
    url = data.get("permalink_url")
    return url if isinstance(url, str) and len(url) <= 2000 else None


def normalise_comment(
    data: Any, *, post_id: str, merchant_id: str, source_id: str, observed_at: datetime
) -> ReviewEvent:
    """A comment on one of the page's posts: no rating (text is classified downstream), thread = the post."""
    if not isinstance(data, dict):
        raise _bad("comment", f"item is {type(data).__name__}, expected an object")
    comment_id = _node_id(data, "comment")
    created = parse_graph_time(data.get("created_time"))
    if created is None:
        raise _bad("comment", f"created_time {str(data.get('created_time'))[:40]!r} is not a timestamp")
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise _bad("comment", "message is not a string")
    parent = data.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    if not isinstance(parent_id, str) or not parent_id or len(parent_id) > 500:
        parent_id = post_id
    text, cut = truncate(message)
    likes, replies = _count(data.get("like_count")), _count(data.get("comment_count"))
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, comment_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=comment_id,
        kind="comment",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        thread_id=post_id[:500],
        parent_id=parent_id,
        text=text,
        author=_name(data),
        url=_url(data),
        engagement=None if likes is None and replies is None else Engagement(likes=likes, replies=replies),
        attributes={"truncated": True} if cut else {},
    )


def normalise_post(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """A post's counters (shares, comments, reactions) at `observed_at`: a thread.snapshot the detector reads."""
    if not isinstance(data, dict):
        raise _bad("post", f"item is {type(data).__name__}, expected an object")
    post_id = _node_id(data, "post")
    created = parse_graph_time(data.get("created_time"))
    if created is None:
        raise _bad("post", f"created_time {str(data.get('created_time'))[:40]!r} is not a timestamp")
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise _bad("post", "message is not a string")
    shares_block = data.get("shares")
    # Graph leaves `shares` out until a post is first shared.
    shares = (
        0 if shares_block is None else _count(shares_block.get("count") if isinstance(shares_block, dict) else None)
    )
    engagement = Engagement(
        views=None,
        likes=_summary_count(data, "reactions"),
        shares=shares,
        replies=_summary_count(data, "comments"),
    )
    text, cut = truncate(message)
    post = ReviewEvent(
        event_id="",
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=post_id,
        kind="post",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        thread_id=post_id,
        text=text,
        author=_name(data),
        url=_url(data),
        engagement=engagement,
        attributes={"truncated": True} if cut else {},
    )
    snapshot = thread_snapshot(post, observed_at)
    assert snapshot is not None  # the post has engagement
    return snapshot


def post_counters(data: Any) -> list[int | None]:
    """The counters a post's snapshot carries, to tell whether they moved since the last poll."""
    if not isinstance(data, dict):
        return []
    shares = data.get("shares")
    return [
        _count(shares.get("count")) if isinstance(shares, dict) else 0,
        _summary_count(data, "comments"),
        _summary_count(data, "reactions"),
    ]
