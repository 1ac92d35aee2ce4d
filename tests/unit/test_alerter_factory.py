"""Building notifiers from the receivers config: types, settings, secrets, and errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from services.alerter.notifiers.factory import build_notifiers
from services.alerter.notifiers.file import FileNotifier
from services.alerter.notifiers.log import LogNotifier
from services.alerter.notifiers.webhook import WebhookNotifier
from services.shared.config import ReceiverConfig, parse_config
from services.shared.errors import ConfigError


def _receivers(*receivers: dict[str, Any]) -> tuple[ReceiverConfig, ...]:
    config = parse_config({"merchants": [{"id": "acme"}], "receivers": list(receivers)}, env={"HOOK_SECRET": "s"})
    return config.receivers


def test_each_type_builds_its_notifier() -> None:
    """webhook, file and log receivers become their notifiers, keyed by receiver name."""
    notifiers = build_notifiers(
        _receivers(
            {"name": "hook", "type": "webhook", "url": "https://hooks.test/x", "timeout_seconds": 3,
             "signing_secret": {"env": "HOOK_SECRET"}},
            {"name": "archive", "type": "file", "path": "/tmp/n.jsonl"},
            {"name": "console", "type": "log"},
        )
    )  # fmt: skip
    assert isinstance(notifiers["hook"], WebhookNotifier)
    assert isinstance(notifiers["archive"], FileNotifier)
    assert isinstance(notifiers["console"], LogNotifier)
    assert [n.type for n in notifiers.values()] == ["webhook", "file", "log"]


@pytest.mark.parametrize(
    ("receiver", "message"),
    [
        ({"name": "hook", "type": "webhook"}, "receivers[1].url: required for a webhook receiver"),
        ({"name": "hook", "type": "webhook", "url": "ftp://x"}, "receivers[1].url: expected an http"),
        ({"name": "hook", "type": "webhook", "url": "https://h.test", "timeout_seconds": 0}, "timeout_seconds"),
        ({"name": "hook", "type": "webhook", "url": "https://h.test", "uri": "typo"}, "receivers[1].uri: not a"),
        ({"name": "archive", "type": "file"}, "receivers[1].path: required for a file receiver"),
        ({"name": "console", "type": "log", "api_secret": "x"}, "receivers[1].api_secret: not a setting"),
    ],
)
def test_bad_receivers_name_the_key(receiver: dict[str, Any], message: str) -> None:
    """A missing, malformed or unknown setting fails with a ConfigError that names receivers[i].<key>."""
    with pytest.raises(ConfigError) as error:
        build_notifiers(_receivers({"name": "ok", "type": "log"}, receiver))
    assert message in str(error.value)


def test_errors_never_echo_a_webhook_url() -> None:
    """Webhook URLs can embed tokens, so a bad one is described by its scheme only."""
    with pytest.raises(ConfigError) as error:
        build_notifiers(_receivers({"name": "hook", "type": "webhook", "url": "ftp://host/T0K3N"}))
    assert "T0K3N" not in str(error.value)


def test_saas_and_email_types_build_their_notifiers() -> None:
    """slack, pagerduty, opsgenie, alertmanager and email receivers build, with their secrets from the environment."""
    notifiers = build_notifiers(
        _receivers(
            {"name": "chat", "type": "slack", "url_secret": "https://hooks.slack.test/services/T/B/X"},
            {"name": "pd", "type": "pagerduty", "routing_key_secret": "k" * 32},
            {"name": "og", "type": "opsgenie", "api_key_secret": "key", "api_url": "https://api.eu.opsgenie.com"},
            {"name": "am", "type": "alertmanager", "url": "http://am.test:9093", "resend_interval_seconds": 30},
            {"name": "mail", "type": "email", "host": "smtp.test", "port": 587, "from": "sw@x.test",
             "to": ["a@x.test"], "password_secret": "p", "username": "u"},
        )
    )  # fmt: skip
    assert [n.type for n in notifiers.values()] == ["slack", "pagerduty", "opsgenie", "alertmanager", "email"]


@pytest.mark.parametrize(
    ("receiver", "message"),
    [
        ({"name": "chat", "type": "slack"}, "receivers[0].url_secret: required"),
        ({"name": "pd", "type": "pagerduty"}, "receivers[0].routing_key_secret: required"),
        ({"name": "og", "type": "opsgenie", "api_key_secret": "k", "api_url": "ftp://x"}, "receivers[0].api_url"),
        ({"name": "am", "type": "alertmanager"}, "receivers[0].url: required"),
        ({"name": "mail", "type": "email", "host": "h", "from": "f@x", "to": ["nobody"]}, "receivers[0].to"),
        ({"name": "mail", "type": "email", "host": "h", "from": "f@x", "to": "a@x", "port": 0}, "receivers[0].port"),
    ],
)
def test_bad_saas_receivers_name_the_key(receiver: dict[str, Any], message: str) -> None:
    """Missing credentials, bad URLs and bad addresses are config errors naming the key."""
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_notifiers(_receivers(receiver))
