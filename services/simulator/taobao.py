"""The simulated TOP gateway: `taobao.traderates.get` with signed calls, sessions, China-time windows, the cap."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from prometheus_client import Counter

from services.simulator.clock import SimClock
from services.simulator.scenario import Scenario
from services.simulator.timeline import SimReview, generate_platform_timeline, published_timeline

PLATFORM = "taobao"
GATEWAY_PATH = "/router/rest"
CHINA = ZoneInfo("Asia/Shanghai")  # TOP speaks Beijing time, whoever calls
RESULT_CAP = 1500
MAX_PAGE_SIZE = 150
HORIZON_DAYS = 180
_RESULTS = {1: "bad", 2: "bad", 3: "neutral", 4: "good", 5: "good"}


def credentials_for(scenario: Scenario, merchant_id: str) -> tuple[str, str, str]:
    """(app_key, app_secret, session) the simulated TOP accepts for a merchant's seller account."""
    scenario.merchant(merchant_id)
    digest = hashlib.sha256(f"{scenario.seed}:{merchant_id}:taobao".encode()).hexdigest()
    return str(int(digest[:7], 16)), digest[8:40], "6100" + digest[40:64]


def _signature(params: dict[str, str], secret: str) -> str:
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    method = params.get("sign_method", "md5")
    if method == "md5":
        return hashlib.md5((secret + joined + secret).encode(), usedforsecurity=False).hexdigest().upper()
    digest = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), joined.encode(), digest).hexdigest().upper()


def ident(review: SimReview) -> int:
    """A stable trade id per simulated review."""
    return int(review.id[:12], 16) % 10**15


class TaobaoApi:
    """The TOP gateway for every merchant with a `taobao` shop."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        requests: Counter,
        *,
        on_reviews_request: Callable[[], None] = lambda: None,
    ) -> None:
        self._scenario = scenario
        self._clock = clock
        self._requests = requests
        self._on_reviews_request = on_reviews_request
        shops = {m.id: m.taobao for m in scenario.merchants if m.taobao is not None}
        self._nick = {m: s.seller_nick for m, s in shops.items()}
        self._timeline = generate_platform_timeline(
            scenario, PLATFORM, {m: s.baseline_per_hour for m, s in shops.items()}
        )
        # Ground truth for visible_reviews(): what the poller will publish, under the item ids it will use.
        self.timeline = published_timeline(self._timeline, lambda r: f"{ident(r)}:{ident(r) + 1}:buyer")
        self._by_key = {}
        for merchant in shops:
            key, secret, session = credentials_for(scenario, merchant)
            self._by_key[key] = (merchant, secret, session)
        self._expired: set[str] = set()
        self._calls = 0
        self.capped_queries = 0  # queries whose window held more than the cap (what forces a split)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(GATEWAY_PATH, self.gateway), web.get(GATEWAY_PATH, self.gateway)]

    def expire_sessions(self) -> None:
        """Every session key issued so far stops working (a seller's authorisation lapsed)."""
        self._expired.update(session for _m, _s, session in self._by_key.values())

    def _reply(self, status: int, body: object) -> web.Response:
        self._requests.labels(platform=PLATFORM, status=str(status)).inc()
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def _error(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> web.Response:
        error: dict[str, Any] = {"code": code, "msg": msg, "request_id": f"sim{self._calls}"}
        if sub_code:
            error |= {"sub_code": sub_code, "sub_msg": sub_msg}
        return self._reply(200, {"error_response": error})  # TOP reports errors with HTTP 200

    async def gateway(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one return per TOP error
        """One TOP call: params in the query or the form; only taobao.traderates.get is simulated."""
        self._on_reviews_request()
        self._calls += 1
        if self._scenario.faults.slow_every and self._calls % self._scenario.faults.slow_every == 0:
            await asyncio.sleep(self._scenario.faults.slow_seconds)  # a slow gateway: the client times out first
        form = {**request.query, **(await request.post())}
        params: dict[str, str] = {k: v for k, v in form.items() if isinstance(v, str)}
        faults = self._scenario.faults
        if faults.rate_limit_every and self._calls % faults.rate_limit_every == 0:
            ban = f"This ban will last for {faults.retry_after_seconds} more seconds"
            return self._error(7, "App Call Limited", "accesscontrol.limited-by-app-access-count", ban)
        if faults.server_error_every and self._calls % faults.server_error_every == 0:
            return self._reply(503, {"error": "Service Unavailable"})
        account = self._by_key.get(params.get("app_key", ""))
        if account is None:
            return self._error(29, "Invalid app Key", "isv.appkey-not-exists")
        merchant, secret, session = account
        if not hmac.compare_digest(params.get("sign", ""), _signature(params, secret)):
            return self._error(25, "Invalid signature")
        if params.get("session") != session or session in self._expired:
            return self._error(27, "Invalid session", "invalid-sessionkey", "SessionKey is expired or invalid")
        if params.get("method") != "taobao.traderates.get":
            return self._error(22, "Invalid method")
        return self._traderates(merchant, params)

    def _traderates(self, merchant: str, params: dict[str, str]) -> web.Response:
        try:
            page_no = int(params.get("page_no", "1"))
            page_size = int(params.get("page_size", "40"))
            start = _china(params["start_date"]) if "start_date" in params else None
            end = _china(params["end_date"]) if "end_date" in params else None
        except (ValueError, KeyError):
            return self._error(40, "Missing or invalid parameters", "isv.invalid-parameter", "bad paging or dates")
        if not 1 <= page_no <= 200 or not 1 <= page_size <= MAX_PAGE_SIZE:
            return self._error(41, "Invalid arguments", "isv.invalid-parameter", "page_no 1..200, page_size 1..150")
        now = self._clock.now()
        if start is not None and (now - start).days >= HORIZON_DAYS:
            return self._error(15, "Remote service error", "isv.invalid-parameter:start_date", "only 180 days")
        found = [
            r
            for r in reversed(self._timeline.visible(merchant, now))  # newest first
            if (start is None or r.created_at >= start) and (end is None or r.created_at <= end)
        ]
        if len(found) > RESULT_CAP:
            self.capped_queries += 1
        found = found[:RESULT_CAP]
        page = found[(page_no - 1) * page_size : page_no * page_size]
        body: dict[str, Any] = {"trade_rates": {"trade_rate": [render_rate(r, self._nick[merchant]) for r in page]}}
        if params.get("use_has_next") == "true":
            body["has_next"] = page_no * page_size < len(found)
        else:
            body["total_results"] = len(found)
        return self._reply(200, {"traderates_get_response": body})


def _china(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


def render_rate(review: SimReview, seller_nick: str) -> dict[str, Any]:
    """A TradeRate in Beijing wall time without offset; malformed ones lose the trade id or spell the result."""
    tid = ident(review)
    item: dict[str, Any] = {
        "tid": tid,
        "oid": tid + 1,
        "role": "buyer",
        "nick": review.consumer_name[:1] + "**" + review.consumer_name[-1:],
        "result": _RESULTS[review.stars],
        "created": review.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
        "rated_nick": seller_nick,
        "item_title": review.title[:60] or "商品",
        "item_price": "99.00",
        "content": review.text,
        "valid_score": True,
    }
    if review.stars <= 2 and tid % 3 == 0:
        item["reply"] = "亲, 非常抱歉给您带来不便, 我们马上为您处理。"
    if review.malformed == "missing_id":
        del item["tid"]
    elif review.malformed == "stars_as_text":
        item["result"] = f"{review.stars} stars"
    return item
