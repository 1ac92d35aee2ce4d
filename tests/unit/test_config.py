"""The YAML config loader accepts good files and names the bad key in every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.shared.config import load_config, parse_config
from services.shared.errors import ConfigError
from services.shared.settings import Secret, Settings


def good() -> dict[str, Any]:
    return {
        "merchants": [{"id": "shop", "timezone": "Europe/Berlin"}],
        "sources": [
            {
                "id": "shop/trustpilot",
                "merchant": "shop",
                "platform": "trustpilot",
                "base_url": "https://api.trustpilot.com",
                "credentials": {"api_key": {"env": "TP_KEY"}, "api_secret": "inline"},
                "options": {"business_unit_id": "bu1"},
            }
        ],
        "receivers": [{"name": "ops", "type": "webhook", "url": "http://x", "signing_secret": {"env": "HOOK"}}],
        "route": {"receivers": ["ops"], "routes": [{"match": {"severity": "critical"}, "receivers": ["ops"]}]},
    }


def test_good_config_parses_with_secrets_from_env() -> None:
    """Secrets given as {env: NAME} are read from the environment and never shown in reprs."""
    config = parse_config(good(), env={"TP_KEY": "k123", "HOOK": "h456"})
    source = config.sources[0]
    assert source.credentials["api_key"].reveal() == "k123"
    assert "k123" not in repr(source)
    assert config.receivers[0].secrets["signing_secret"] == Secret("h456")
    assert config.receivers[0].settings["url"] == "http://x"
    assert config.route.routes[0].match == {"severity": "critical"}


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["sources"][0].update(platform="Trust Pilot"), "sources[0].platform"),
        (lambda d: d["sources"][0].update(merchant="nobody"), "sources[0].merchant"),
        (lambda d: d["sources"][0].update(poll_interval_seconds=0), "sources[0].poll_interval_seconds"),
        (lambda d: d["merchants"][0].update(timezone="Mars/Olympus"), "merchants[0].timezone"),
        (lambda d: d["route"]["routes"][0].update(receivers=["nobody"]), "route.routes[0].receivers[0]"),
        (lambda d: d.update(unexpected=1), "(top level)"),
        (lambda d: d["receivers"].append({"name": "ops", "type": "file", "path": "x"}), "receivers[1].name"),
        (lambda d: d["sources"][0]["credentials"].update(api_key={"env": "MISSING"}), "sources[0].credentials.api_key"),
        (lambda d: d.update(detection={"preset": "paranoid"}), "detection.preset"),
    ],
)
def test_errors_name_the_bad_key(mutate: Any, where: str) -> None:
    """Each kind of mistake raises ConfigError whose message starts with the path of the offending key."""
    document = good()
    mutate(document)
    with pytest.raises(ConfigError) as caught:
        parse_config(document, env={"TP_KEY": "k", "HOOK": "h"})
    assert str(caught.value).startswith(where), str(caught.value)


def test_load_config_names_the_file(tmp_path: Path) -> None:
    """A YAML syntax error or a missing file is reported with the file's path."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("merchants: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_config(broken)
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        load_config(tmp_path / "missing.yaml")


def test_settings_from_env_and_secret_hiding() -> None:
    """Environment variables fill the settings; secrets stay hidden; a bad integer is a clear error."""
    settings = Settings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "DATABASE_URL": "postgresql://u:pw@h/db", "STORMWATCH_HTTP_PORT": "9"}
    )
    assert settings.kafka_bootstrap_servers == "k:9092"
    assert settings.http_port == 9
    assert "pw" not in repr(settings)
    assert settings.consumer_group("detector") == "stormwatch-detector"
    with pytest.raises(ConfigError, match="STORMWATCH_HTTP_PORT"):
        Settings.from_env({"STORMWATCH_HTTP_PORT": "eighty"})
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS"):
        Settings.from_env({}).require_kafka()
