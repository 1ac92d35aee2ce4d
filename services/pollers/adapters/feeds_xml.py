"""RSS 2.0 and Atom 1.0 parsed safely with the standard library: DTDs and entity declarations are refused outright
(no XXE, no billion laughs), then ElementTree reads a document that can only use the five predefined entities."""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import asdict, dataclass
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class FeedRejected(Exception):
    """The document is not a feed we read: a DTD or entity declaration, not well-formed, too large, not RSS/Atom."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item / entry with the fields a mention needs, as text (None when absent)."""

    format: str  # rss | atom
    id: str | None
    title: str | None
    link: str | None
    text: str | None
    author: str | None
    published: str | None
    updated: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _refuse(*_args: Any) -> None:
    raise FeedRejected("the document declares a DTD or entities (refused: XXE / entity expansion)")


def _refuse_external(*_args: Any) -> int:
    raise FeedRejected("the document references an external entity (refused: XXE)")


def check_safe(document: bytes) -> None:
    """A streaming expat pass that stops at any DOCTYPE, entity declaration or external entity reference."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise FeedRejected(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse_external
    try:
        parser.Parse(document, True)
    except xml.parsers.expat.ExpatError as exc:
        raise FeedRejected(f"not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)})") from None


def parse_feed(document: bytes) -> list[FeedEntry]:
    """The entries of an RSS 2.0 or Atom document, in document order; FeedRejected for anything else."""
    check_safe(document)
    try:
        root = ET.fromstring(document)  # noqa: S314 - check_safe refused every DTD and entity declaration first
    except ET.ParseError as exc:
        raise FeedRejected(f"not well-formed XML ({exc})") from None
    if root.tag == "rss":
        channel = root.find("channel")
        return [_rss_item(item) for item in (channel.findall("item") if channel is not None else [])]
    if root.tag == f"{ATOM}feed":
        return [_atom_entry(entry) for entry in root.findall(f"{ATOM}entry")]
    raise FeedRejected(f"root element {root.tag[:60]!r} is neither rss nor an Atom feed")


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _rss_item(item: ET.Element) -> FeedEntry:
    body = _text(item.find(f"{CONTENT}encoded")) or _text(item.find("description"))
    return FeedEntry(
        format="rss",
        id=_text(item.find("guid")),
        title=_text(item.find("title")),
        link=_text(item.find("link")),
        text=body,
        author=_text(item.find(f"{DC}creator")) or _text(item.find("author")),
        published=_text(item.find("pubDate")) or _text(item.find(f"{DC}date")),
        updated=None,
    )


def _atom_entry(entry: ET.Element) -> FeedEntry:
    link = None
    for candidate in entry.findall(f"{ATOM}link"):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            link = candidate.get("href")
            break
    author = entry.find(f"{ATOM}author")
    return FeedEntry(
        format="atom",
        id=_text(entry.find(f"{ATOM}id")),
        title=_text(entry.find(f"{ATOM}title")),
        link=link,
        text=_text(entry.find(f"{ATOM}content")) or _text(entry.find(f"{ATOM}summary")),
        author=_text(author.find(f"{ATOM}name")) if author is not None else None,
        published=_text(entry.find(f"{ATOM}published")),
        updated=_text(entry.find(f"{ATOM}updated")),
    )
