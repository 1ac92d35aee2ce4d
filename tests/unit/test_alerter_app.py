"""The alerter App's construction-time checks: nothing connects before configuration is known to be usable."""

from __future__ import annotations

import pytest

from services.alerter.app import AlerterApp
from services.shared import metrics
from services.shared.config import parse_config
from services.shared.errors import ConfigError
from services.shared.http import HttpServer
from services.shared.settings import Secret, Settings


def test_refuses_to_start_without_an_api_token() -> None:
    """Without STORMWATCH_API_TOKEN the API would be open or useless, so the alerter refuses to exist."""
    registry = metrics.new_registry()
    config = parse_config({"merchants": [{"id": "acme"}]}, env={})
    with pytest.raises(ConfigError, match="STORMWATCH_API_TOKEN is not set"):
        AlerterApp(Settings(), config, registry=registry, http=HttpServer(registry, port=0))


def test_a_bad_receiver_fails_construction_with_its_key() -> None:
    """Receiver settings are checked when the App is built, before any connection is opened."""
    registry = metrics.new_registry()
    config = parse_config({"merchants": [{"id": "acme"}], "receivers": [{"name": "hook", "type": "webhook"}]}, env={})
    with pytest.raises(ConfigError, match=r"receivers\[0\]\.url"):
        AlerterApp(Settings(api_token=Secret("t")), config, registry=registry, http=HttpServer(registry, port=0))
