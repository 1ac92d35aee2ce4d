"""The lifecycle every App shares: start/stop/run, a LIFO cleanup stack, owned background tasks, bounded shutdown."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

from services.shared.logging import get_logger

log = get_logger("stormwatch.lifecycle")


class Lifecycle(abc.ABC):
    """Base class of every service App.

    Subclasses implement `_start(stack)` and register each resource's close on `stack` right after opening it,
    so a failed start unwinds what already started and `stop()` closes everything in reverse order. Background
    work goes through `spawn()`: the App keeps a strong reference, cancels it on stop, and a task that dies with
    an error makes `run()` stop the App and re-raise that error.
    """

    name = "app"

    def __init__(self, shutdown_timeout: float = 15.0) -> None:
        self._shutdown_timeout = shutdown_timeout
        self._stack: AsyncExitStack | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failure: BaseException | None = None
        self._failed = asyncio.Event()
        self._stopping = False
        self.started = False

    @abc.abstractmethod
    async def _start(self, stack: AsyncExitStack) -> None:
        """Open the App's resources, registering each one's close on `stack` right after it opens."""

    async def _before_stop(self) -> None:  # noqa: B027 - an optional hook: doing nothing is the right default
        """Hook: stop consuming and finish in-flight work before resources close (default: nothing)."""

    async def start(self) -> None:
        if self.started:
            return
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            await self._cancel_tasks()
            await stack.aclose()
            raise
        self._stack = stack
        self._stopping = False
        self.started = True
        log.info("service started", service=self.name)

    async def stop(self) -> None:
        """Idempotent, bounded by the shutdown timeout."""
        if not self.started or self._stopping:
            return
        self._stopping = True
        stack, self._stack = self._stack, None
        try:
            try:
                async with asyncio.timeout(self._shutdown_timeout):
                    await self._before_stop()
            except TimeoutError:
                # Draining took too long: cancel what is left, but still close every resource below, or the
                # consumer, producer and pool would be abandoned open (their members and leases with them).
                log.error("draining timed out", service=self.name, timeout=self._shutdown_timeout)  # noqa: TRY400
            async with asyncio.timeout(self._shutdown_timeout):
                # Background loops stop before the resources they use (consumer, producer, pool) close.
                await self._cancel_tasks()
                if stack is not None:
                    await stack.aclose()
        except TimeoutError:
            log.error("shutdown timed out", service=self.name, timeout=self._shutdown_timeout)  # noqa: TRY400
        finally:
            self.started = False
            log.info("service stopped", service=self.name)

    async def run(self, stop: asyncio.Event) -> None:
        """Start, wait for a stop request or a failed background task, then stop cleanly."""
        await self.start()
        stop_wait = asyncio.ensure_future(stop.wait())
        fail_wait = asyncio.ensure_future(self._failed.wait())
        try:
            await asyncio.wait({stop_wait, fail_wait}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            fail_wait.cancel()
            await self.stop()
        if self._failure is not None:
            raise self._failure

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    def is_alive(self) -> bool:
        return self.started and self._failure is None

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and self._failure is None:
            log.error("background task failed", service=self.name, task=task.get_name(), error=repr(error))
            self._failure = error
            self._failed.set()

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
