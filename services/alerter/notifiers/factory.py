"""Build notifiers from the `receivers` section of the config, with errors that name the bad key."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.alerter.notifiers import pagerduty
from services.alerter.notifiers.alertmanager import DEFAULT_RESEND_SECONDS, AlertmanagerNotifier
from services.alerter.notifiers.base import Notifier
from services.alerter.notifiers.email import EmailNotifier
from services.alerter.notifiers.file import FileNotifier
from services.alerter.notifiers.log import LogNotifier
from services.alerter.notifiers.opsgenie import DEFAULT_API_URL, OpsgenieNotifier
from services.alerter.notifiers.pagerduty import PagerDutyNotifier
from services.alerter.notifiers.slack import SlackNotifier
from services.alerter.notifiers.webhook import DEFAULT_TIMEOUT_SECONDS, WebhookNotifier
from services.shared.config import ReceiverConfig
from services.shared.errors import ConfigError
from services.shared.settings import Secret
from services.shared.timeutil import Clock

# Per type: the keys a receiver may set (settings and `*_secret` keys alike). Anything else is a typo.
ALLOWED_KEYS: Mapping[str, frozenset[str]] = {
    "webhook": frozenset({"url", "timeout_seconds", "signing_secret"}),
    "file": frozenset({"path"}),
    "log": frozenset(),
    "slack": frozenset({"url_secret", "timeout_seconds"}),
    # inbound_secret: verifies the acknowledgements they send back (services/alerter/inbound_api.py).
    "pagerduty": frozenset({"routing_key_secret", "url", "timeout_seconds", "inbound_secret"}),
    "opsgenie": frozenset({"api_key_secret", "api_url", "timeout_seconds", "inbound_secret"}),
    "alertmanager": frozenset({"url", "resend_interval_seconds", "timeout_seconds"}),
    "email": frozenset(
        {"host", "port", "from", "to", "starttls", "username", "password_secret", "ca_file", "timeout_seconds"}
    ),
}

# Keys every receiver may set: `max_per_hour` caps its pages (the pipeline's rate-cap stage reads it).
COMMON_KEYS = frozenset({"max_per_hour"})

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
        for key in sorted({*receiver.settings, *receiver.secrets} - ALLOWED_KEYS[receiver.type] - COMMON_KEYS):
            raise ConfigError(f"{where}.{key}: not a setting of a {receiver.type} receiver")
        cap = receiver.settings.get("max_per_hour")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigError(f"{where}.max_per_hour: expected a positive integer")
        notifiers[receiver.name] = builder(receiver, where, clock)
    return notifiers


def _webhook(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    url = _required_url(receiver.settings, "url", where, receiver.type)
    return WebhookNotifier(
        receiver.name,
        url,
        timeout_seconds=_seconds(receiver.settings, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS),
        signing_secret=receiver.secrets.get("signing_secret"),
        clock=clock,
    )


def _file(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    path = _required_text(receiver.settings, "path", where, receiver.type)
    return FileNotifier(receiver.name, Path(path), clock=clock)


def _log(receiver: ReceiverConfig, _where: str, _clock: Clock | None) -> Notifier:
    return LogNotifier(receiver.name)


def _slack(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    url = _required_secret(receiver, "url_secret", where)
    _check_url(url.reveal(), f"{where}.url_secret")
    timeout = _seconds(receiver.settings, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS)
    return SlackNotifier(receiver.name, url, timeout_seconds=timeout, clock=clock)


def _pagerduty(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    key = _required_secret(receiver, "routing_key_secret", where)
    url = receiver.settings.get("url", pagerduty.DEFAULT_URL)
    _check_url(url, f"{where}.url")
    timeout = _seconds(receiver.settings, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS)
    return PagerDutyNotifier(receiver.name, key, url=url, timeout_seconds=timeout, clock=clock)


def _opsgenie(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    key = _required_secret(receiver, "api_key_secret", where)
    url = receiver.settings.get("api_url", DEFAULT_API_URL)
    _check_url(url, f"{where}.api_url")
    timeout = _seconds(receiver.settings, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS)
    return OpsgenieNotifier(receiver.name, key, api_url=url, timeout_seconds=timeout, clock=clock)


def _alertmanager(receiver: ReceiverConfig, where: str, clock: Clock | None) -> Notifier:
    url = _required_url(receiver.settings, "url", where, receiver.type)
    return AlertmanagerNotifier(
        receiver.name,
        url,
        resend_interval_seconds=_seconds(receiver.settings, "resend_interval_seconds", where, DEFAULT_RESEND_SECONDS),
        timeout_seconds=_seconds(receiver.settings, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS),
        clock=clock,
    )


def _email(receiver: ReceiverConfig, where: str, _clock: Clock | None) -> Notifier:
    settings = receiver.settings
    host = _required_text(settings, "host", where, receiver.type)
    port = settings.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{where}.port: expected a TCP port number")
    sender = _required_text(settings, "from", where, receiver.type)
    to = settings.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError(f"{where}.to: expected one or more e-mail addresses")
    starttls = settings.get("starttls", True)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{where}.starttls: expected true or false")
    username = settings.get("username")
    if username is not None and not isinstance(username, str):
        raise ConfigError(f"{where}.username: expected a string")
    ca_file = settings.get("ca_file")
    if ca_file is not None and not isinstance(ca_file, str):
        raise ConfigError(f"{where}.ca_file: expected a path")
    return EmailNotifier(
        receiver.name,
        host=host,
        port=port,
        sender=sender,
        recipients=to,
        starttls=starttls,
        username=username,
        password=receiver.secrets.get("password_secret"),
        ca_file=ca_file,
        timeout_seconds=_seconds(settings, "timeout_seconds", where, 15.0),
    )


def _required_secret(receiver: ReceiverConfig, key: str, where: str) -> Secret:
    value = receiver.secrets.get(key)
    if value is None or not value.reveal().strip():
        raise ConfigError(f"{where}.{key}: required for a {receiver.type} receiver")
    return value


def _check_url(url: object, where: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc:
        # Echo only the scheme: the URL itself may carry a token (Slack-style webhook URLs do).
        scheme = parts.scheme if parts is not None else type(url).__name__
        raise ConfigError(f"{where}: expected an http:// or https:// URL (got scheme {scheme!r})")


def _required_url(settings: Mapping[str, Any], key: str, where: str, kind: str) -> str:
    url = _required_text(settings, key, where, kind)
    _check_url(url, f"{where}.{key}")
    return url


def _seconds(settings: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}.{key}: expected a positive number of seconds")
    return float(value)


def _required_text(settings: Mapping[str, Any], key: str, where: str, kind: str) -> str:
    value = settings.get(key)
    if value is None:
        raise ConfigError(f"{where}.{key}: required for a {kind} receiver")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: expected a non-empty string")
    return value


_BUILDERS: Mapping[str, _Builder] = {
    "webhook": _webhook,
    "file": _file,
    "log": _log,
    "slack": _slack,
    "pagerduty": _pagerduty,
    "opsgenie": _opsgenie,
    "alertmanager": _alertmanager,
    "email": _email,
}
