"""Escaping untrusted text (review titles, summaries) for each medium, so that nobody is pinged and nothing renders."""

from __future__ import annotations

import html
import re

# Slack's mention syntax: <!channel>, <!here>, <!everyone>, <!subteam^ID>, <@U123>, <#C123>. Escaping < and >
# already makes them literal text; the plain-word forms (@here, @channel, @everyone) are broken with a zero-width
# joiner so that Slack's legacy parsing (and people's eyes) do not treat them as mentions.
_ZERO_WIDTH = "\u2060"
# No trailing \b: in "@here_" the underscore is a word character, so \b did not match and, once the mrkdwn pass
# put a word joiner before "_", "@here" stood whole (found by the Slack injection property test).
_BARE_MENTION = re.compile(r"@(here|channel|everyone)", re.IGNORECASE)
# The characters Slack's mrkdwn formats with (*bold*, _italic_, ~strike~, `code`): a zero-width word joiner before
# each removes the word boundary Slack needs, so they show literally.
_MRKDWN = re.compile(r"([*_~`])")
_MAX_SLACK_TEXT = 2900  # a section block's text is limited to 3000 characters


def slack_text(text: str, *, limit: int = _MAX_SLACK_TEXT) -> str:
    """Text safe inside Slack mrkdwn: &, <, > escaped as Slack requires, mentions and formatting neutralised."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _BARE_MENTION.sub(lambda m: "@" + _ZERO_WIDTH + m.group(1), escaped)
    escaped = _MRKDWN.sub(_ZERO_WIDTH + r"\1", escaped)
    return truncate(escaped, limit)


def slack_plain(text: str, *, limit: int = 150) -> str:
    """Text for Slack `plain_text` objects and the notification fallback, flattened to one line: the fallback
    `text` is parsed as mrkdwn, so it gets the same treatment as `slack_text`."""
    return slack_text(single_line(text, limit), limit=limit)


def html_text(text: str) -> str:
    """HTML-escaped text with line breaks kept: a review's `<script>` renders as text."""
    return html.escape(text, quote=True).replace("\n", "<br>\n")


def single_line(text: str, limit: int) -> str:
    """Control characters and newlines collapsed to spaces (for summaries, subjects and labels), then truncated."""
    cleaned = "".join(" " if (ord(ch) < 32 or ord(ch) == 127) else ch for ch in text)
    return truncate(" ".join(cleaned.split()), limit)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "\u2026"
