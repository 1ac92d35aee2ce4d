"""The simulator App: serves the fake platform APIs of a scenario on its own port (it is the outside world)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from services.shared import metrics
from services.shared.lifecycle import Lifecycle
from services.simulator import (
    app_store,
    ebay,
    ecwid,
    etsy,
    facebook,
    feeds,
    google_business,
    google_play,
    taobao,
    trustpilot,
    x_search,
    yelp,
)
from services.simulator.clock import SimClock
from services.simulator.outages import PlatformApi, with_outages
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, generate_timeline


class SimulatorApp(Lifecycle):
    """Fake Trustpilot and Google Business Profile driven by a scenario and a simulated clock.

    Without an injected clock, the simulator's own clock stands at the scenario origin until the first reviews
    request, then runs at the scenario's speed: a poller that boots slowly still backfills the whole history.
    """

    name = "simulator"

    def __init__(
        self,
        scenario: Scenario,
        *,
        registry: CollectorRegistry,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: SimClock | None = None,
        extra_routes: Iterable[web.RouteDef] = (),
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self._host = host
        self._requested_port = port
        self._bound_port: int | None = None
        self._extra_routes = list(extra_routes)
        self._owns_clock = clock is None
        self._clock = clock or SimClock(scenario.origin, scenario.speed, running=False)
        self._timeline = generate_timeline(scenario)
        self._requests = requests = metrics.counter(
            registry,
            "stormwatch_simulator_requests_total",
            "Requests the platform simulator answered, by platform and HTTP status.",
            ["platform", "status"],
        )
        self.trustpilot = trustpilot.TrustpilotApi(
            scenario, self._timeline, self._clock, requests, on_reviews_request=self._first_call
        )
        self.google_business = google_business.GoogleBusinessApi(
            scenario, self._clock, requests, on_reviews_request=self._first_call
        )
        self.etsy = etsy.EtsyApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.yelp = yelp.YelpApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.ebay = ebay.EbayApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.facebook = facebook.FacebookApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.x = x_search.XApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.taobao = taobao.TaobaoApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.google_play = google_play.GooglePlayApi(
            scenario, self._clock, requests, on_reviews_request=self._first_call
        )
        self.app_store = app_store.AppStoreApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.ecwid = ecwid.EcwidApi(scenario, self._clock, requests, on_reviews_request=self._first_call)
        self.feeds = feeds.FeedsApi(scenario, self._clock, requests, on_reviews_request=self._first_call)

    @property
    def clock(self) -> SimClock:
        return self._clock

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("simulator is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """Base URL of the simulated platforms, e.g. http://127.0.0.1:PORT (Trustpilot paths start with /v1)."""
        return f"http://{self._host}:{self.port}"

    def credentials_for(self, merchant_id: str) -> tuple[str, str]:
        """The (api_key, api_secret) the simulated Trustpilot accepts for this merchant."""
        return trustpilot.credentials_for(self.scenario, merchant_id)

    def google_credentials_for(self, merchant_id: str) -> tuple[str, str, str]:
        """The (client_id, client_secret, refresh_token) the simulated Google accepts for this merchant."""
        return google_business.credentials_for(self.scenario, merchant_id)

    def etsy_api_key_for(self, merchant_id: str) -> str:
        """The keystring the simulated Etsy accepts for this merchant."""
        return etsy.api_key_for(self.scenario, merchant_id)

    def yelp_api_key_for(self, merchant_id: str) -> str:
        """The API key the simulated Yelp Fusion accepts for this merchant."""
        return yelp.api_key_for(self.scenario, merchant_id)

    def ebay_credentials_for(self, merchant_id: str) -> tuple[str, str, str]:
        """The (client_id, client_secret, refresh_token) the simulated eBay accepts for this merchant."""
        return ebay.credentials_for(self.scenario, merchant_id)

    def facebook_token_for(self, merchant_id: str) -> str:
        """The Page access token the simulated Graph API accepts for this merchant's page."""
        return facebook.token_for(self.scenario, merchant_id)

    def x_bearer_for(self, merchant_id: str) -> str:
        """The app-only bearer token the simulated X API accepts for this merchant."""
        return x_search.bearer_for(self.scenario, merchant_id)

    def taobao_credentials_for(self, merchant_id: str) -> tuple[str, str, str]:
        """The (app_key, app_secret, session) the simulated TOP gateway accepts for this merchant."""
        return taobao.credentials_for(self.scenario, merchant_id)

    def google_play_service_account_for(self, merchant_id: str) -> str:
        """The service account JSON key the simulated Google Play accepts for this merchant (started simulator)."""
        return self.google_play.service_account_json(merchant_id, self.url)

    def app_store_credentials_for(self, merchant_id: str) -> tuple[str, str, str]:
        """The (issuer_id, key_id, private_key PEM) of the API key the simulated App Store Connect accepts."""
        return app_store.credentials_for(self.scenario, merchant_id)

    def ecwid_token_for(self, merchant_id: str) -> str:
        """The store token the simulated Ecwid accepts for this merchant."""
        return ecwid.token_for(self.scenario, merchant_id)

    def visible_reviews(self, merchant_id: str | None = None, platform: str | None = "trustpilot") -> list[SimReview]:
        """Ground truth: reviews created up to the current simulated time (`malformed` says which are served broken).

        Trustpilot's by default; `platform=None` for every platform's (each review says its `platform`).
        """
        now = self._clock.now()
        timelines = {
            "trustpilot": self._timeline,
            "google_business": self.google_business.timeline,
            "etsy": self.etsy.timeline,
            "yelp": self.yelp.timeline,
            "ebay": self.ebay.timeline,
            "facebook": self.facebook.timeline,
            "x": self.x.timeline,
            "taobao": self.taobao.timeline,
            "google_play": self.google_play.timeline,
            "app_store": self.app_store.timeline,
            "ecwid": self.ecwid.timeline,
            "rss": self.feeds.timeline,
        }
        found = [
            review
            for name, timeline in timelines.items()
            if platform is None or name == platform
            for m in (timeline.merchant_ids if merchant_id is None else (merchant_id,))
            if m in timeline.merchant_ids
            for review in timeline.visible(m, now)
        ]
        found.sort(key=lambda r: (r.created_at, r.id))
        return found

    def all_reviews(self, merchant_id: str) -> tuple[SimReview, ...]:
        """Ground truth: the whole timeline of a merchant, including reviews not yet visible."""
        return self._timeline.all(merchant_id)

    def _first_call(self) -> None:
        if self._owns_clock:
            self._clock.start()

    async def _start(self, stack: AsyncExitStack) -> None:
        app = web.Application()
        platforms: dict[str, PlatformApi] = {
            "trustpilot": self.trustpilot,
            "google_business": self.google_business,
            "etsy": self.etsy,
            "yelp": self.yelp,
            "ebay": self.ebay,
            "facebook": self.facebook,
            "x": self.x,
            "taobao": self.taobao,
            "google_play": self.google_play,
            "app_store": self.app_store,
            "ecwid": self.ecwid,
            "rss": self.feeds,
        }
        outages = self.scenario.outages
        for platform, api in platforms.items():
            app.router.add_routes(
                with_outages(
                    platform,
                    api.routes(),
                    outages=outages,
                    origin=self.scenario.origin,
                    clock=self._clock,
                    requests=self._requests,
                )
            )
        app.router.add_routes(self._extra_routes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self._host, self._requested_port, reuse_address=True)
        await site.start()
        # aiohttp has no public bound-port API; the asyncio server behind the site knows it.
        server: Any = site._server
        self._bound_port = server.sockets[0].getsockname()[1]
