"""X API v2 tweets -> review events: mentions (no rating; text classified downstream) and conversation snapshots."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from services.pollers.revisions import thread_snapshot, truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import Engagement, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

PLATFORM = "x"
_ID = re.compile(r"^[0-9]{1,20}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_MAX_COUNT = 10**12


def _bad(message: str) -> BadInput:
    return BadInput(f"x tweet: {message}", reason=Reason.NORMALISATION_FAILED)


def _tweet_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise _bad(f"{what} is missing or not a numeric id")
    return value


def original_id(tweet: dict[str, Any]) -> str:
    """The id that names the tweet across edits: the first of `edit_history_tweet_ids`, else its own."""
    own = _tweet_id(tweet.get("id"), "id")
    history = tweet.get("edit_history_tweet_ids")
    if isinstance(history, list) and history and isinstance(history[0], str) and _ID.match(history[0]):
        return history[0]
    return own


def is_superseded(tweet: Any) -> bool:
    """True for an older version of an edited tweet (a newer id ends its edit history)."""
    if not isinstance(tweet, dict) or not isinstance(tweet.get("id"), str):
        return False  # a tweet without an id is not skipped but dead-lettered
    history = tweet.get("edit_history_tweet_ids")
    return isinstance(history, list) and bool(history) and history[-1] != tweet["id"]


def _count(metrics: dict[str, Any], key: str) -> int | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_COUNT:
        return None
    return value


def engagement_of(tweet: dict[str, Any]) -> Engagement | None:
    """public_metrics as engagement: shares = retweets + quotes, views = impressions."""
    metrics = tweet.get("public_metrics")
    if not isinstance(metrics, dict):
        return None
    retweets, quotes = _count(metrics, "retweet_count"), _count(metrics, "quote_count")
    shares = None if retweets is None and quotes is None else (retweets or 0) + (quotes or 0)
    return Engagement(
        views=_count(metrics, "impression_count"),
        likes=_count(metrics, "like_count"),
        shares=shares,
        replies=_count(metrics, "reply_count"),
    )


def _event(tweet: Any, *, merchant_id: str, source_id: str, observed_at: datetime, author: Any) -> ReviewEvent:
    if not isinstance(tweet, dict):
        raise _bad(f"item is {type(tweet).__name__}, expected an object")
    own = _tweet_id(tweet.get("id"), "id")
    item_id = original_id(tweet)
    created_text = tweet.get("created_at")
    try:
        created = datetime.fromisoformat(created_text) if isinstance(created_text, str) else None
        created = None if created is None or created.tzinfo is None else created.astimezone(UTC)
    except (ValueError, OverflowError):
        created = None
    if created is None or len(str(created_text)) > 40:
        raise _bad(f"created_at {str(created_text)[:40]!r} is not an RFC 3339 timestamp")
    text = tweet.get("text")
    if not isinstance(text, str):
        raise _bad("text is missing")
    conversation = tweet.get("conversation_id")
    conversation = conversation if isinstance(conversation, str) and _ID.match(conversation) else None
    parent = None
    references = tweet.get("referenced_tweets")
    for reference in references if isinstance(references, list) else []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            parent = reference.get("id") if isinstance(reference.get("id"), str) else None
    lang = tweet.get("lang")
    username = author.get("username") if isinstance(author, dict) else None
    name = author.get("name") if isinstance(author, dict) else None
    handle = username if isinstance(username, str) and re.match(r"^[A-Za-z0-9_]{1,15}$", username) else "i"
    body, cut = truncate(text)
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, item_id, "review.created", "created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=item_id,
        kind="mention",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        # A conversation's root opens its own thread only once it is replied to (its snapshots name it).
        thread_id=conversation if conversation not in {None, own, item_id} else None,
        parent_id=parent[:500] if parent else None,
        text=body,
        language=lang if isinstance(lang, str) and _LANG.match(lang) else None,
        author=(name if isinstance(name, str) else username if isinstance(username, str) else None),
        url=f"https://x.com/{handle}/status/{own}",
        engagement=engagement_of(tweet),
        attributes={"truncated": True} if cut else {},
    )


def normalise_mention(
    tweet: Any, *, merchant_id: str, source_id: str, observed_at: datetime, author: Any = None
) -> ReviewEvent:
    """A tweet that matched the source's query; an edit keeps the original's id (so it becomes review.updated)."""
    event = _event(tweet, merchant_id=merchant_id, source_id=source_id, observed_at=observed_at, author=author)
    if event.author is not None and len(event.author) > 500:
        raise _bad("author name is too long")
    return event


def normalise_conversation(tweet: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """A conversation root's public_metrics now: a thread.snapshot of the conversation."""
    event = _event(tweet, merchant_id=merchant_id, source_id=source_id, observed_at=observed_at, author=None)
    if event.engagement is None:
        raise _bad("public_metrics are missing")
    root = event.item_id
    snapshot = thread_snapshot(dataclasses.replace(event, thread_id=root, parent_id=None), observed_at)
    assert snapshot is not None
    return snapshot
