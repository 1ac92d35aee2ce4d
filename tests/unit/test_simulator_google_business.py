"""The simulated Google location: its own timeline, YAML support, and deterministic replies and edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.simulator.google_business import render_review, state_at
from services.simulator.scenario import GoogleLocation, demo_scenario, parse_scenario
from services.simulator.timeline import generate_platform_timeline, generate_timeline

ORIGIN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_yaml_google_location_and_demo_merchant() -> None:
    """A merchant's `google:` block is parsed; the demo merchant has a Google location."""
    scenario = parse_scenario(
        {
            "merchants": [
                {
                    "id": "s",
                    "trustpilot": {"business_unit_id": "b"},
                    "google": {"account_id": "1", "location_id": "2", "baseline_per_hour": 3},
                }
            ]
        }
    )
    assert scenario.merchant("s").google == GoogleLocation("1", "2", baseline_per_hour=3)
    assert demo_scenario(origin=ORIGIN).merchant("demo-shop").google is not None


def test_platform_timeline_is_separate_deterministic_and_storm_free() -> None:
    """Google's reviews come from their own stream (same every run), carry the platform and hold no storm reviews."""
    scenario = demo_scenario(origin=ORIGIN)
    first = generate_platform_timeline(scenario, "google_business", {"demo-shop": 4.0}).all("demo-shop")
    again = generate_platform_timeline(scenario, "google_business", {"demo-shop": 4.0}).all("demo-shop")
    assert first == again and first
    assert {r.platform for r in first} == {"google_business"} and not any(r.storm for r in first)
    trustpilot_ids = {r.id for r in generate_timeline(scenario).all("demo-shop")}
    assert not trustpilot_ids & {r.id for r in first}


def test_replies_and_edits_appear_over_time_and_move_update_time() -> None:
    """A review's reply and raised rating become visible later, each moving updateTime forward."""
    location = GoogleLocation("1", "2", reply_share=1.0, edit_share=1.0)
    scenario = demo_scenario(origin=ORIGIN)
    reviews = generate_platform_timeline(scenario, "google_business", {"demo-shop": 30.0}).all("demo-shop")
    negative = next(r for r in reviews if r.stars <= 2)
    fresh = state_at(negative, location, negative.created_at)
    assert fresh.reply_at is None and fresh.updated_at == negative.created_at
    later = state_at(negative, location, negative.created_at + timedelta(days=1))
    assert later.reply_at is not None and later.stars == 5 and later.updated_at > later.reply_at
    rendered = render_review(later, location)
    assert rendered["starRating"] == "FIVE" and rendered["reviewReply"]["comment"]
    assert rendered["name"].endswith(f"/reviews/{negative.id}")


def test_yaml_platform_blocks_for_etsy_yelp_and_ebay() -> None:
    """`etsy`, `yelp` and `ebay` blocks of a merchant are parsed; the demo merchant is on every platform."""
    from services.simulator.scenario import EbaySeller, EtsyShop, YelpBusiness

    scenario = parse_scenario(
        {
            "merchants": [
                {
                    "id": "s",
                    "trustpilot": {"business_unit_id": "b"},
                    "etsy": {"shop_id": "12"},
                    "yelp": {"business_id": "s-nyc", "baseline_per_hour": 2},
                    "ebay": {"user_id": "s_seller"},
                }
            ]
        }
    )
    merchant = scenario.merchant("s")
    assert (
        merchant.etsy == EtsyShop("12")
        and merchant.yelp == YelpBusiness("s-nyc", 2)
        and merchant.ebay == EbaySeller("s_seller")
    )
    demo = demo_scenario(origin=ORIGIN).merchant("demo-shop")
    assert None not in (demo.google, demo.etsy, demo.yelp, demo.ebay)
