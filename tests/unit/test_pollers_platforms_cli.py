"""`stormwatch platforms` lists every platform with what it sees, adapters as supported, Amazon as unsupported."""

from __future__ import annotations

import argparse

import orjson
import pytest

from services.pollers.adapters.registry import ADAPTERS
from services.pollers.platforms import CATALOGUE, PUSH_ONLY
from services.pollers.platforms_cli import add_arguments, run


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_every_adapter_is_in_the_catalogue_as_supported() -> None:
    """No adapter is missing from the listing, and only adapters are listed as supported."""
    supported = {info.platform for info in CATALOGUE if info.status == "supported"}
    assert supported == set(ADAPTERS) | PUSH_ONLY


def test_json_listing_names_amazon_unsupported_with_reason(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints every entry; Amazon is unsupported and says why; Yelp says it sees three excerpts."""
    assert run(_args("--json")) == 0
    entries = {e["platform"]: e for e in orjson.loads(capsys.readouterr().out)}
    assert entries["amazon"]["status"] == "unsupported" and "no API" in entries["amazon"]["unsupported_reason"]
    assert "three" in entries["yelp"]["sees"]


def test_text_listing_filters_by_status(capsys: pytest.CaptureFixture[str]) -> None:
    """--status supported prints only the platforms with a poller."""
    assert run(_args("--status", "supported")) == 0
    out = capsys.readouterr().out
    assert "google_business" in out and "trustpilot" in out and "amazon" not in out


def test_platforms_without_an_api_are_listed_with_how_to_feed_them(capsys: pytest.CaptureFixture[str]) -> None:
    """JD, Pinduoduo and HomeAdvisor each have an entry saying they come in through import or signed webhooks and
    what that cannot see; none of them has a poller."""
    assert run(_args("--json")) == 0
    entries = {e["platform"]: e for e in orjson.loads(capsys.readouterr().out)}
    for platform in ("jd", "pinduoduo", "homeadvisor"):
        entry = entries[platform]
        assert entry["status"] == "supported" and platform not in ADAPTERS
        assert "stormwatch import" in entry["api"] and "/webhooks/" in entry["api"]
        assert "not exported or pushed" in entry["cannot_see"]
