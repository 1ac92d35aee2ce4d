"""The Trustpilot adapter against a scripted platform: auth, paging, backfill start and the exactly-once cursor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from services.pollers.adapters.base import PageRequest, PollOptions
from services.pollers.adapters.http import AuthError, HttpResponse, check_status
from services.pollers.adapters.registry import build_adapter
from services.pollers.adapters.trustpilot import HighWaterMark, TrustpilotAdapter
from services.shared.config import SourceConfig, parse_config
from services.shared.errors import ConfigError, Reason, StormwatchError
from services.shared.settings import Secret

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def review(item_id: str, minute: int, second: int = 0) -> dict[str, Any]:
    created = T0 + timedelta(minutes=minute, seconds=second)
    return {"id": item_id, "stars": 5, "createdAt": created.isoformat().replace("+00:00", "Z"), "consumer": None}


@dataclass
class ScriptedPlatform:
    """A fake Requester: serves `reviews` like Trustpilot (startDateTime, orderBy, page, perPage) and records calls."""

    reviews: list[dict[str, Any]]
    token_statuses: list[int] = field(default_factory=list)  # statuses to answer token requests with, then 200
    review_statuses: list[int] = field(default_factory=list)  # statuses to answer review requests with, then 200
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    tokens_issued: int = 0
    expires_in: Any = "359999"

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        if url.endswith("/accesstoken"):
            self.calls.append(("token", dict(data or {})))
            status = self.token_statuses.pop(0) if self.token_statuses else 200
            self.tokens_issued += status == 200
            body = {
                "access_token": f"t{self.tokens_issued}",
                "expires_in": self.expires_in,
                "token_type": "BearerToken",
            }
            return respond(status, body)
        query = dict(params or {})
        self.calls.append(("reviews", query))
        if self.review_statuses:
            return respond(self.review_statuses.pop(0), {"message": "no"})
        items = sorted(self.reviews, key=lambda r: r["createdAt"])
        if "startDateTime" in query:
            items = [r for r in items if r["createdAt"] >= query["startDateTime"]]
        if query.get("orderBy") == "createdat.desc":
            items.reverse()
        page, per_page = int(query.get("page", "1")), int(query.get("perPage", "20"))
        return respond(200, {"reviews": items[(page - 1) * per_page : page * per_page], "links": []})


def respond(status: int, body: object) -> HttpResponse:
    response = HttpResponse(status, CIMultiDictProxy(CIMultiDict()), orjson.dumps(body))
    check_status(response, "test")  # the real client raises for non-2xx statuses; so does the fake
    return response


def source(**overrides: Any) -> SourceConfig:
    values: dict[str, Any] = {
        "id": "shop/trustpilot",
        "merchant_id": "shop",
        "platform": "trustpilot",
        "base_url": "http://sim.test",
        "backfill_hours": 1.0,
        "credentials": {"api_key": Secret("k"), "api_secret": Secret("s")},
        "options": {"business_unit_id": "bu-shop", "per_page": 2},
    }
    values.update(overrides)
    return SourceConfig(**values)


async def read_all(adapter: TrustpilotAdapter, platform: ScriptedPlatform, cursor: Any = None) -> tuple[list[str], Any]:
    """One whole poll: every page until caught up; returns the new item ids and the final cursor."""
    request: PageRequest | None = PageRequest(cursor)
    ids: list[str] = []
    while request is not None:
        page = await adapter.fetch_page(platform, request)
        ids.extend(item.data["id"] for item in page.items)
        cursor, request = page.cursor, page.next
    return ids, cursor


async def test_first_poll_backfills_from_the_newest_review() -> None:
    """The first poll starts backfill_hours before the platform's newest review, then pages createdat.asc."""
    platform = ScriptedPlatform([review("old", -120), review("a", -50), review("b", -20), review("c", 0)])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    ids, cursor = await read_all(adapter, platform)
    assert ids == ["a", "b", "c"]  # "old" is more than an hour before the newest review
    assert cursor == {"since": "2026-11-02T12:00:00Z", "ids_at_since": ["c"]}
    probe = platform.calls[1][1]
    assert probe["orderBy"] == "createdat.desc" and probe["perPage"] == "1"
    pages = [params for kind, params in platform.calls[2:] if kind == "reviews"]
    assert [p["page"] for p in pages] == ["1", "2"]
    assert all(p["orderBy"] == "createdat.asc" and p["startDateTime"] == "2026-11-02T11:00:00Z" for p in pages)


