"""eBay FeedbackDetail objects -> review events: comment type as rating, replies, follow-ups, withdrawals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.pollers.revisions import truncate
from services.shared.errors import BadInput, Reason
from services.shared.events import AttributeValue, EventType, MerchantReply, RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339, parse_rfc3339

PLATFORM = "ebay"
STARS = RatingScale(1, 5)
# eBay feedback is positive / neutral / negative; on Stormwatch's 1..5 scale as the reference mapping says.
COMMENT_TYPES = {"POSITIVE": 5.0, "NEUTRAL": 3.0, "NEGATIVE": 1.0}
REMOVED = "--"  # eBay's text of a comment removed under its policy


def _bad(message: str) -> BadInput:
    return BadInput(f"ebay feedback: {message}", reason=Reason.NORMALISATION_FAILED)


def entered_at(data: Any) -> datetime | None:
    if not isinstance(data, dict) or not isinstance(data.get("feedbackEnteredDate"), str):
        return None
    try:
        return parse_rfc3339(data["feedbackEnteredDate"])
    except (ValueError, OverflowError):
        return None


def _comment(data: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    """(commentText, commentEnteredDate) of a nested comment object, validated."""
    value = data.get(key)
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise _bad(f"{key} is not an object")
    text, when = value.get("commentText"), value.get("commentEnteredDate")
    if text is not None and not isinstance(text, str):
        raise _bad(f"{key}.commentText is not a string")
    if when is not None:
        try:
            when = format_rfc3339(parse_rfc3339(when)) if isinstance(when, str) else None
        except (ValueError, OverflowError):
            raise _bad(f"{key}.commentEnteredDate is not a timestamp") from None
    return text, when


def normalise_feedback(data: Any, *, merchant_id: str, source_id: str, observed_at: datetime) -> ReviewEvent:
    """One FeedbackDetail: `review.created`, or `review.deleted` once the feedback is withdrawn."""
    if not isinstance(data, dict):
        raise _bad(f"item is {type(data).__name__}, expected an object")
    feedback_id = data.get("feedbackId")
    if not isinstance(feedback_id, str) or not feedback_id or len(feedback_id) > 500:
        raise _bad("feedbackId is missing or not a non-empty string")
    comment_type = data.get("commentType")
    if not isinstance(comment_type, str) or comment_type not in COMMENT_TYPES:
        raise _bad(f"commentType {comment_type!r:.30} is not POSITIVE, NEUTRAL or NEGATIVE")
    created = entered_at(data)
    if created is None:
        raise _bad("feedbackEnteredDate is missing or not a timestamp")
    text, _ = _comment(data, "feedbackComment")
    removed = text == REMOVED
    reply, reply_at = _comment(data, "replyComment")
    followup, _ = _comment(data, "followupComment")
    state = data.get("feedbackState")
    if state is not None and not isinstance(state, str):
        raise _bad("feedbackState is not a string")
    withdrawn = state is not None and "WITHDRAWN" in state.upper()
    body, cut = truncate(None if removed else text)
    attributes: dict[str, AttributeValue] = {"comment_type": comment_type}
    if removed:
        attributes["removed_per_policy"] = True
    if followup:
        attributes["followup"] = followup[:2000]
    summary = data.get("orderLineItemSummary")
    if isinstance(summary, dict):
        for key, name in (("listingId", "product"), ("orderLineItemId", "order")):
            if isinstance(summary.get(key), str):
                attributes[name] = summary[key][:200]
    if cut:
        attributes["truncated"] = True
    event_type: EventType = "review.deleted" if withdrawn else "review.created"
    version = "withdrawn" if withdrawn else "created"
    return ReviewEvent(
        event_id=deterministic_id(PLATFORM, source_id, feedback_id, event_type, version),
        event_type=event_type,
        merchant_id=merchant_id,
        platform=PLATFORM,
        source_id=source_id,
        item_id=feedback_id,
        kind="review",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed_at),
        rating=COMMENT_TYPES[comment_type],
        rating_scale=STARS,
        # A follow-up is the buyer's own addition: it is part of what readers see, so part of the text.
        text=body if not followup else truncate(f"{body or ''}\nFollow-up: {followup}".strip())[0],
        merchant_reply=None if not reply else MerchantReply(truncate(reply)[0] or "", reply_at),
        attributes=attributes,
    )
