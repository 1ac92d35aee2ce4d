"""The poller sources that read one simulated merchant: one config entry per platform its profile puts it on.

Used by the local demo (`stormwatch run`) and the pollers benchmark, so both poll exactly what the simulator serves.
Returns plain config dicts (the YAML shape), which `parse_config` validates like a user's file.
"""

from __future__ import annotations

from typing import Any

from services.simulator.app import SimulatorApp

_OAUTH_REFRESH = ("client_id", "client_secret", "refresh_token")


def simulated_sources(simulator: SimulatorApp, merchant_id: str, **common: Any) -> list[dict[str, Any]]:
    """Every source of `merchant_id` in the simulated world; `common` (poll interval, backfill, ...) goes into each.

    Ids are `{merchant}/{platform}`, the merchant and the simulator's base URL are set here.
    """
    profile = simulator.scenario.merchant(merchant_id)
    base: dict[str, Any] = {"merchant": merchant_id, "base_url": simulator.url, **common}

    def source(platform: str, **fields: Any) -> dict[str, Any]:
        return {"id": f"{merchant_id}/{platform}", "platform": platform, **base, **fields}

    api_key, api_secret = simulator.credentials_for(merchant_id)
    sources = [
        source(
            "trustpilot",
            credentials={"api_key": api_key, "api_secret": api_secret},
            options={"business_unit_id": profile.trustpilot.business_unit_id},
        )
    ]
    if profile.google is not None:
        credentials = dict(zip(_OAUTH_REFRESH, simulator.google_credentials_for(merchant_id), strict=True))
        options = {"account_id": profile.google.account_id, "location_id": profile.google.location_id}
        sources.append(source("google_business", credentials=credentials, options=options))
    if profile.etsy is not None:
        credentials = {"api_key": simulator.etsy_api_key_for(merchant_id)}
        sources.append(source("etsy", credentials=credentials, options={"shop_id": profile.etsy.shop_id}))
    if profile.ebay is not None:
        credentials = dict(zip(_OAUTH_REFRESH, simulator.ebay_credentials_for(merchant_id), strict=True))
        sources.append(source("ebay", credentials=credentials, options={"user_id": profile.ebay.user_id}))
    if profile.yelp is not None:
        sources.append(
            source(
                "yelp",
                timezone=profile.timezone,  # Yelp sends the business's local time without an offset
                credentials={"api_key": simulator.yelp_api_key_for(merchant_id)},
                options={"business_id": profile.yelp.business_id},
            )
        )
    if profile.facebook is not None:
        credentials = {"page_access_token": simulator.facebook_token_for(merchant_id)}
        sources.append(source("facebook", credentials=credentials, options={"page_id": profile.facebook.page_id}))
    if profile.x is not None:
        credentials = {"bearer_token": simulator.x_bearer_for(merchant_id)}
        sources.append(source("x", credentials=credentials, options={"query": f"@{profile.x.handle} -is:retweet"}))
    sources.extend(_marketplace_and_feed_sources(simulator, merchant_id, profile, source))
    return sources


def _marketplace_and_feed_sources(
    simulator: SimulatorApp, merchant_id: str, profile: Any, source: Any
) -> list[dict[str, Any]]:
    """Taobao, Ecwid, Google Play, the App Store and blog feeds."""
    sources: list[dict[str, Any]] = []
    if profile.taobao is not None:
        names = ("app_key", "app_secret", "session")
        sources.append(
            source(
                "taobao",
                timezone="Asia/Shanghai",  # TOP sends Beijing wall time without an offset
                credentials=dict(zip(names, simulator.taobao_credentials_for(merchant_id), strict=True)),
            )
        )
    if profile.ecwid is not None:
        credentials = {"token": simulator.ecwid_token_for(merchant_id)}
        sources.append(source("ecwid", credentials=credentials, options={"store_id": profile.ecwid.store_id}))
    if profile.google_play is not None:
        sources.append(
            source(
                "google_play",
                credentials={"service_account_json": simulator.google_play_service_account_for(merchant_id)},
                options={"package_name": profile.google_play.package_name, "rate_limit_per_second": 1.0},
            )
        )
    if profile.app_store is not None:
        names = ("issuer_id", "key_id", "private_key")
        sources.append(
            source(
                "app_store",
                credentials=dict(zip(names, simulator.app_store_credentials_for(merchant_id), strict=True)),
                options={"app_id": profile.app_store.app_id},
            )
        )
    if profile.feeds is not None:
        feed = source(
            "rss",
            options={
                "url": f"{simulator.url}/feeds/{profile.feeds.slug}.atom",
                "terms": [profile.name],
                "rate_limit_per_second": 1.0,
            },
        )
        del feed["base_url"]  # a feed source is its URL
        sources.append(feed)
    return sources
