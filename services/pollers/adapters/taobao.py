"""The Taobao / Tmall adapter: `taobao.traderates.get` through the signed TOP gateway, created-time windows split
at the 1,500-result cap, a created-time high-water mark."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from services.pollers.adapters.base import Page, PageRequest, RateLimit, RawItem, reject_unknown_options
from services.pollers.adapters.http import Requester, UnparseablePage
from services.pollers.adapters.taobao_items import PLATFORM, created_at, item_key, normalise_rate
from services.pollers.adapters.taobao_top import SIGN_METHODS, raise_for_error, sign
from services.pollers.adapters.trustpilot import HighWaterMark
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError, Reason
from services.shared.events import ReviewEvent, deterministic_id

DEFAULT_BASE_URL = "https://eco.taobao.com"
GATEWAY_PATH = "/router/rest"
METHOD = "taobao.traderates.get"
FIELDS = "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply,valid_score"
# Per query window TOP reports at most this many results and pages no further: a fuller window must be split.
RESULT_CAP = 1500
MAX_PAGE_NO = 200
HORIZON = timedelta(days=180)
# The window's upper end is "now" plus a margin: the platform holds no future rates, and the margin absorbs skew.
# The lower end (the 180-day horizon) stays the same margin inside, for the same reason.
CLOCK_MARGIN = timedelta(days=1)
_OPTIONS = frozenset({"page_size", "sign_method", "role"})


class TaobaoAdapter:
    """One seller's received trade rates. Each poll is a sweep over created-time windows from the mark to now,
    oldest window first: a window whose `total_results` reaches the cap is halved (again and again) before it is
    paged, because TOP silently stops at 1,500 results per query. The sweep (windows left, page, newest mark so far)
    lives in the cursor, so a restart resumes it; the mark moves when the sweep completes.
    """

    platform = PLATFORM
    # TOP's default app quota is modest (a few thousand calls per day per API for an ISV app): stay gentle.
    default_rate_limit = RateLimit(per_second=2.0, burst=4)

    def __init__(
        self,
        source: SourceConfig,
        *,
        app_key: str,
        app_secret: str,
        session: str,
        page_size: int = 150,
        sign_method: str = "md5",
        role: str = "buyer",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._zone = ZoneInfo(source.timezone)
        base = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + GATEWAY_PATH
        self._app_key = app_key
        self._app_secret = app_secret
        self._session = session
        self._page_size = page_size
        self._sign_method = sign_method
        self._role = role
        self._now = now
        self.credential_id = deterministic_id(PLATFORM, base, app_key)

    @classmethod
    def from_source(cls, source: SourceConfig, where: str) -> TaobaoAdapter:
        reject_unknown_options(source, where, _OPTIONS)
        page_size = source.options.get("page_size", 150)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 150:
            raise ConfigError(f"{where}.options.page_size: expected an integer 1..150, got {page_size!r}")
        sign_method = source.options.get("sign_method", "md5")
        if sign_method not in SIGN_METHODS:
            raise ConfigError(f"{where}.options.sign_method: expected one of {', '.join(SIGN_METHODS)}")
        role = source.options.get("role", "buyer")
        if role not in {"buyer", "seller"}:
            raise ConfigError(f"{where}.options.role: expected buyer (rates buyers gave) or seller")
        for name in ("app_key", "app_secret", "session"):
            if not source.credentials.get(name):
                raise ConfigError(f"{where}.credentials.{name}: required for Taobao TOP (app key, secret, session)")
        try:
            ZoneInfo(source.timezone)
        except (KeyError, ValueError):
            raise ConfigError(f"{where}.timezone: unknown time zone {source.timezone!r}") from None
        return cls(
            source,
            app_key=source.credentials["app_key"].reveal(),
            app_secret=source.credentials["app_secret"].reveal(),
            session=source.credentials["session"].reveal(),
            page_size=page_size,
            sign_method=sign_method,
            role=role,
        )

    def normalise(self, item: RawItem, source: SourceConfig, observed_at: datetime) -> ReviewEvent:
        return normalise_rate(
            item.data,
            merchant_id=source.merchant_id,
            source_id=source.id,
            observed_at=observed_at,
            timezone=source.timezone,
        )

    async def fetch_page(self, client: Requester, request: PageRequest) -> Page:
        cursor = request.cursor or {}
        floor = HighWaterMark.from_cursor(cursor, self._source.id) if "since" in cursor else None
        sweep: dict[str, Any] | None = request.position or cursor.get("sweep")
        if sweep is None:
            sweep = await self._new_sweep(client, floor)
        if floor is None:
            floor = HighWaterMark.from_cursor(sweep["mark"], self._source.id)
        windows = [(int(a), int(b)) for a, b in sweep["windows"]]
        page_no = int(sweep["page"])
        newest = HighWaterMark.from_cursor(sweep["mark"], self._source.id)
        if not windows:
            return Page((), newest.to_cursor(), None)
        start, end = windows[0]
        rates, total, has_next = await self._rates(client, start, end, page_no)
        if page_no == 1 and total >= RESULT_CAP and end > start:
            middle = start + (end - start) // 2
            windows[:1] = [(start, middle), (middle + 1, end)]
            return self._continue((), floor, windows, 1, newest)
        items: list[RawItem] = []
        for data in rates:
            raw = orjson.dumps(data)
            created, key = created_at(data, self._source.timezone), item_key(data, raw)
            if floor.covers(created, key):
                continue
            items.append(RawItem(raw, data))
            newest = newest.advance(created, key)
        if has_next and page_no < MAX_PAGE_NO:
            return self._continue(tuple(items), floor, windows, page_no + 1, newest)
        windows.pop(0)
        if not windows:
            return Page(tuple(items), newest.to_cursor(), None)
        return self._continue(tuple(items), floor, windows, 1, newest)

    def _continue(
        self,
        items: tuple[RawItem, ...],
        floor: HighWaterMark,
        windows: list[tuple[int, int]],
        page_no: int,
        newest: HighWaterMark,
    ) -> Page:
        state = {"windows": [list(w) for w in windows], "page": page_no, "mark": newest.to_cursor()}
        stored = {**floor.to_cursor(), "sweep": state}
        return Page(items, stored, PageRequest(stored, state))

    async def _new_sweep(self, client: Requester, floor: HighWaterMark | None) -> dict[str, Any]:
        now = self._now()
        # TOP refuses start dates past 180 days by its own clock, which may run ahead of ours: stay a margin inside.
        horizon = int((now - HORIZON + CLOCK_MARGIN).timestamp())
        end = int((now + CLOCK_MARGIN).timestamp())
        if floor is None:
            floor = HighWaterMark(datetime.fromtimestamp(await self._backfill_start(client, horizon, end), tz=UTC))
        start = max(horizon, int(floor.since.timestamp()))
        return {"windows": [[start, max(start, end)]], "page": 1, "mark": floor.to_cursor()}

    async def _backfill_start(self, client: Requester, horizon: int, end: int) -> int:
        """`backfill_hours` before the newest rate the platform holds (its clock, not ours), within the horizon."""
        rates, _total, _more = await self._rates(client, horizon, end, 1, page_size=1)
        newest = created_at(rates[0], self._source.timezone) if rates else None
        if newest is None:
            return horizon
        return max(horizon, int(newest.timestamp() - self._source.backfill_hours * 3600))

    def _local(self, epoch: int) -> str:
        return datetime.fromtimestamp(epoch, tz=UTC).astimezone(self._zone).strftime("%Y-%m-%d %H:%M:%S")

    async def _rates(
        self, client: Requester, start: int, end: int, page_no: int, page_size: int | None = None
    ) -> tuple[list[Any], int, bool]:
        """One page of a window: (rates, total_results, has_next). Page 1 asks for the total (the split test)."""
        params = {
            "method": METHOD,
            "app_key": self._app_key,
            "session": self._session,
            "timestamp": self._local(int(self._now().timestamp())),
            "format": "json",
            "v": "2.0",
            "sign_method": self._sign_method,
            "fields": FIELDS,
            "rate_type": "get",
            "role": self._role,
            "start_date": self._local(start),
            "end_date": self._local(end),
            "page_no": str(page_no),
            "page_size": str(page_size or self._page_size),
        }
        if page_no > 1:
            params["use_has_next"] = "true"
        params["sign"] = sign(params, self._app_secret, self._sign_method)
        what = f"taobao trade rates of source {self._source.id}"
        response = await client.request("POST", self._url, data=params)
        payload = response.json(what)
        raise_for_error(payload, what, self._source.key_path)
        body = payload.get("traderates_get_response") if isinstance(payload, dict) else None
        if not isinstance(body, dict):
            raise UnparseablePage(
                f"{what}: response has no traderates_get_response", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        container = body.get("trade_rates", {})  # an empty window omits trade_rates
        rates = container.get("trade_rate", []) if isinstance(container, dict) else None
        total = body.get("total_results", 0)
        if not isinstance(rates, list) or isinstance(total, bool) or not isinstance(total, int):
            raise UnparseablePage(
                f"{what}: trade_rates.trade_rate is not a list", body=response.body, reason=Reason.SCHEMA_INVALID
            )
        has_next = body.get("has_next")
        if not isinstance(has_next, bool):
            has_next = page_no * (page_size or self._page_size) < total
        return rates, total, has_next
