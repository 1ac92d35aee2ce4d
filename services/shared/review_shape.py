"""A fast yes for the usual review event: the detector validates every event, and the generic validator is slow.

fastjsonschema's code for `schemas/review-event.v1.json` spends most of its time raising and catching exceptions
inside the `oneOf` branches of the nullable objects, on valid input too (about a fifth of the detector's loop).
`plainly_valid_review` checks the same constraints directly. It is sound but not complete: True only when the
schema accepts the event; False means "not sure", and the caller then asks the schema, which decides and words
the error. So a rare shape (a float view count, a 60th second) costs the slow path, never a wrong answer.
`tests/unit/test_review_shape.py` holds it to that against the schema on generated events.
"""

from __future__ import annotations

import re
from typing import Any

from fastjsonschema.draft04 import CodeGeneratorDraft04

# The schema's own `date-time` check, taken from the validator the schema is compiled with, so the two cannot drift.
_DATE_TIME = re.compile(CodeGeneratorDraft04.FORMAT_REGEXS["date-time"])
_EVENT_ID = re.compile(r"[0-9a-f]{32}")
_PLATFORM = re.compile(r"[a-z][a-z0-9_]{0,39}")

_KEYS = frozenset(
    {
        "schema", "event_id", "event_type", "merchant_id", "platform", "source_id", "item_id", "thread_id",
        "parent_id", "kind", "rating", "rating_scale", "title", "text", "language", "author", "url",
        "created_at", "observed_at", "engagement", "merchant_reply", "attributes",
    }
)  # fmt: skip
_EVENT_TYPES = frozenset({"review.created", "review.updated", "review.deleted", "thread.snapshot"})
_KINDS = frozenset({"review", "comment", "post", "mention"})
_SCALE_KEYS = frozenset({"min", "max"})
_ENGAGEMENT_KEYS = frozenset({"views", "likes", "shares", "replies"})
_REPLY_KEYS = frozenset({"text", "created_at"})
# (field, most characters) of the optional strings.
_OPTIONAL_TEXTS = (
    ("thread_id", 500),
    ("parent_id", 500),
    ("title", 2000),
    ("text", 20000),
    ("language", 35),
    ("author", 500),
    ("url", 2000),
)


def plainly_valid_review(data: dict[str, Any]) -> bool:
    """True when `data` certainly conforms to review-event.v1; False when the schema must decide."""
    if data.keys() != _KEYS or data["schema"] != "review-event.v1":
        return False
    event_id = data["event_id"]
    platform = data["platform"]
    event_type = data["event_type"]
    kind = data["kind"]
    if not (
        type(event_id) is str
        and _EVENT_ID.fullmatch(event_id)
        and type(platform) is str
        and _PLATFORM.fullmatch(platform)
        and type(event_type) is str  # before the set lookups: a list or an object is not hashable
        and event_type in _EVENT_TYPES
        and type(kind) is str
        and kind in _KINDS
        and _bounded(data["merchant_id"], 200)
        and _bounded(data["source_id"], 200)
        and _bounded(data["item_id"], 500)
        and _timestamp(data["created_at"])
        and _timestamp(data["observed_at"])
    ):
        return False
    for key, longest in _OPTIONAL_TEXTS:
        value = data[key]
        if value is not None and not (type(value) is str and len(value) <= longest):
            return False
    rating = data["rating"]
    if rating is not None and type(rating) not in (int, float):
        return False
    return (
        _scale_ok(data["rating_scale"])
        and _engagement_ok(data["engagement"])
        and _reply_ok(data["merchant_reply"])
        and _attributes_ok(data["attributes"])
    )


def _bounded(value: Any, longest: int) -> bool:
    return type(value) is str and 1 <= len(value) <= longest


def _timestamp(value: Any) -> bool:
    return type(value) is str and _DATE_TIME.match(value) is not None


def _scale_ok(scale: Any) -> bool:
    if scale is None:
        return True
    return (
        type(scale) is dict
        and scale.keys() == _SCALE_KEYS
        and type(scale["min"]) in (int, float)
        and type(scale["max"]) in (int, float)
    )


def _engagement_ok(engagement: Any) -> bool:
    if engagement is None:
        return True
    if type(engagement) is not dict or engagement.keys() != _ENGAGEMENT_KEYS:
        return False
    return all(count is None or (type(count) is int and count >= 0) for count in engagement.values())


def _reply_ok(reply: Any) -> bool:
    if reply is None:
        return True
    if type(reply) is not dict or reply.keys() != _REPLY_KEYS:
        return False
    text = reply["text"]
    created = reply["created_at"]
    return type(text) is str and len(text) <= 20000 and (created is None or _timestamp(created))


def _attributes_ok(attributes: Any) -> bool:
    if type(attributes) is not dict:
        return False
    for value in attributes.values():
        if value is None or type(value) in (str, int, float, bool):
            continue
        if type(value) is list and all(type(item) is str for item in value):
            continue
        return False
    return True
