"""The Facebook Pages adapter against the simulated Graph API: comments once each, post snapshots, Graph errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from services.pollers.adapters.http import AuthError
from services.shared.config import SourceConfig
from services.shared.settings import Secret
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import CascadeSpec, FacebookPage, Faults, MerchantProfile, Scenario, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PAGE = "104400000000042"


def scenario(cascade: bool = False, **faults: int) -> Scenario:
    cascades = (CascadeSpec("facebook", 600, shares=3000, replies=150, views=9000, hours=6),) if cascade else ()
    merchant = MerchantProfile(
        "shop", "Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1,
        facebook=FacebookPage(PAGE, posts_per_day=6, comments_per_hour=12), cascades=cascades,
    )  # fmt: skip
    return Scenario(
        merchants=(merchant,), origin=ORIGIN, history_seconds=6 * 3600, duration_seconds=6 * 3600,
        faults=Faults(**faults),
    )  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def rig(sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry, *, token: str | None = None,
        max_pages: int = 50, version: str = "v21.0", timeout: float = 5.0) -> Rig:  # fmt: skip
    config = SourceConfig(
        id="shop/facebook",
        merchant_id="shop",
        platform="facebook",
        base_url=sim.url,
        poll_interval_seconds=0.01,
        backfill_hours=24,
        credentials={"page_access_token": Secret(token or sim.facebook_token_for("shop"))},
        options={"page_id": PAGE, "api_version": version},
    )
    return rig_for(config, http, registry, max_pages, timeout)


def comments(r: Rig) -> list[str]:
    return [e.item_id for e in r.events() if e.event_type == "review.created"]


def truth(sim: SimulatorApp, *, wellformed: bool = True) -> list[str]:
    return [v.id for v in sim.visible_reviews("shop", platform="facebook") if not wellformed or v.malformed is None]


async def test_backfill_and_resume_publish_every_comment_once_with_its_thread(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Every visible comment once (thread = its post, parent = the comment it answers), across polls as time
    passes, with no gaps or repeats; malformed comments are dead-lettered while the rest of the page goes on."""
    async with SimulatorApp(scenario(malformed_every=11), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        for _ in range(8):
            sim.clock.advance(900)
            await poll_until_caught_up(r)
        published = comments(r)
        assert sorted(published) == sorted(truth(sim))
        assert len(r.deadletters.published) == len(truth(sim, wellformed=False)) - len(truth(sim)) > 0
        events = {e.item_id: e for e in r.events() if e.event_type == "review.created"}
        for post_id, thread in sim.facebook.comments.items():
            for comment in thread:
                event = events.get(comment.review.id)
                if event is not None:
                    assert event.thread_id == post_id and event.kind == "comment" and event.rating is None
                    assert event.parent_id == (comment.parent_id or post_id)
        assert any(e.parent_id != e.thread_id for e in events.values())


async def test_a_page_budget_of_one_resumes_without_gaps(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """One Graph call per poll: the feed walk and the comment queue resume from the cursor; nothing lost or doubled."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, max_pages=1)
        await poll_until_caught_up(r)
        sim.clock.advance(3600)
        await poll_until_caught_up(r)
        assert sorted(comments(r)) == sorted(truth(sim))


async def test_a_viral_post_is_snapshotted_as_its_counters_grow(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """The cascade's post yields thread.snapshot events whose shares and comment counts rise poll after poll;
    posts whose counters stand still produce no new snapshot."""
    async with SimulatorApp(scenario(cascade=True), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        for _ in range(12):
            sim.clock.advance(600)
            r.poller._clock.advance(600)  # type: ignore[attr-defined]
            await poll_until_caught_up(r)
        viral = next(p for p in sim.facebook.posts["shop"] if p.cascade is not None)
        snapshots = [e for e in r.events() if e.event_type == "thread.snapshot" and e.item_id == viral.id]
        assert len(snapshots) >= 10, [(s.observed_at, s.engagement) for s in snapshots]
        shares = [e.engagement.shares or 0 for e in snapshots if e.engagement is not None]
        assert shares == sorted(shares) and shares[-1] > 1000
        assert all(s.thread_id == viral.id and s.kind == "post" for s in snapshots)
        assert len({s.event_id for s in snapshots}) == len(snapshots)
        quiet = [e for e in r.events() if e.event_type == "thread.snapshot" and e.item_id != viral.id]
        assert len(quiet) < len({e.item_id for e in quiet}) * 6


async def test_graph_errors_map_to_retries_and_a_clear_credential_error(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Throttling error objects (codes 4/17/32/613) and 503s are retried to the same result; code 190 is an
    AuthError naming the Page token; recommendations on v22+ are error 12."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=7, retry_after_seconds=0), registry=registry,
        clock=SimClock.manual(ORIGIN),
    ) as sim:  # fmt: skip
        r = rig(sim, http, registry)
        await poll_until_caught_up(r)
        assert sorted(comments(r)) == sorted(truth(sim))
        assert r.poller.consecutive_failures == 0
        with pytest.raises(AuthError, match="page_access_token"):
            await rig(sim, http, registry, token="EAAGnope").poller.poll_once()
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        headers = {"Authorization": f"Bearer {sim.facebook_token_for('shop')}"}
        url = f"{sim.url}/v22.0/{PAGE}/ratings"
        async with http.get(url, params={"suppress_http_code": "1"}, headers=headers) as response:
            body = await response.json()
        assert response.status == 200 and body["error"]["code"] == 12


async def test_a_slow_answer_times_out_and_is_retried(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """A Graph call slower than the source's timeout is abandoned and retried; nothing is lost."""
    world = scenario(slow_every=2, slow_seconds=1)
    async with SimulatorApp(world, registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, timeout=0.3)
        await poll_until_caught_up(r)
        assert sorted(comments(r)) == sorted(truth(sim))
        labels = {"platform": "facebook", "reason": "timeout"}
        assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) >= 1
