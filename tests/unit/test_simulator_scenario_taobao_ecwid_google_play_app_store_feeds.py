"""Scenario files describe merchants on Taobao, Ecwid, Google Play, the App Store and in blog feeds; sources for
those platforms are validated with errors naming the bad key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.pollers.adapters.registry import build_adapter
from services.shared import metrics
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError
from services.shared.settings import Secret
from services.simulator.clock import SimClock
from services.simulator.ebay import EbayApi
from services.simulator.ecwid import EcwidApi
from services.simulator.google_play import GooglePlayApi
from services.simulator.scenario import AppStoreApp, EcwidStore, NewsFeed, PlayApp, TaobaoShop, parse_scenario


def test_scenario_yaml_profiles_for_the_five_platforms() -> None:
    """Each platform block becomes its profile; a bad id is a ConfigError naming the key."""
    merchant = {
        "id": "m",
        "trustpilot": {"business_unit_id": "b"},
        "taobao": {"seller_nick": "m_tmall"},
        "ecwid": {"store_id": "4040", "baseline_per_hour": 1},
        "google_play": {"package_name": "com.m.app"},
        "app_store": {"app_id": "123"},
        "feeds": {"slug": "m-blog"},
    }
    profile = parse_scenario({"merchants": [merchant]}).merchants[0]
    assert profile.taobao == TaobaoShop("m_tmall") and profile.ecwid == EcwidStore("4040", 1)
    assert profile.google_play == PlayApp("com.m.app") and profile.app_store == AppStoreApp("123")
    assert profile.feeds == NewsFeed("m-blog")
    with pytest.raises(ConfigError, match=r"merchants\[0\]\.app_store\.app_id"):
        parse_scenario({"merchants": [{**merchant, "app_store": {"app_id": "abc"}}]})


def _source(platform: str, options: dict[str, Any], credentials: dict[str, str] | None = None) -> SourceConfig:
    return SourceConfig(
        id=f"m/{platform}",
        merchant_id="m",
        platform=platform,
        options=options,
        credentials={k: Secret(v) for k, v in (credentials or {}).items()},
    )


@pytest.mark.parametrize(
    ("source", "key"),
    [
        (_source("taobao", {}, {"app_key": "k", "app_secret": "s"}), "credentials.session"),
        (_source("taobao", {"page_size": 151}, {"app_key": "k", "app_secret": "s", "session": "x"}), "page_size"),
        (
            _source("taobao", {"sign_method": "sha1"}, {"app_key": "k", "app_secret": "s", "session": "x"}),
            "sign_method",
        ),
        (_source("ecwid", {"store_id": "abc"}, {"token": "t"}), "options.store_id"),
        (_source("ecwid", {"store_id": "1"}), "credentials.token"),
        (_source("google_play", {"package_name": "a.b"}, {"service_account_json": "{}"}), "service_account_json"),
        (_source("google_play", {}), "options.package_name"),
        (
            _source("app_store", {"app_id": "1"}, {"issuer_id": "i", "key_id": "k", "private_key": "nope"}),
            "private_key",
        ),
        (_source("app_store", {"app_id": "x"}), "options.app_id"),
        (_source("rss", {"url": "ftp://x", "terms": ["m"]}), "options.url"),
        (_source("rss", {"url": "https://x.example/feed", "terms": []}), "options.terms"),
        (_source("rss", {"url": "https://x.example/feed", "terms": ["m"], "colour": "red"}), "options.colour"),
    ],
)
def test_bad_source_configuration_names_the_key(source: SourceConfig, key: str) -> None:
    """Missing credentials, bad ids, out-of-range options and unknown options fail at start-up, naming the key."""
    with pytest.raises(ConfigError, match=key):
        build_adapter(source, 0)


def test_google_play_replies_and_rating_edits_are_scenario_knobs() -> None:
    """`google_play.reply_share` / `edit_share` set how many reviews the developer answers and how many answered
    negative ones the author then raises to five stars: none with 0, every one (once old enough) with 1."""

    def states(reply_share: float, edit_share: float) -> list[Any]:
        play = {"package_name": "com.m.app", "baseline_per_hour": 20, "reply_share": reply_share}
        document = {
            "origin": "2026-11-02T12:00:00Z",
            "history_hours": 24,
            "merchants": [
                {"id": "m", "trustpilot": {"business_unit_id": "b"}, "google_play": {**play, "edit_share": edit_share}}
            ],
        }
        scenario = parse_scenario(document)
        requests = metrics.counter(CollectorRegistry(), "sim_requests_total", "test", ["platform", "status"])
        api = GooglePlayApi(scenario, SimClock.manual(scenario.origin), requests)
        old = scenario.origin - timedelta(hours=12)  # long enough ago to be answered and edited
        return [s for s in api.visible("m", scenario.origin) if s.review.created_at < old and not s.review.malformed]

    silent = states(0.0, 0.0)
    assert silent and all(s.reply_at is None and s.stars == s.review.stars for s in silent)
    busy = states(1.0, 1.0)
    assert all(s.reply_at is not None for s in busy)
    negatives = [s for s in busy if s.review.stars <= 2]
    assert negatives and all(s.stars == 5 for s in negatives)
    assert parse_scenario(
        {"merchants": [{"id": "m", "trustpilot": {"business_unit_id": "b"}, "google_play": {"package_name": "p"}}]}
    ).merchants[0].google_play == PlayApp("p", reply_share=0.5, edit_share=0.6)
    with pytest.raises(ConfigError, match=r"google_play\.reply_share"):
        parse_scenario(
            {
                "merchants": [
                    {
                        "id": "m",
                        "trustpilot": {"business_unit_id": "b"},
                        "google_play": {"package_name": "p", "reply_share": 2},
                    }
                ]
            }
        )


def _scenario_with(**sections: Any) -> Any:
    merchant = {"id": "m", "trustpilot": {"business_unit_id": "b"}, **sections}
    return parse_scenario({"origin": "2026-11-02T12:00:00Z", "history_hours": 48, "merchants": [merchant]})


def _requests() -> Any:
    return metrics.counter(CollectorRegistry(), "sim_requests_total", "test", ["platform", "status"])


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_ecwid_author_edits_are_a_scenario_knob(share: float) -> None:
    """`ecwid.edit_share`: with 0 no review is ever edited, with 1 every intact review older than the edit delay is."""
    scenario = _scenario_with(ecwid={"store_id": "4040", "baseline_per_hour": 10, "edit_share": share})
    api = EcwidApi(scenario, SimClock.manual(scenario.origin), _requests())
    old = [s for s in api.visible("m", scenario.origin) if s.review.created_at < scenario.origin - timedelta(hours=4)]
    intact = [s for s in old if not s.review.malformed]
    assert intact
    assert all((s.updated_at != s.review.created_at) is (share == 1.0) for s in intact)


@pytest.mark.parametrize(("reply_share", "withdraw_share"), [(0.0, 0.0), (1.0, 1.0)])
def test_ebay_replies_and_withdrawals_are_scenario_knobs(reply_share: float, withdraw_share: float) -> None:
    """`ebay.reply_share` / `withdraw_share`: no seller replies (so no follow-ups or withdrawals) with 0; with 1 every
    old enough negative is answered, and every followed-up one withdrawn."""
    seller = {"user_id": "m_seller", "baseline_per_hour": 10, "reply_share": reply_share}
    scenario = _scenario_with(ebay={**seller, "withdraw_share": withdraw_share})
    api = EbayApi(scenario, SimClock.manual(scenario.origin), _requests())
    old = scenario.origin - timedelta(hours=8)
    negatives = [s for s in api.visible("m", scenario.origin) if s.review.stars <= 2 and s.review.created_at < old]
    assert negatives
    if reply_share == 0.0:
        assert all(s.reply_at is None and not s.withdrawn for s in negatives)
    else:
        assert all(s.reply_at is not None for s in negatives)
        assert all(s.withdrawn for s in negatives if s.followup_at is not None)
        assert any(s.withdrawn for s in negatives)
