"""One source's poll loop: fetch pages, dead-letter bad items, publish the rest, and only then advance the cursor."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.pollers.adapters.base import Cursor, Page, PageRequest, PlatformAdapter, PollOptions, RawItem
from services.pollers.adapters.http import PlatformError, Requester, UnparseablePage
from services.pollers.backoff import Backoff
from services.pollers.cursor_store import CursorStore
from services.pollers.fingerprints import Fingerprints
from services.pollers.metrics import PollerMetrics
from services.pollers.revisions import as_update, content_fingerprint
from services.shared import codec
from services.shared.config import SourceConfig
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import BadInput, Reason, StormwatchError
from services.shared.events import ReviewEvent
from services.shared.kafka import EventProducer
from services.shared.logging import get_logger
from services.shared.timeutil import Clock, WallClock

log = get_logger("stormwatch.pollers")

DEADLETTER_SOURCE = "pollers"
# After this many failed polls in a row the source's circuit opens: it is polled at most once per cooldown, so a
# platform that is down is not hammered by every source that uses it (each source still probes on its own).
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN_SECONDS = 300.0


class _Stopping(Exception):
    """A stop was requested while the loop waited."""


@dataclass
class PollStats:
    pages: int = 0
    published: int = 0
    dead_lettered: int = 0
    retries: int = 0
    unchanged: int = 0  # re-served items whose content was already published
    more: bool = False  # stopped at max_pages_per_poll with more to read: poll again at once
    stopped: bool = False


class SourcePoller:
    """Polls one configured source forever: bad items are dead-lettered, outages backed off, nothing ends the loop.

    A graceful stop (`request_stop`) lets an in-flight page finish publishing and storing its cursor, so a
    restart neither loses nor repeats a review.
    """

    def __init__(
        self,
        source: SourceConfig,
        adapter: PlatformAdapter,
        client: Requester,
        *,
        producer: EventProducer,
        deadletters: DeadLetterPublisher,
        cursors: CursorStore,
        topic: str,
        metrics: PollerMetrics,
        semaphore: asyncio.Semaphore,
        options: PollOptions,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        fingerprints: Fingerprints | None = None,
    ) -> None:
        self.source = source
        self._adapter = adapter
        self._client = client
        self._producer = producer
        self._deadletters = deadletters
        self._cursors = cursors
        self._fingerprints = fingerprints
        self._topic = topic
        self._metrics = metrics
        self._semaphore = semaphore
        self._options = options
        self._clock = clock or WallClock()
        self._monotonic = monotonic
        self._platform = adapter.platform
        self._key = source.merchant_id.encode()
        self._context: dict[str, str | int | float | None] = {
            "merchant_id": source.merchant_id,
            "platform": adapter.platform,
            "source_id": source.id,
        }
        interval = source.poll_interval_seconds
        # Seeded by the source id: each source gets its own jitter, the same one on every run.
        self._rng = random.Random(source.id)  # noqa: S311 - jitter, not security
        self._retry_backoff = Backoff(base=0.5, cap=30.0, rng=self._rng)
        self._failure_backoff = Backoff(base=min(interval, 5.0), cap=max(60.0, interval * 10), rng=self._rng)
        self._stop = asyncio.Event()
        self._cursor: Cursor | None = None
        self._cursor_loaded = False
        self.last_success: float | None = None  # monotonic time of the last successful poll
        self.consecutive_failures = 0
        # Failed polls in a row because Kafka would not take the page (the platform answered fine).
        self.publish_failures = 0
        self._publish_failed = False
        self._last_bad_page: bytes | None = None  # digest of the unreadable page dead-lettered last

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Poll until asked to stop."""
        try:
            await self._pause(self.first_delay())
            while True:
                await self._pause(await self._poll_and_schedule())
        except _Stopping:
            return

    async def _poll_and_schedule(self) -> float:
        """Run one poll; returns how long to wait before the next one."""
        try:
            stats = await self.poll_once()
        except _Stopping:
            raise
        except StormwatchError as exc:
            if self._publish_failed:
                # The broker, not the platform, failed: back off, but leave the platform's circuit alone. Opening it
                # held the catch-up back for a whole cooldown after the broker returned (chaos suite, broker outage).
                self.publish_failures += 1
                return self._failure_backoff.delay(self.publish_failures)
            self.consecutive_failures += 1
            retry_after = exc.retry_after if isinstance(exc, PlatformError) else None
            return self._after_failure(self._failure_backoff.delay(self.consecutive_failures, retry_after))
        except Exception:  # noqa: BLE001 - a bug in one adapter must not end the loop; poll_once logged it
            self.consecutive_failures += 1
            return self._after_failure(self._failure_backoff.delay(self.consecutive_failures))
        self.consecutive_failures = 0
        self.publish_failures = 0
        if stats.more:
            return 0.0
        return self.interval_delay()

    def first_delay(self) -> float:
        """Seconds before the first poll: a per-source offset (seeded by the source id) of up to half the interval, at
        most one second, so sources started together do not all hit a platform in the same instant."""
        return self._rng.uniform(0, min(self.source.poll_interval_seconds, 2.0) * 0.5)

    def interval_delay(self) -> float:
        """Seconds between successful polls: the interval +-10 %, drawn per source, so 1,000 sources configured with
        one interval drift apart instead of polling in lockstep (the semaphore bounds how many poll at once)."""
        return self.source.poll_interval_seconds * self._rng.uniform(0.9, 1.1)

    @property
    def circuit_open(self) -> bool:
        return self.consecutive_failures >= BREAKER_THRESHOLD

    def _after_failure(self, delay: float) -> float:
        """The wait after a failed poll: the backoff, or the breaker's cooldown once the circuit is open."""
        if not self.circuit_open:
            return delay
        if self.consecutive_failures == BREAKER_THRESHOLD:
            log.warning(
                "circuit open", source=self.source.id, platform=self._platform, cooldown=BREAKER_COOLDOWN_SECONDS
            )
        return max(delay, BREAKER_COOLDOWN_SECONDS * self._rng.uniform(0.9, 1.1))

    async def poll_once(self) -> PollStats:
        """One poll: pages until caught up (or the page budget is spent). Logs one line, whatever happens."""
        stats = PollStats()
        self._publish_failed = False
        async with self._semaphore:
            started = self._monotonic()
            outcome, error = "cancelled", None
            try:
                await self._poll(stats)
                outcome = "stopped" if stats.stopped else "ok"
            except _Stopping:
                outcome = "stopped"
                raise
            except Exception as exc:
                outcome, error = "error", exc
                raise
            finally:
                self._finish(stats, outcome, error, self._monotonic() - started)
        return stats

    async def _poll(self, stats: PollStats) -> None:
        if not self._cursor_loaded:
            self._cursor = await self._cursors.load(self.source.id)
            self._cursor_loaded = True
        request: PageRequest | None = PageRequest(self._cursor)
        while request is not None:
            if self._stop.is_set():
                stats.stopped = True
                return
            if stats.pages >= self._options.max_pages_per_poll:
                stats.more = True
                break
            page = await self._fetch(request, stats)
            stats.pages += 1
            await self._publish(page, stats)
            # Only now, with every event of the page acknowledged, may the cursor move past it.
            await self._cursors.save(self.source.id, self._platform, page.cursor)
            self._cursor = page.cursor
            request = page.next
        if self._cursor is not None:
            await self._cursors.save(self.source.id, self._platform, self._cursor, succeeded_at=self._clock.now())

    async def _fetch(self, request: PageRequest, stats: PollStats) -> Page:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._adapter.fetch_page(self._client, request)
            except StormwatchError as exc:
                if isinstance(exc, UnparseablePage) and attempt >= self._options.max_attempts:
                    await self._dead_letter_page(exc)
                if not exc.retriable or attempt >= self._options.max_attempts:
                    raise
                self._metrics.errors.labels(platform=self._platform, reason=exc.reason.value).inc()
                retry_after = exc.retry_after if isinstance(exc, PlatformError) else None
                if exc.reason is Reason.RATE_LIMITED:
                    self._metrics.rate_limit_waits.labels(platform=self._platform).inc()
                stats.retries += 1
                await self._pause(self._retry_backoff.delay(attempt, retry_after))

    async def _publish(self, page: Page, stats: PollStats) -> None:
        observed_at = self._clock.now()
        events: list[ReviewEvent] = []
        # Sources that re-read a window (eBay, Google) serve a broken item again on every poll: dead-letter the same
        # bytes once. Keys of dead-lettered bytes live beside the fingerprints.
        digests = {item.raw: "raw:" + hashlib.sha256(item.raw).hexdigest()[:32] for item in page.items}
        known_bad: dict[str, str] = {}
        if self._fingerprints is not None and page.items:
            known_bad = await self._fingerprints.load(self.source.id, digests.values())
        rejected: dict[str, str] = {}
        for item in page.items:
            try:
                events.append(self._adapter.normalise(item, self.source, observed_at))
            except BadInput as exc:
                if digests[item.raw] in known_bad:
                    stats.unchanged += 1
                    continue
                await self._dead_letter(item, exc)
                stats.dead_lettered += 1
                rejected[digests[item.raw]] = "dead-lettered"
        events, seen = await self._revise(events, stats)
        seen.update(rejected)
        if events:
            records = [(self._key, codec.encode_review(event)) for event in events]
            try:
                await self._producer.send_batch(self._topic, records)
            except StormwatchError:
                self._publish_failed = True
                raise
            self._metrics.published.labels(platform=self._platform).inc(len(records))
            stats.published += len(records)
        if self._fingerprints is not None and seen:
            # After the ack: a crash before this line re-publishes the same deterministic ids, never loses an edit.
            await self._fingerprints.save(self.source.id, seen)

    async def _revise(self, events: list[ReviewEvent], stats: PollStats) -> tuple[list[ReviewEvent], dict[str, str]]:
        """Drop re-served items whose content is unchanged; turn changed ones into `review.updated` events.

        Snapshots pass through untouched (their ids already name their counters); without a fingerprint store the
        adapter's events pass through as they are.
        """
        if self._fingerprints is None:
            return events, {}
        tracked = [e for e in events if e.event_type != "thread.snapshot"]
        known = await self._fingerprints.load(self.source.id, {e.item_id for e in tracked})
        kept: list[ReviewEvent] = []
        seen: dict[str, str] = {}
        for event in events:
            if event.event_type == "thread.snapshot":
                kept.append(event)
                continue
            fingerprint = content_fingerprint(event)
            previous = seen.get(event.item_id, known.get(event.item_id))
            if previous == fingerprint:
                stats.unchanged += 1
                continue
            revised = as_update(event, fingerprint) if previous and event.event_type == "review.created" else event
            seen[event.item_id] = fingerprint
            kept.append(revised)
        return kept, seen

    async def _dead_letter(self, item: RawItem, exc: BadInput) -> None:
        await self._deadletters.publish(
            reason=exc.reason.value,
            detail=str(exc),
            source=DEADLETTER_SOURCE,
            original=item.raw,
            context=self._context,
        )

    async def _dead_letter_page(self, exc: UnparseablePage) -> None:
        """A page still unreadable after every attempt goes to the dead-letter topic with its bytes, once per content:
        the poll still fails (the cursor cannot move past a page nobody could read) and the next poll tries again."""
        digest = hashlib.sha256(exc.body).digest()
        if digest == self._last_bad_page:
            return
        await self._deadletters.publish(
            reason=exc.reason.value,
            detail=str(exc),
            source=DEADLETTER_SOURCE,
            original=exc.body,
            context=self._context,
        )
        self._last_bad_page = digest

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or raise _Stopping as soon as a stop is requested."""
        if self._stop.is_set():
            raise _Stopping
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise _Stopping

    def _finish(self, stats: PollStats, outcome: str, error: BaseException | None, duration: float) -> None:
        platform = self._platform
        reason = None
        # Counted whatever the outcome: pages published before a failure were acknowledged and stay published.
        for item_outcome, count in (
            ("published", stats.published),
            ("dead_lettered", stats.dead_lettered),
            ("unchanged", stats.unchanged),
        ):
            if count:
                self._metrics.items.labels(platform=platform, outcome=item_outcome).inc(count)
        if outcome in {"ok", "error"}:
            self._metrics.polls.labels(platform=platform, outcome=outcome).inc()
            self._metrics.duration.labels(platform=platform).observe(duration)
        if outcome == "ok":
            self.last_success = self._monotonic()
            self._metrics.last_success.labels(platform=platform, source=self.source.id).set(
                self._clock.now().timestamp()
            )
        elif outcome == "error":
            reason = error.reason.value if isinstance(error, StormwatchError) else Reason.OTHER.value
            self._metrics.errors.labels(platform=platform, reason=reason).inc()
        fields = {
            "source": self.source.id,
            "merchant": self.source.merchant_id,
            "platform": platform,
            "outcome": outcome,
            "pages": stats.pages,
            "published": stats.published,
            "dead_lettered": stats.dead_lettered,
            "retries": stats.retries,
            "unchanged": stats.unchanged,
            "duration_ms": round(duration * 1000, 1),
        }
        if outcome == "error" and not isinstance(error, StormwatchError):
            log.error("poll", reason=reason, exc_info=error, **fields)
        elif outcome == "error":
            log.warning("poll", reason=reason, error=str(error), **fields)
        else:
            log.info("poll", **fields)
