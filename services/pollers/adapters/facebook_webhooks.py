"""Facebook Page `feed` webhooks: subscription handshake, X-Hub-Signature-256 checks, changes -> Stormwatch items.

A webhook source on platform `facebook` (`options: {mode: webhook}`) needs `credentials.app_secret` (Meta signs
each delivery's raw body with it: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`) and
`credentials.verify_token` (echoed back by the `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`
handshake). Deliveries carry no timestamp in the signature, and Meta re-sends a failed delivery with the same
body, so a signature is remembered only once its delivery was accepted; an accepted signature seen again within
two days is a replay.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.shared.config import SourceConfig
from services.shared.errors import ConfigError
from services.shared.timeutil import format_rfc3339

SIGNATURE_HEADER = "X-Hub-Signature-256"
REPLAY_WINDOW_SECONDS = 48 * 3600.0
_REMEMBERED = 100_000
# feed change verbs -> Stormwatch item events
_VERBS = {
    "add": "created", "edited": "updated", "edit": "updated", "update": "updated",
    "remove": "deleted", "delete": "deleted", "hide": "deleted",
}  # fmt: skip


def hub_credentials(source: SourceConfig) -> tuple[str, str]:
    """(app_secret, verify_token) of a Facebook webhook source; ConfigError naming the missing key."""
    found = []
    for key in ("app_secret", "verify_token"):
        value = source.credentials.get(key)
        if value is None or not value.reveal():
            raise ConfigError(f"{source.key_path}.credentials.{key}: required for a Facebook webhook source")
        found.append(value.reveal())
    return found[0], found[1]


def hub_signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class HubVerifier:
    """Checks X-Hub-Signature-256 in constant time and remembers accepted signatures to refuse replays."""

    def __init__(self) -> None:
        self._accepted: OrderedDict[str, float] = OrderedDict()

    def refusal(self, app_secret: str, header: str, body: bytes, now: float) -> str | None:
        """None for an authentic delivery not accepted before, else why it is refused."""
        if not header:
            return "unsigned"
        if not header.isascii() or not hmac.compare_digest(hub_signature(app_secret, body), header):
            return "bad_signature"
        while self._accepted and (
            next(iter(self._accepted.values())) < now - REPLAY_WINDOW_SECONDS or len(self._accepted) > _REMEMBERED
        ):
            self._accepted.popitem(last=False)
        return "replay" if header in self._accepted else None

    def accepted(self, header: str, now: float) -> None:
        self._accepted[header] = now


def challenge_answer(query: Mapping[str, str], verify_token: str) -> str | None:
    """The `hub.challenge` to echo when the subscription handshake names our verify token, else None."""
    token = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not token.isascii():
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    challenge = query.get("hub.challenge", "")
    return challenge if challenge and len(challenge) <= 200 else None


def feed_items(payload: Mapping[str, Any]) -> list[Any]:
    """The comment and post changes of a `{"object": "page", "entry": [...]}` delivery, in Stormwatch's item format.

    Reactions and shares are counted by the poller's snapshots, so they are skipped here; a change this cannot read
    passes on as it is and is dead-lettered by the item normaliser.
    """
    items: list[Any] = []
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else [entries]:
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        for change in changes if isinstance(changes, list) else [entry]:
            value = change.get("value") if isinstance(change, Mapping) else None
            if not isinstance(change, Mapping) or change.get("field") != "feed" or not isinstance(value, Mapping):
                items.append(change)
                continue
            kind = value.get("item")
            if kind == "comment":
                items.append(_comment(value))
            elif kind in {"post", "status"}:
                items.append(_post(value))
    return items


def _when(value: Any) -> Any:
    """Graph sends created_time as epoch seconds in webhooks; anything else passes on (and is judged later)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return format_rfc3339(datetime.fromtimestamp(value, tz=UTC))
    return value


def _author(value: Mapping[str, Any]) -> Any:
    author = value.get("from")
    return author.get("name") if isinstance(author, Mapping) else None


def _comment(value: Mapping[str, Any]) -> dict[str, Any]:
    post_id = value.get("post_id")
    return {
        "id": value.get("comment_id"),
        "created_at": _when(value.get("created_time")),
        "text": value.get("message"),
        "author": _author(value),
        "kind": "comment",
        "thread_id": post_id,
        "parent_id": value.get("parent_id") or post_id,
        "event": _VERBS.get(str(value.get("verb")), str(value.get("verb"))),
    }


def _post(value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": value.get("post_id"),
        "created_at": _when(value.get("created_time")),
        "text": value.get("message"),
        "author": _author(value),
        "kind": "post",
        "thread_id": value.get("post_id"),
        "event": _VERBS.get(str(value.get("verb")), str(value.get("verb"))),
    }
