"""The console's incident page charts every version of an incident from the API (not only the versions the open tab
saw arrive), with the evidence a responder needs, and keeps updating live. Headless Debian Chromium via Playwright
against a running alerter on the real broker and PostgreSQL."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, async_playwright, expect
from prometheus_client import CollectorRegistry

from services.shared.events import Evidence, IncidentEvent, SampleItem, deterministic_id
from services.shared.settings import Settings
from services.shared.timeutil import format_rfc3339
from tests.e2e.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, TOKEN
from tests.integration.test_alerter_support import (
    RunningAlerter,
    alerter_config,
    produce_incidents,
    running_alerter,
    wait_until,
)

REACH = (10.0, 30.0, 70.0, 120.0)
PREDICTED = (60.0, 150.0, 300.0, 400.0)
SAMPLES = (
    SampleItem("tp-1", "trustpilot", "https://www.trustpilot.com/reviews/tp-1", "Paket kam nie an.", "de", 1.0),
    SampleItem("tp-2", "trustpilot", "https://www.trustpilot.com/reviews/tp-2", "Still waiting.", "en", 2.0),
)
PLAYBOOK = ("Reply publicly within 2 hours.", "Check the carrier's status page.")


def thread_state(version: int, reach: float, predicted: float) -> IncidentEvent:
    """Version `version` of one viral-thread incident: reach so far and the predicted final reach."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return IncidentEvent(
        incident_id=deterministic_id("console-evidence", "thread"),
        version=version,
        status="open" if version == 1 else "update",
        kind="viral_thread",
        severity="high",
        merchant_id="acme",
        title="Parcel thread keeps growing",
        summary="A thread about lost parcels is spreading.",
        started_at=format_rfc3339(start),
        detected_at=format_rfc3339(start + timedelta(minutes=5)),
        observed_at=format_rfc3339(start + timedelta(minutes=10 * version)),
        review_created_at=format_rfc3339(start + timedelta(minutes=10 * version - 2)),
        platform="trustpilot",
        category="logistics",
        thread_id="thread-parcels",
        evidence=Evidence(
            observed=reach,
            expected=100.0,
            window_seconds=600 * version,
            rate_per_hour=reach,
            predicted_reach=predicted,
            sample_items=SAMPLES,
            languages={"de": 3, "en": 1},
            categories={"logistics": 4},
        ),
        playbook=PLAYBOOK,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, on a new empty profile."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is not installed: `apt-get install -y chromium`; this test must not be skipped")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


async def detail(running: RunningAlerter, incident_id: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{running.http.url}/api/v1/incidents/{incident_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response,
    ):
        return await response.json() if response.status == 200 else None


@pytest.mark.e2e
async def test_incident_page_charts_every_version_and_updates_live(
    test_settings: Settings, registry: CollectorRegistry, browser: BrowserContext, tmp_path: Path
) -> None:
    """Four versions of a thread incident exist before the page opens: the API lists each version with its own
    evidence (samples only on the incident), and the page charts all four against the expected band and as a
    growth curve ending in the predicted reach; it shows the samples with their links and languages, the playbook
    and the delivered notifications. A fifth version arriving while the page is open is charted without a
    reload."""
    pairs = enumerate(zip(REACH, PREDICTED, strict=True), start=1)
    states = [thread_state(version, reach, predicted) for version, (reach, predicted) in pairs]
    incident_id = states[0].incident_id
    config = alerter_config([{"name": "archive", "type": "file", "path": str(tmp_path / "notifications.jsonl")}])
    async with running_alerter(test_settings, config, registry) as running:
        await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, states)

        async def all_delivered() -> bool:
            found = await detail(running, incident_id)
            return bool(found) and [n["status"] for n in found["notifications"]] == ["delivered"] * len(states)

        await wait_until(all_delivered, "four versions stored and delivered")
        found = await detail(running, incident_id)
        assert [s["version"] for s in found["states"]] == [1, 2, 3, 4]
        assert [s["evidence"]["observed"] for s in found["states"]] == list(REACH)
        assert [s["evidence"]["predicted_reach"] for s in found["states"]] == list(PREDICTED)
        assert all("sample_items" not in s["evidence"] for s in found["states"])
        assert [s["observed_at"] for s in found["states"]] == [s.observed_at for s in states]
        assert found["incident"]["review_created_at"] == states[-1].review_created_at

        page = await browser.new_page()
        await page.goto(f"{running.http.url}/console")
        await page.fill("#token", TOKEN)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator(f'tr[data-incident-id="{incident_id}"]')).to_be_visible(timeout=15000)
        await page.goto(f"{running.http.url}/console#/incidents/{incident_id}")
        await expect(page.locator("#i-title")).to_have_text("Parcel thread keeps growing")

        evidence = page.locator("#evidence-chart svg.evidence-svg")
        await expect(evidence.locator("circle.observed-dot")).to_have_count(4)
        await expect(evidence.locator("polygon.band")).to_have_count(1)
        await expect(evidence).to_have_attribute("data-versions", "4")
        growth = page.locator("#growth-chart svg.growth-svg")
        await expect(growth.locator("circle.reach-dot")).to_have_count(4)
        await expect(growth.locator("circle.predicted-dot")).to_have_count(1)
        await expect(growth).to_contain_text("reach 400")
        await expect(growth).to_contain_text("v1")

        await expect(page.locator("#samples li.sample")).to_have_count(2)
        await expect(page.locator("#samples a.sample-link").first).to_have_attribute(
            "href", "https://www.trustpilot.com/reviews/tp-1"
        )
        await expect(page.locator("#samples .sample-language").first).to_have_text("language: de")
        await expect(page.locator("#languages")).to_contain_text("de 3")
        await expect(page.locator("#playbook li")).to_have_text(list(PLAYBOOK))
        await expect(page.locator("#timeline tbody tr", has_text="notification")).to_have_count(4)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "console-thread.png"), full_page=True)

        # Live: a fifth version is charted while the page stays open.
        fifth = dataclasses.replace(thread_state(5, 180.0, 450.0), status="update")
        await produce_incidents(test_settings.require_kafka(), test_settings.topics.incidents, [fifth])
        await expect(growth.locator("circle.reach-dot")).to_have_count(5, timeout=20000)
        await expect(page.locator("#growth-chart")).to_contain_text("reach 450")
        await expect(page.locator("#evidence-chart svg.evidence-svg circle.observed-dot")).to_have_count(5)
