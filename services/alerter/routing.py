"""The routing tree: which receivers an incident state goes to, and the route path that explains why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.shared.config import RouteConfig
from services.shared.events import IncidentEvent

# Route match keys and the incident field each one reads.
MATCH_KEYS = ("merchant", "platform", "kind", "severity", "category")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """One matching leaf of the walk: its path in the config (`route.routes[1].routes[0]`) and its receivers."""

    path: str
    match: Mapping[str, str]
    receivers: tuple[str, ...]
    # The route node itself: its grouping, pending and escalation settings apply to what it picked.
    config: RouteConfig = field(default_factory=RouteConfig, compare=False, repr=False)

    def explain(self) -> str:
        matchers = ", ".join(f"{key}={value!r}" for key, value in self.match.items()) or "everything"
        return f"{self.path} ({matchers}) -> {', '.join(self.receivers) or 'no receiver'}"


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """Every matching route in walk order, and their receivers in first-seen order without repeats."""

    matches: tuple[RouteMatch, ...]

    @property
    def receivers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for match in self.matches:
            for receiver in match.receivers:
                seen.setdefault(receiver, None)
        return tuple(seen)

    def route_of(self, receiver: str) -> str:
        """The path of the first route that chose `receiver` (stored with its notification)."""
        for match in self.matches:
            if receiver in match.receivers:
                return match.path
        return ""

    def match_of(self, receiver: str) -> RouteMatch:
        """The first route that chose `receiver`."""
        for match in self.matches:
            if receiver in match.receivers:
                return match
        raise KeyError(receiver)

    def explain(self) -> str:
        return "; ".join(match.explain() for match in self.matches) or "no route matched"


def incident_labels(incident: IncidentEvent) -> dict[str, str | None]:
    """The values route matchers compare against."""
    return {
        "merchant": incident.merchant_id,
        "platform": incident.platform,
        "kind": incident.kind,
        "severity": incident.severity,
        "category": incident.category,
    }


def matches(matchers: Mapping[str, str], labels: Mapping[str, str | None]) -> bool:
    """Exact match on every matcher; a label the incident lacks (None or "") only matches an empty value."""
    return all((labels.get(key) or "") == expected for key, expected in matchers.items())


def route(tree: RouteConfig, incident: IncidentEvent) -> RoutingResult:
    """Walk the tree Alertmanager-style.

    The root matches every incident (its `match`, if any, is ignored). Children are tried depth-first in order;
    the first matching child wins unless it sets `continue`, in which case later siblings are tried too. A node
    none of whose children matched is itself the match. A node without receivers inherits its parent's.
    """
    labels = incident_labels(incident)
    found: list[RouteMatch] = []
    _walk(tree, "route", tree.receivers, labels, found)
    return RoutingResult(tuple(found))


def _walk(
    node: RouteConfig,
    path: str,
    inherited: tuple[str, ...],
    labels: Mapping[str, str | None],
    found: list[RouteMatch],
) -> None:
    receivers = node.receivers or inherited
    child_matched = False
    for index, child in enumerate(node.routes):
        if not matches(child.match, labels):
            continue
        child_matched = True
        _walk(child, f"{path}.routes[{index}]", receivers, labels, found)
        if not child.continue_matching:
            break
    if not child_matched:
        found.append(RouteMatch(path=path, match=dict(node.match), receivers=receivers, config=node))