async def test_no_review_is_returned_twice_across_polls() -> None:
    """Reviews sharing the high-water timestamp are not repeated, and later ones at that timestamp are not lost."""
    platform = ScriptedPlatform([review("a", 0), review("b", 1), review("c", 1)])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    first, cursor = await read_all(adapter, platform)
    assert first == ["a", "b", "c"]
    again, cursor = await read_all(adapter, platform, cursor)
    assert again == []
    platform.reviews += [review("d", 1), review("e", 2)]  # "d" shares the high-water second
    later, cursor = await read_all(adapter, platform, cursor)
    assert sorted(later) == ["d", "e"]
    assert cursor == {"since": "2026-11-02T12:02:00Z", "ids_at_since": ["e"]}


async def test_items_without_an_id_are_remembered_by_digest() -> None:
    """A malformed item at the high-water mark is handed out once, not on every later poll."""
    broken = {"stars": "five", "createdAt": "2026-11-02T12:00:00Z"}
    platform = ScriptedPlatform([review("a", 0), broken])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    page = await adapter.fetch_page(platform, PageRequest(None))
    assert [item.data for item in page.items] == [review("a", 0), broken]
    again = await adapter.fetch_page(platform, PageRequest(page.cursor))
    assert again.items == ()


async def test_no_reviews_yet_starts_from_1970() -> None:
    """A business unit without reviews gets a cursor at the epoch, so its first reviews are all published."""
    platform = ScriptedPlatform([])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    ids, cursor = await read_all(adapter, platform)
    assert ids == [] and cursor == {"since": "1970-01-01T00:00:00Z", "ids_at_since": []}


async def test_token_is_reused_until_near_expiry_then_renewed() -> None:
    """One token serves many calls; it is renewed shortly before expires_in runs out (numeric strings accepted)."""
    now = [0.0]
    platform = ScriptedPlatform([review("a", 0)], expires_in="1000")
    config = source()
    adapter = TrustpilotAdapter(
        config, business_unit_id="bu-shop", api_key="k", api_secret="s", per_page=2, monotonic=lambda: now[0]
    )
    cursor = {"since": "2026-11-02T12:00:00Z", "ids_at_since": []}
    await adapter.fetch_page(platform, PageRequest(cursor))
    now[0] = 800.0
    await adapter.fetch_page(platform, PageRequest(cursor))
    assert platform.tokens_issued == 1
    now[0] = 950.0  # within the last 10 % of the lifetime
    await adapter.fetch_page(platform, PageRequest(cursor))
    assert platform.tokens_issued == 2
    assert platform.calls[0] == ("token", {"grant_type": "client_credentials"})


async def test_a_401_triggers_exactly_one_reauthentication() -> None:
    """A 401 on the reviews call fetches a fresh token and retries once; a second 401 is an auth error."""
    cursor = {"since": "2026-11-02T12:00:00Z", "ids_at_since": []}
    platform = ScriptedPlatform([review("a", 0)], review_statuses=[401])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    page = await adapter.fetch_page(platform, PageRequest(cursor))
    assert [i.data["id"] for i in page.items] == ["a"] and platform.tokens_issued == 2

    platform = ScriptedPlatform([review("a", 0)], review_statuses=[401, 401])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    with pytest.raises(AuthError) as caught:
        await adapter.fetch_page(platform, PageRequest(cursor))
    assert caught.value.reason is Reason.AUTH_ERROR and not caught.value.retriable
    assert "fresh access token" in str(caught.value)


