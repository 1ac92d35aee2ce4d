"""Build notifiers from the `receivers` section of the config, with errors that name the bad key."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.alerter.notifiers.base import Notifier
from services.alerter.notifiers.file import FileNotifier
from services.alerter.notifiers.log import LogNotifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS, WebhookNotifier
from services.shared.config import ReceiverConfig
from services.shared.errors import ConfigError
from services.shared.timeutil import Clock

# Per type: the keys a receiver may set (settings and `*_secret` keys alike). Anything else is a typo.
ALLOWED_KEYS: Mapping[str, frozenset[str]] = {
    "webhook": frozenset({"url", "timeout_seconds", "signing_secret"}),
    "file": frozenset({"path"}),
    "log": frozenset(),
}

_Builder = Callable[[ReceiverConfig, str, Clock | None], Notifier]


def build_notifiers(receivers: Sequence[ReceiverConfig], *, clock: Clock | None = None) -> dict[str, Notifier]:
    """One notifier per receiver, by name. Raises ConfigError naming `receivers[i].<key>` on a bad receiver."""
    notifiers: dict[str, Notifier] = {}
    for index, receiver in enumerate(receivers):
        where = f"receivers[{index}]"
        builder = _BUILDERS.get(receiver.type)
        if builder is None:
            known = ", ".join(sorted(_BUILDERS))
            raise ConfigError(f"{where}.type: unknown receiver type {receiver.type!r} (known: {known})")
        for key in sorted({*receiver.settings, *receiver.secrets} - ALLOWED_KEYS[receiver.type]):
            raise ConfigError(f"{where}.{key}: not a setting of a {receiver.type} receiver")
        notifiers[receiver.name] = builder(receiver, where, clock)
    return notifiers


def _webhook(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    url = _required_text(receiver.settings, "url", where, receiver.type)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        # Echo only the scheme: the URL itself may carry a token (Slack-style webhook URLs do).
        raise ConfigError(f"{where}.url: expected an http:// or https:// URL (got scheme {parts.scheme!r})")
    timeout = receiver.settings.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{where}.timeout_seconds: expected a positive number of seconds")
    return WebhookNotifier(
        receiver.name,
        url,
        timeout_seconds=float(timeout),
        signing_secret=receiver.secrets.get("signing_secret"),
        clock=clock,
    )


def _file(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    path = _required_text(receiver.settings, "path", where, receiver.type)
    return FileNotifier(receiver.name, Path(path), clock=clock)


def _log(receiver: ReceiverConfig, _where: str, _clock: Clock | None) -> Notifier:
    return LogNotifier(receiver.name)


def _required_text(settings: Mapping[str, Any], key: str, where: str, kind: str) -> str:
    value = settings.get(key)
    if value is None:
        raise ConfigError(f"{where}.{key}: required for a {kind} receiver")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: expected a non-empty string")
    return value


_BUILDERS: Mapping[str, _Builder] = {"webhook": _webhook, "file": _file, "log": _log}
