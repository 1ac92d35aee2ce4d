"""Fuzz every platform normaliser: any JSON-ish item becomes a valid review event or errors.BadInput, nothing else.

The platforms come from the adapter registry at collection time, so an adapter added later is fuzzed too. Inputs
are random objects keyed by the adapters' own string constants, and mutations (a field dropped, retyped or
replaced, hostile text) of real items fetched from the simulator for every source of the demo configuration.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from hypothesis import event, given
from hypothesis import strategies as st

import services.pollers.adapters as adapters_package
from services.local_run import demo_config
from services.pollers.adapters.base import PageRequest, PlatformAdapter, RawItem
from services.pollers.adapters.generic_items import FIELDS, normalise_item
from services.pollers.adapters.http import PlatformClient
from services.pollers.adapters.registry import ADAPTERS, build_adapter
from services.pollers.ratelimit import TokenBucket
from services.shared import codec, metrics
from services.shared.config import SourceConfig
from services.shared.errors import BadInput, StormwatchError
from services.shared.events import ReviewEvent
from services.simulator.app import SimulatorApp
from services.simulator.clock import SimClock
from services.simulator.scenario import demo_scenario
from tests.fuzz.strategies import (
    build_adapter_for_fuzzing,
    fuzz_settings,
    json_objects,
    json_values,
    scalars,
    vocabulary,
)

_MODULES = [
    importlib.import_module(f"{adapters_package.__name__}.{info.name}")
    for info in pkgutil.iter_modules(adapters_package.__path__)
]
KEYS = st.sampled_from(vocabulary(*_MODULES))
RANDOM_ITEMS = st.one_of(json_objects(KEYS), json_values(KEYS))
OBSERVED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ORIGIN = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SEEDS_PER_PLATFORM = 20
MAX_SEED_BYTES = 8_000


class Seeds(dict[str, list[Any]]):
    """Real items by platform, and the demo's adapter of each platform (built from credentials the simulator
    accepts, which a made-up source cannot always provide); a short repr, as hypothesis prints arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.adapters: dict[str, tuple[PlatformAdapter, SourceConfig]] = {}

    def __repr__(self) -> str:
        return f"<seed items: {', '.join(f'{p}={len(items)}' for p, items in sorted(self.items()))}>"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeds() -> AsyncIterator[Seeds]:
    """Real items per platform: the first pages every demo source fetches from the simulator."""
    found = Seeds()
    registry = metrics.new_registry()
    clock = SimClock.manual(ORIGIN)
    async with SimulatorApp(demo_scenario(origin=ORIGIN), registry=registry, clock=clock) as sim:
        clock.advance(3600.0)
        config = demo_config(sim, "http://127.0.0.1:9/inbox")
        async with aiohttp.ClientSession() as session:
            for index, source in enumerate(config.sources):
                if source.platform not in ADAPTERS:
                    continue
                adapter = build_adapter(source, index)
                found.adapters.setdefault(source.platform, (adapter, source))
                client = PlatformClient(session, source.platform, TokenBucket(1000, 1000), timeout_seconds=10)
                request: PageRequest | None = PageRequest(cursor=None)
                items = found.setdefault(source.platform, [])
                for _ in range(4):
                    if request is None or len(items) >= SEEDS_PER_PLATFORM:
                        break
                    try:
                        page = await adapter.fetch_page(client, request)
                    except StormwatchError:
                        break
                    # Small items only: hypothesis prints what it drew, and a huge repr is a warning (an error here).
                    items.extend(item.data for item in page.items if len(item.raw) <= MAX_SEED_BYTES)
                    request = page.next
    yield found


@st.composite
def mutated(draw: st.DrawFn, items: list[Any]) -> Any:
    """A real item with a few random edits: a key dropped, a value replaced by any JSON value or by hostile text."""
    item = copy.deepcopy(draw(st.sampled_from(items)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        containers = _containers(item)
        if not containers:
            break
        target = draw(st.sampled_from(containers))
        key = draw(st.sampled_from(list(target) if isinstance(target, dict) else list(range(len(target)))))
        action = draw(st.sampled_from(["drop", "scalar", "json"]))
        if action == "drop":
            del target[key]
        else:
            target[key] = draw(scalars if action == "scalar" else json_values(KEYS, max_leaves=6))
    return item


def _containers(node: Any) -> list[Any]:
    """Every non-empty object and array inside `node` (itself included): the places a mutation can edit."""
    if not isinstance(node, dict | list) or not node:
        return []
    found: list[Any] = [node]
    for child in node.values() if isinstance(node, dict) else node:
        found.extend(_containers(child))
    return found


def _check_event(event: ReviewEvent) -> None:
    """A normalised event must be one the codec accepts (schema-valid, round-trips unchanged)."""
    assert isinstance(event, ReviewEvent)
    assert codec.decode_review(codec.encode_review(event)) == event


def test_the_demo_seeds_every_platform_with_real_items(seeds: Seeds) -> None:
    """The mutation fuzzer has real items for every platform the demo polls (else it would fuzz only noise)."""
    assert seeds and all(seeds.values()), {platform: len(items) for platform, items in seeds.items()}


@pytest.mark.parametrize("platform", sorted(ADAPTERS))
@fuzz_settings(150)  # per platform: the registry has a dozen and grows
@given(data=st.data())
def test_platform_normaliser_gives_an_event_or_bad_input(platform: str, seeds: Seeds, data: st.DataObject) -> None:
    """Whatever a platform serves as an item, its adapter's normalise() returns a schema-valid review event or
    raises BadInput (dead-lettered by the poll loop); any other exception would stop that source's poll loop."""
    adapter, source = seeds.adapters.get(platform) or build_adapter_for_fuzzing(platform, ADAPTERS[platform])
    real = seeds.get(platform) or []
    item = data.draw(st.one_of(mutated(real), mutated(real), RANDOM_ITEMS) if real else RANDOM_ITEMS, label="item")
    try:
        normalised = adapter.normalise(RawItem(raw=orjson.dumps(item), data=item), source, OBSERVED_AT)
    except BadInput as exc:
        assert str(exc)
        event("rejected: BadInput")
        return
    event("accepted: a review event")
    _check_event(normalised)


GENERIC_KEYS = st.sampled_from(FIELDS)


@fuzz_settings(200)
@given(
    data=st.one_of(json_objects(GENERIC_KEYS), json_values(GENERIC_KEYS)),
    timezone=st.sampled_from(["UTC", "Europe/Amsterdam", "America/St_Johns", "Pacific/Kiritimati"]),
)
def test_generic_item_normaliser_gives_an_event_or_bad_input(data: Any, timezone: str) -> None:
    """Stormwatch's own item format (signed webhooks, imports): any item becomes a valid event or BadInput."""
    try:
        normalised = normalise_item(
            data, merchant_id="fuzz", platform="homeadvisor", source_id="fuzz/x", observed_at=OBSERVED_AT,
            timezone=timezone,
        )  # fmt: skip
    except BadInput as exc:
        assert str(exc)
        event("rejected: BadInput")
        return
    event("accepted: a review event")
    _check_event(normalised)
