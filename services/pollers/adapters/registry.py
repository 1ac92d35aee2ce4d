"""Which adapter serves which platform: explicit wiring, one entry per supported platform."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.pollers.adapters.app_store import AppStoreAdapter
from services.pollers.adapters.base import PlatformAdapter
from services.pollers.adapters.ebay import EbayAdapter
from services.pollers.adapters.ecwid import EcwidAdapter
from services.pollers.adapters.etsy import EtsyAdapter
from services.pollers.adapters.facebook import FacebookAdapter
from services.pollers.adapters.feeds import FeedAdapter
from services.pollers.adapters.google_business import GoogleBusinessAdapter
from services.pollers.adapters.google_play import GooglePlayAdapter
from services.pollers.adapters.taobao import TaobaoAdapter
from services.pollers.adapters.trustpilot import TrustpilotAdapter
from services.pollers.adapters.x_search import XSearchAdapter
from services.pollers.adapters.yelp import YelpAdapter
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError

AdapterFactory = Callable[[SourceConfig, str], PlatformAdapter]

ADAPTERS: Mapping[str, AdapterFactory] = {
    "trustpilot": TrustpilotAdapter.from_source,
    "google_business": GoogleBusinessAdapter.from_source,
    "etsy": EtsyAdapter.from_source,
    "yelp": YelpAdapter.from_source,
    "ebay": EbayAdapter.from_source,
    "taobao": TaobaoAdapter.from_source,
    "google_play": GooglePlayAdapter.from_source,
    "app_store": AppStoreAdapter.from_source,
    "ecwid": EcwidAdapter.from_source,
    "rss": FeedAdapter.from_source,
    "facebook": FacebookAdapter.from_source,
    "x": XSearchAdapter.from_source,
}


def build_adapter(source: SourceConfig, index: int) -> PlatformAdapter:
    """The adapter of `sources[index]`; ConfigError naming the key when the platform or its options are wrong."""
    factory = ADAPTERS.get(source.platform)
    if factory is None:
        supported = ", ".join(sorted(ADAPTERS))
        raise ConfigError(
            f"sources[{index}].platform: no poller for platform {source.platform!r} (supported: {supported})"
        )
    return factory(source, f"sources[{index}]")
