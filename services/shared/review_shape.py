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
# A narrower form of it that is cheaper to run: ASCII digits, `T`, `Z`, every day of every month but 29 February.
# Whatever it matches `_DATE_TIME` matches too (the same fields, each within its range there), so its yes is enough;
# on its no (a leap day, an offset, a lowercase `t`, another script's digits) `_DATE_TIME` decides.
_USUAL_DATE_TIME = re.compile(
    r"[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?Z"
)
_usual_date_time = _USUAL_DATE_TIME.fullmatch  # bound once: two calls per event
_HEX_DIGITS = "0123456789abcdef"  # event_id: 32 of these (`strip` leaves nothing), the pattern's ^[0-9a-f]{32}$
_PLATFORM = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Platform names that matched `_PLATFORM` (a handful in practice; bounded so odd input cannot grow it).
_platforms_seen: set[str] = set()
_PLATFORMS_REMEMBERED = 64

_KEY_COUNT = 22  # the schema's properties, all required (the lookups below name each once)
_EVENT_TYPES = frozenset({"review.created", "review.updated", "review.deleted", "thread.snapshot"})
_KINDS = frozenset({"review", "comment", "post", "mention"})
_ENGAGEMENT_KEYS = frozenset({"views", "likes", "shares", "replies"})
_REPLY_KEYS = frozenset({"text", "created_at"})


def plainly_valid_review(data: dict[str, Any]) -> bool:
    """True when `data` certainly conforms to review-event.v1; False when the schema must decide.

    Written out field by field (no helper calls on the usual path): the detector runs it on every event.
    """
    # Exactly the schema's keys: as many as it names, and each of them there (a missing one is a KeyError).
    if len(data) != _KEY_COUNT:
        return False
    try:
        schema = data["schema"]
        event_id = data["event_id"]
        platform = data["platform"]
        event_type = data["event_type"]
        kind = data["kind"]
        merchant_id = data["merchant_id"]
        source_id = data["source_id"]
        item_id = data["item_id"]
        created_at = data["created_at"]
        observed_at = data["observed_at"]
        thread_id = data["thread_id"]
        parent_id = data["parent_id"]
        title = data["title"]
        text = data["text"]
        language = data["language"]
        author = data["author"]
        url = data["url"]
        rating = data["rating"]
        scale = data["rating_scale"]
        engagement = data["engagement"]
        reply = data["merchant_reply"]
        attributes = data["attributes"]
    except KeyError:
        return False
    if not (
        schema == "review-event.v1"
        and type(event_id) is str
        and len(event_id) == 32
        and not event_id.strip(_HEX_DIGITS)
        and type(platform) is str  # before the set lookup: a list or an object is not hashable
    ):
        return False
    if platform not in _platforms_seen:
        if not _PLATFORM.fullmatch(platform):
            return False
        if len(_platforms_seen) < _PLATFORMS_REMEMBERED:
            _platforms_seen.add(platform)
    return bool(
        type(event_type) is str  # before the set lookups: a list or an object is not hashable
        and event_type in _EVENT_TYPES
        and type(kind) is str
        and kind in _KINDS
        and type(merchant_id) is str
        and 1 <= len(merchant_id) <= 200
        and type(source_id) is str
        and 1 <= len(source_id) <= 200
        and type(item_id) is str
        and 1 <= len(item_id) <= 500
        and type(created_at) is str
        and (_usual_date_time(created_at) or _DATE_TIME.match(created_at))
        and type(observed_at) is str
        and (_usual_date_time(observed_at) or _DATE_TIME.match(observed_at))
        # The optional strings: null, or a string of at most so many characters.
        and (thread_id is None or (type(thread_id) is str and len(thread_id) <= 500))
        and (parent_id is None or (type(parent_id) is str and len(parent_id) <= 500))
        and (title is None or (type(title) is str and len(title) <= 2000))
        and (text is None or (type(text) is str and len(text) <= 20000))
        and (language is None or (type(language) is str and len(language) <= 35))
        and (author is None or (type(author) is str and len(author) <= 500))
        and (url is None or (type(url) is str and len(url) <= 2000))
        and (rating is None or type(rating) is int or type(rating) is float)
        # Two keys, and both "min" and "max" hold numbers (a missing key's None is not one): exactly those keys.
        and (
            scale is None
            or (
                type(scale) is dict
                and len(scale) == 2
                and type(scale.get("min")) in (int, float)
                and type(scale.get("max")) in (int, float)
            )
        )
        and (engagement is None or _engagement_ok(engagement))
        and (reply is None or _reply_ok(reply))
        and type(attributes) is dict
        and (not attributes or _attributes_ok(attributes))
    )


def _timestamp(value: Any) -> bool:
    return type(value) is str and _DATE_TIME.match(value) is not None


def _engagement_ok(engagement: Any) -> bool:
    if type(engagement) is not dict or engagement.keys() != _ENGAGEMENT_KEYS:
        return False
    return all(count is None or (type(count) is int and count >= 0) for count in engagement.values())


def _reply_ok(reply: Any) -> bool:
    if type(reply) is not dict or reply.keys() != _REPLY_KEYS:
        return False
    text = reply["text"]
    created = reply["created_at"]
    return type(text) is str and len(text) <= 20000 and (created is None or _timestamp(created))


def _attributes_ok(attributes: dict[str, Any]) -> bool:
    for value in attributes.values():
        if value is None or type(value) in (str, int, float, bool):
            continue
        if type(value) is list and all(type(item) is str for item in value):
            continue
        return False
    return True
