"""Stopping an App closes its resources even when draining in-flight work outlasts the shutdown timeout."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from services.shared.lifecycle import Lifecycle


class StuckDrain(Lifecycle):
    """An App whose drain never finishes, with one resource and one background loop."""

    name = "stuck"

    def __init__(self) -> None:
        super().__init__(shutdown_timeout=0.05)
        self.closed = False
        self.loop_cancelled = False

    async def _start(self, stack: AsyncExitStack) -> None:
        stack.push_async_callback(self._close_resource)
        self.spawn(self._loop(), "loop")

    async def _close_resource(self) -> None:
        self.closed = True

    async def _loop(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.loop_cancelled = True
            raise

    async def _before_stop(self) -> None:
        await asyncio.Event().wait()  # in-flight work that never drains


async def test_a_drain_that_times_out_still_cancels_loops_and_closes_resources() -> None:
    """The drain is abandoned after the timeout; the loops are cancelled and the resource closed anyway (a consumer
    or producer left open would hold its group membership and leak)."""
    app = StuckDrain()
    await app.start()
    await app.stop()
    assert app.loop_cancelled and app.closed
    assert not app.started
