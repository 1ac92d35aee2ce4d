"""The RSS / Atom adapter against simulated feeds: mentions only, conditional GET, edits, XXE refused, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.shared.config import SourceConfig
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import Faults, MerchantProfile, NewsFeed, Scenario, TrustpilotAccount
from tests.integration.test_pollers_google_business_contract import Rig, poll_until_caught_up, rig_for

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><guid>x</guid><title>Good Shop &secret;</title></item></channel></rss>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><item><guid>y</guid><title>Good Shop &lol3;</title></item></channel></rss>"""
BROKEN = b"<rss version='2.0'><channel><item><title>Good Shop</title></channel>"


def scenario(**faults: int) -> Scenario:
    merchant = MerchantProfile(
        "shop", "Good Shop", "UTC", TrustpilotAccount("bu-shop"), baseline_per_hour=1, feeds=NewsFeed("good-shop", 4)
    )
    return Scenario(
        merchants=(merchant,),
        origin=ORIGIN,
        history_seconds=6 * 3600,
        duration_seconds=8 * 3600,
        faults=Faults(**faults),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def rig(
    sim: SimulatorApp, http: aiohttp.ClientSession, registry: CollectorRegistry, path: str, timeout: float = 5.0
) -> Rig:
    config = SourceConfig(
        id="shop/rss",
        merchant_id="shop",
        platform="rss",
        poll_interval_seconds=0.01,
        options={"url": sim.url + path, "terms": ["Good Shop"]},
    )
    return rig_for(config, http, registry, timeout=timeout)


def truth(sim: SimulatorApp) -> list[str]:
    return sorted(p.key for p in sim.feeds.visible("shop", sim.clock.now()) if p.mentions and not p.review.malformed)


async def test_rss_mentions_are_published_once_and_a_304_costs_nothing(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Posts naming the merchant become mention events (no rating) once; others are skipped; unchanged -> 304."""
    async with SimulatorApp(scenario(malformed_every=5), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        r = rig(sim, http, registry, "/feeds/good-shop.rss")
        await poll_until_caught_up(r)
        events = r.events()
        assert sorted(e.item_id for e in events) == truth(sim)
        assert all(e.kind == "mention" and e.rating is None and "Good Shop" in (e.text or "") for e in events)
        assert all("<" not in (e.text or "") for e in events)  # HTML dropped
        broken = [p for p in sim.feeds.visible("shop", sim.clock.now()) if p.mentions and p.review.malformed]
        assert len(r.deadletters.published) == len(broken) > 0
        assert (await r.poller.poll_once()).published == 0
        assert sim.feeds.not_modified == 1


async def test_new_posts_and_atom_edits_arrive_without_repeats_after_a_restart(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """Later polls publish new posts once and edited Atom entries as updates; a restarted poller on the stored
    cursor publishes only what is new or changed since."""
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN)) as sim:
        first = rig(sim, http, registry, "/feeds/good-shop.atom")
        for hours in (1, 3):  # a post first seen as written, then edited two hours after publishing
            sim.clock.advance(hours * 3600)
            await poll_until_caught_up(first)
        created = [e.item_id for e in first.events() if e.event_type == "review.created"]
        assert len(created) == len(set(created)) and set(truth(sim)) <= set(created)
        updated = [e for e in first.events() if e.event_type == "review.updated"]
        assert updated and all("Update:" in (e.text or "") for e in updated)
        sim.clock.advance(3600)
        second = rig(sim, http, CollectorRegistry(), "/feeds/good-shop.atom")
        second.cursors.stored = first.cursors.stored
        await poll_until_caught_up(second)
        assert second.events()
        for event in second.events():  # new posts, or posts edited since the first poller saw them
            assert event.item_id not in created or "Update:" in (event.text or "")
        assert set(truth(sim)) <= set(created) | {e.item_id for e in second.events()}


async def test_documents_with_a_dtd_or_entities_are_dead_lettered_never_expanded(
    registry: CollectorRegistry, http: aiohttp.ClientSession
) -> None:
    """XXE (external entity), billion laughs and broken XML: the document is dead-lettered whole, nothing parsed."""
    documents = {"/xxe.rss": XXE, "/laughs.rss": LAUGHS, "/broken.rss": BROKEN}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=documents[request.path], content_type="application/rss+xml")

    routes = [web.get(path, serve) for path in documents]
    async with SimulatorApp(scenario(), registry=registry, clock=SimClock.manual(ORIGIN), extra_routes=routes) as sim:
        for path in documents:
            r = rig(sim, http, registry, path)
            await poll_until_caught_up(r)
            assert r.events() == []
            assert len(r.deadletters.published) == 1
            assert r.poller.consecutive_failures == 0


async def test_429_503_and_slow_answers_are_retried(registry: CollectorRegistry, http: aiohttp.ClientSession) -> None:
    """Rate limits (Retry-After), unavailability and answers slower than the timeout are retried; nothing lost."""
    async with SimulatorApp(
        scenario(rate_limit_every=3, server_error_every=5, slow_every=7, slow_seconds=1),
        registry=registry,
        clock=SimClock.manual(ORIGIN),
    ) as sim:
        r = rig(sim, http, registry, "/feeds/good-shop.rss", timeout=0.3)
        for _ in range(8):
            sim.clock.advance(900)
            await poll_until_caught_up(r)
        created = [e.item_id for e in r.events() if e.event_type == "review.created"]
        assert set(truth(sim)) <= set(created) and len(created) == len(set(created))
        for reason in ("rate_limited", "server_error", "timeout"):
            labels = {"platform": "rss", "reason": reason}
            assert (registry.get_sample_value("stormwatch_poll_errors_total", labels) or 0) > 0
