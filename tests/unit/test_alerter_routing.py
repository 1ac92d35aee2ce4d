"""The alerter's routing tree: first match, continue, nesting, inheritance, the default route, explanations."""

from __future__ import annotations

import dataclasses
from typing import Any

from services.alerter.routing import route
from services.shared.config import RouteConfig, parse_config
from services.shared.events import Evidence, IncidentEvent

RECEIVERS = ["default", "pager", "social", "logistics", "audit", "acme-team"]


def _tree(route_document: dict[str, Any]) -> RouteConfig:
    document = {
        "merchants": [{"id": "acme"}],
        "receivers": [{"name": name, "type": "log"} for name in RECEIVERS],
        "route": route_document,
    }
    return parse_config(document, env={}).route


def _incident(**changes: Any) -> IncidentEvent:
    base = IncidentEvent(
        incident_id="0" * 32,
        version=1,
        status="open",
        kind="negative_spike",
        severity="warning",
        merchant_id="acme",
        platform="trustpilot",
        category="logistics",
        title="t",
        summary="s",
        started_at="2026-03-01T10:00:00Z",
        detected_at="2026-03-01T10:05:00Z",
        evidence=Evidence(observed=1, expected=1, window_seconds=60, rate_per_hour=1),
    )
    return dataclasses.replace(base, **changes)


def test_first_matching_child_wins() -> None:
    """Children are tried in order and the first match stops the walk, like Alertmanager without `continue`."""
    tree = _tree(
        {
            "receivers": ["default"],
            "routes": [
                {"match": {"severity": "critical"}, "receivers": ["pager"]},
                {"match": {"platform": "trustpilot"}, "receivers": ["social"]},
                {"match": {"category": "logistics"}, "receivers": ["logistics"]},
            ],
        }
    )
    assert route(tree, _incident(severity="critical")).receivers == ("pager",)
    assert route(tree, _incident()).receivers == ("social",)


def test_continue_lets_later_siblings_match_too() -> None:
    """A matching child with `continue: true` lets the walk go on to its later siblings."""
    tree = _tree(
        {
            "receivers": ["default"],
            "routes": [
                {"match": {"merchant": "acme"}, "receivers": ["audit"], "continue": True},
                {"match": {"severity": "warning"}, "receivers": ["social"]},
                {"match": {"platform": "trustpilot"}, "receivers": ["logistics"]},
            ],
        }
    )
    result = route(tree, _incident())
    assert result.receivers == ("audit", "social")
    assert [m.path for m in result.matches] == ["route.routes[0]", "route.routes[1]"]


def test_nested_routes_match_depth_first_and_inherit_receivers() -> None:
    """A nested match wins over its parent; a child without receivers inherits its parent's."""
    tree = _tree(
        {
            "receivers": ["default"],
            "routes": [
                {
                    "match": {"merchant": "acme"},
                    "receivers": ["acme-team"],
                    "routes": [
                        {"match": {"severity": "critical"}, "receivers": ["pager"]},
                        {"match": {"kind": "negative_spike"}},
                    ],
                }
            ],
        }
    )
    critical = route(tree, _incident(severity="critical"))
    spike = route(tree, _incident())
    other = route(tree, _incident(kind="viral_thread"))
    assert (critical.receivers, critical.matches[0].path) == (("pager",), "route.routes[0].routes[0]")
    assert (spike.receivers, spike.matches[0].path) == (("acme-team",), "route.routes[0].routes[1]")
    assert (other.receivers, other.matches[0].path) == (("acme-team",), "route.routes[0]")


def test_no_matching_child_falls_back_to_the_root() -> None:
    """When no child matches, the root (which matches everything) is the route; its receivers are the default."""
    tree = _tree({"receivers": ["default"], "routes": [{"match": {"merchant": "globex"}, "receivers": ["pager"]}]})
    result = route(tree, _incident())
    assert result.receivers == ("default",)
    assert result.explain() == "route (everything) -> default"


def test_a_missing_incident_field_only_matches_an_empty_value() -> None:
    """An incident without a platform or category matches `platform: ""` but never a concrete platform."""
    tree = _tree(
        {
            "receivers": ["default"],
            "routes": [
                {"match": {"platform": "trustpilot"}, "receivers": ["social"]},
                {"match": {"platform": ""}, "receivers": ["audit"]},
            ],
        }
    )
    assert route(tree, _incident(platform=None)).receivers == ("audit",)
    assert route(tree, _incident(platform="trustpilot")).receivers == ("social",)


def test_receivers_are_not_repeated_and_explanations_name_the_path() -> None:
    """Two matching routes naming the same receiver give it once; the explanation lists each matching route."""
    tree = _tree(
        {
            "receivers": ["default"],
            "routes": [
                {"match": {"merchant": "acme"}, "receivers": ["pager", "audit"], "continue": True},
                {"match": {"severity": "warning"}, "receivers": ["audit", "social"]},
            ],
        }
    )
    result = route(tree, _incident())
    assert result.receivers == ("pager", "audit", "social")
    assert result.route_of("social") == "route.routes[1]"
    assert "route.routes[0] (merchant='acme') -> pager, audit" in result.explain()


def test_an_empty_tree_routes_nowhere() -> None:
    """A config without receivers routes every incident to nobody (the intake then writes no notification)."""
    result = route(RouteConfig(), _incident())
    assert result.receivers == ()