async def test_rejected_credentials_are_a_clear_auth_error() -> None:
    """A 401 from the token endpoint names the source and where its credentials are configured."""
    platform = ScriptedPlatform([], token_statuses=[401])
    adapter = TrustpilotAdapter.from_source(source(), "sources[0]")
    with pytest.raises(AuthError) as caught:
        await adapter.fetch_page(platform, PageRequest(None))
    assert caught.value.reason is Reason.AUTH_ERROR
    assert "shop/trustpilot" in str(caught.value) and "credentials" in str(caught.value)
    assert "s" not in str(caught.value).split("credentials")[-1]  # the secret itself is never in the message


def test_high_water_mark_keeps_only_the_ids_at_its_instant() -> None:
    """Advancing to a later instant forgets the ids of the earlier one; ties accumulate."""
    mark = HighWaterMark(T0)
    mark = mark.advance(T0, "a").advance(T0, "b")
    assert mark.keys_at_since == {"a", "b"} and mark.covers(T0, "a") and not mark.covers(T0, "c")
    later = mark.advance(T0 + timedelta(seconds=1), "c")
    assert later.keys_at_since == {"c"} and later.covers(T0, "z")
    assert HighWaterMark.from_cursor(later.to_cursor(), "s") == later
    with pytest.raises(StormwatchError, match="unreadable"):
        HighWaterMark.from_cursor({"since": 5}, "s")


@pytest.mark.parametrize(
    ("options", "credentials", "key"),
    [
        ({}, {"api_key": "k", "api_secret": "s"}, "sources[0].options.business_unit_id"),
        ({"business_unit_id": "b"}, {"api_key": "k"}, "sources[0].credentials.api_secret"),
        (
            {"business_unit_id": "b", "per_page": 500},
            {"api_key": "k", "api_secret": "s"},
            "sources[0].options.per_page",
        ),
        ({"business_unit_id": "b", "colour": 1}, {"api_key": "k", "api_secret": "s"}, "sources[0].options.colour"),
        (
            {"business_unit_id": "b", "grant_type": "password"},
            {"api_key": "k", "api_secret": "s"},
            "sources[0].credentials.username",
        ),
    ],
)
def test_bad_source_configuration_names_the_key(options: dict[str, Any], credentials: dict[str, str], key: str) -> None:
    """Missing or wrong Trustpilot options and credentials are ConfigErrors naming the exact key."""
    config = parse_config(
        {
            "merchants": [{"id": "shop"}],
            "sources": [
                {
                    "id": "s",
                    "merchant": "shop",
                    "platform": "trustpilot",
                    "credentials": credentials,
                    "options": options,
                }
            ],
        }
    )
    with pytest.raises(ConfigError) as caught:
        build_adapter(config.sources[0], 0)
    assert key in str(caught.value)


def test_unknown_platform_names_the_platform_key() -> None:
    """A source on a platform without an adapter is refused with a ConfigError naming sources[i].platform."""
    with pytest.raises(ConfigError, match=r"sources\[3\]\.platform: no poller for platform 'myspace'"):
        build_adapter(source(platform="myspace"), 3)


def test_poll_options_are_validated() -> None:
    """Common options (rate limit, timeouts, page budget) are checked like every other key."""
    adapter = build_adapter(source(), 0)
    options = PollOptions.from_source(source(), "sources[0]", adapter.default_rate_limit)
    assert options.rate_limit.per_second == pytest.approx(833 / 300)
    bad = source(options={"business_unit_id": "b", "rate_limit_per_second": "fast"})
    with pytest.raises(ConfigError, match=r"sources\[0\]\.options\.rate_limit_per_second"):
        PollOptions.from_source(bad, "sources[0]", adapter.default_rate_limit)


async def test_a_backfill_longer_than_history_starts_from_1970() -> None:
    """backfill_hours reaching past the epoch (or absurdly large) simply means: everything."""
    platform = ScriptedPlatform([review("a", -5000), review("b", 0)])
    adapter = TrustpilotAdapter.from_source(source(backfill_hours=1e12), "sources[0]")
    ids, _cursor = await read_all(adapter, platform)
    assert ids == ["a", "b"]
    assert platform.calls[2][1]["startDateTime"] == "1970-01-01T00:00:00Z"
