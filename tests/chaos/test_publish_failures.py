"""A broker outage is not a platform outage: failed publishes back the poll loop off without opening the
platform's circuit breaker, so the catch-up starts as soon as the broker is back (found by the broker-outage run)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.pollers.adapters.base import Page
from services.pollers.fingerprints import MemoryFingerprints
from services.pollers.poll_loop import BREAKER_COOLDOWN_SECONDS, BREAKER_THRESHOLD
from services.shared.errors import Reason, TransientError
from tests.unit.test_pollers_poll_loop import FakeAdapter, FakeProducer, item
from tests.unit.test_pollers_revisions import _poller


async def test_publish_failures_back_off_without_opening_the_platform_circuit(registry: CollectorRegistry) -> None:
    """Twice the breaker threshold of polls whose page the broker refuses: every wait stays a backoff (below the
    cooldown), the circuit stays closed, and the first poll after the broker returns publishes the page."""
    rounds = 2 * BREAKER_THRESHOLD
    adapter = FakeAdapter([Page((item(f"r{i}"),), {"n": i}, None) for i in range(rounds + 1)])
    producer = FakeProducer(fail=TransientError("kafka unavailable", reason=Reason.CONNECTION_ERROR))
    loop = _poller(adapter, producer, MemoryFingerprints(), registry)
    delays = [await loop._poll_and_schedule() for _ in range(rounds)]
    assert all(delay < BREAKER_COOLDOWN_SECONDS * 0.9 for delay in delays), delays
    assert not loop.circuit_open and loop.consecutive_failures == 0 and loop.publish_failures == rounds
    producer.fail = None
    await loop._poll_and_schedule()
    assert loop.publish_failures == 0 and len(producer.sent) == 1


async def test_platform_failures_still_open_the_circuit(registry: CollectorRegistry) -> None:
    """The breaker still guards the platform: BREAKER_THRESHOLD failed platform polls in a row open it."""
    from services.pollers.adapters.http import PlatformError

    failure = PlatformError("down", reason=Reason.SERVER_ERROR)
    adapter = FakeAdapter([failure] * BREAKER_THRESHOLD)
    loop = _poller(adapter, FakeProducer(), MemoryFingerprints(), registry)
    delays = [await loop._poll_and_schedule() for _ in range(BREAKER_THRESHOLD)]
    assert loop.circuit_open and delays[-1] >= BREAKER_COOLDOWN_SECONDS * 0.9
