"""Fuzz the small parsers that read other parties' headers and timestamps: an answer or None/ValueError, no crash.

A platform's Retry-After or quota header, or a timestamp in a payload, is untrusted text: a parser that raises
anything else takes down the poll loop or the consumer that called it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from services.pollers.adapters.http import throttle_hint
from services.shared.retry_after import parse_retry_after
from services.shared.timeutil import parse_rfc3339
from tests.fuzz.strategies import FUZZ, hostile_text, timestamps

HEADER_VALUES = st.one_of(
    hostile_text,
    timestamps,
    st.sampled_from(["0", "1", "²", "٣", "-1", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT", "Mon, 99 Foo 0000 99:99:99"]),
    st.integers().map(str),
)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@FUZZ
@given(value=st.one_of(st.none(), HEADER_VALUES))
@example("²")  # str.isdigit() is True for it, float() refuses it: it used to raise
def test_retry_after_is_seconds_or_none(value: str | None) -> None:
    """Any Retry-After value is a non-negative number of seconds or None (ignored), never an exception."""
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or (seconds >= 0 and not math.isnan(seconds))


@FUZZ
@given(headers=st.dictionaries(
    st.sampled_from(["x-rate-limit-remaining", "x-rate-limit-reset", "x-remaining-today", "x-remaining-this-second",
                     "ratelimit-remaining", "ratelimit-resettime"]),
    st.one_of(st.just("0"), HEADER_VALUES),
))  # fmt: skip
def test_quota_headers_give_a_pause_or_none(headers: dict[str, str]) -> None:
    """Any combination of platform quota headers is a pause in seconds or None, never an exception."""
    pause = throttle_hint(headers, now=NOW.timestamp())
    assert pause is None or pause >= 0


@FUZZ
@given(text=st.one_of(timestamps, hostile_text))
@example("0001-01-01T00:00:00+01:00")  # before year 1 in UTC: used to raise OverflowError
@example("9999-12-31T23:59:59-01:00")
def test_rfc3339_parse_is_a_utc_moment_or_value_error(text: str) -> None:
    """Any text is an aware UTC datetime or ValueError (what every caller catches), never OverflowError."""
    try:
        moment = parse_rfc3339(text)
    except ValueError:
        return
    assert moment.tzinfo is UTC
