"""Delivery: one lane per receiver claims due notifications from the log, sends them, and records the outcome.

Each receiver has its own lane, concurrency limit and timeout, so a slow or failing receiver never delays the
others. Exactly-once holds except in one window: a crash (or a stop) after a receiver accepted a notification and
before the log says so. That row stays 'sending' until its lease runs out and is then sent again with the same
notification id (webhooks get it as Idempotency-Key, the file notifier skips ids it already wrote). A database
outage alone does not open that window: the worker keeps retrying to log the outcome, past the lease too, and its
lane claims nothing meanwhile (issue #6). With a delivery journal (`journal.py`) a crash after the receiver's
answer does not either: the acceptance is in the file, and the next start logs it before claiming anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from services.alerter.backoff import DeliveryPolicy, backoff_delay
from services.alerter.journal import Accepted, DeliveryJournal
from services.alerter.notifiers.base import DeliveryFailed, Notification, Notifier
from services.alerter.render import build_group_notification, build_notification
from services.alerter.store import ClaimedNotification, FinalStatus, NotificationStore, Recorded
from services.alerter.telemetry import AlerterMetrics
from services.shared.deadletter import DeadLetterPublisher
from services.shared.errors import Reason, StormwatchError, TransientError
from services.shared.events import IncidentEvent
from services.shared.logging import get_logger
from services.shared.timeutil import monotonic, parse_rfc3339

log = get_logger("stormwatch.alerter.delivery")

SOURCE = "alerter"
# Receivers people read aggregate a group's due states into one message; PagerDuty, Opsgenie and Alertmanager keep
# one alert per incident (their dedup key / alias / labels are the incident), and group on their side.
# Retrying to log an outcome while the database is away: first pause, doubling up to the cap.
_RECORD_FIRST_DELAY_SECONDS = 0.5
_RECORD_MAX_DELAY_SECONDS = 5.0
AGGREGATING_TYPES = frozenset({"webhook", "slack", "email", "log", "file"})


class DeliveryWorker:
    def __init__(
        self,
        store: NotificationStore,
        notifiers: Mapping[str, Notifier],
        policy: DeliveryPolicy,
        deadletters: DeadLetterPublisher,
        metrics: AlerterMetrics,
        *,
        links: Callable[[IncidentEvent], Mapping[str, str]] | None = None,
        journal: DeliveryJournal | None = None,
    ) -> None:
        self._links = links
        self._journal = journal
        self._store = store
        self._notifiers = dict(notifiers)
        self._policy = policy
        self._deadletters = deadletters
        self._metrics = metrics
        self._wakeups = {name: asyncio.Event() for name in self._notifiers}
        self._sends: set[asyncio.Task[None]] = set()
        # Per receiver: sends whose outcome could not be logged yet and is being retried; the lane claims nothing
        # while any is (a claim could take back a row it holds, whose lease ran out, and send it again).
        self._unrecorded = dict.fromkeys(self._notifiers, 0)
        self._stopped = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """New work may be due (the intake just committed some): every lane looks now instead of at its next poll."""
        for event in self._wakeups.values():
            event.set()

    def request_stop(self) -> None:
        """Stop claiming; `run` returns once the sends in flight have finished and been logged."""
        self._stopping = True
        self._stopped.set()
        self.wake()

    async def run(self) -> None:
        try:
            if not await self._replay_journal():
                return
            async with asyncio.TaskGroup() as group:
                for receiver in self._notifiers:
                    group.create_task(self._lane(receiver), name=f"alerter:lane:{receiver}")
            if self._sends:
                await asyncio.gather(*self._sends, return_exceptions=True)
        finally:
            # Only on cancellation (shutdown timeout): an interrupted send stays 'sending' until its lease expires.
            for task in list(self._sends):
                task.cancel()
            for task in list(self._sends):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _lane(self, receiver: str) -> None:
        notifier = self._notifiers[receiver]
        wakeup = self._wakeups[receiver]
        in_flight: set[asyncio.Task[None]] = set()
        pause = self._policy.poll_interval_seconds
        while not self._stopping:
            wakeup.clear()
            if self._unrecorded[receiver]:
                await _wait(wakeup, pause)  # the retrying send wakes the lane once its outcome is logged
                continue
            free = self._policy.max_in_flight_per_receiver - len(in_flight)
            if free > 0:
                whole_groups = notifier.type in AGGREGATING_TYPES
                try:
                    claimed = await self._store.claim_due(
                        receiver, free, self._policy.lease_seconds, whole_groups=whole_groups
                    )
                except TransientError as exc:
                    log.warning("claiming notifications failed", receiver=receiver, error=str(exc))
                    await _wait(wakeup, pause)
                    continue
                for send in _sends(claimed, whole_groups):
                    work = self._deliver(notifier, send[0]) if len(send) == 1 else self._deliver_group(notifier, send)
                    task = asyncio.create_task(work, name=f"alerter:send:{receiver}")
                    in_flight.add(task)
                    self._sends.add(task)
                    task.add_done_callback(functools.partial(self._send_done, in_flight=in_flight, wakeup=wakeup))
                if len(claimed) >= free:
                    continue  # there may be more due right now
            await _wait(wakeup, pause)

    def _send_done(self, task: asyncio.Task[None], in_flight: set[asyncio.Task[None]], wakeup: asyncio.Event) -> None:
        in_flight.discard(task)
        self._sends.discard(task)
        # A slot is free, and the next version of that incident may now be claimable.
        wakeup.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", error=repr(task.exception()))

    async def _replay_journal(self) -> bool:
        """Log what the previous process's receivers accepted before any lane claims (a claim would take back a
        row whose lease ran out and send it again). Retries while the database is away; False: stopped first."""
        journal = self._journal
        if journal is None:
            return True
        if journal.torn_lines:
            log.warning("delivery journal had unreadable lines", path=str(journal.path), lines=journal.torn_lines)
        left_over = journal.left_over()
        if not left_over:
            return True
        owned = 0

        async def replay() -> None:
            nonlocal owned
            owned = await self._store.record_accepted(left_over)

        if not await self._record(None, "journal", replay):
            return False
        journal.replayed()
        self._metrics.journal_replayed.inc(owned)
        log.info(
            "delivery journal replayed",
            path=str(journal.path),
            entries=len(left_over),
            recorded=owned,
            already_logged_or_reclaimed=len(left_over) - owned,
        )
        return True

    def _accepted(self, claims: list[ClaimedNotification], sent_as: str) -> list[Accepted]:
        """Journal a receiver's acceptance right away (before any await): a kill from here on re-sends nothing."""
        entries = [Accepted(c.notification_id, c.attempt, sent_as, c.incident.observed_at) for c in claims]
        if self._journal is not None:
            self._journal.accepted(entries)
        return entries

    def _logged(self, entries: list[Accepted]) -> None:
        if self._journal is not None:
            self._journal.recorded(entries)

    async def _deliver(self, notifier: Notifier, claimed: ClaimedNotification) -> None:
        links = self._links(claimed.incident) if self._links is not None else None
        notification = build_notification(claimed.incident, claimed.receiver, links, claimed.step)
        started = monotonic()
        failure = await self._send(notifier, notification, claimed.receiver)
        if failure is None:
            accepted = self._accepted([claimed], claimed.notification_id)
            self._metrics.send_seconds.labels(notifier.type).observe(monotonic() - started)
            if await self._record(
                claimed.receiver,
                claimed.notification_id,
                functools.partial(self._delivered, notifier, claimed, notification.title),
            ):
                self._logged(accepted)
            return
        self._metrics.send_seconds.labels(notifier.type).observe(monotonic() - started)
        self._metrics.failures.labels(notifier.type, failure.reason.value).inc()
        await self._record(
            claimed.receiver, claimed.notification_id, functools.partial(self._failed, notifier, claimed, failure)
        )

    async def _record(
        self, receiver: str | None, notification_id: str, record: Callable[[], Awaitable[object]]
    ) -> bool:
        """Log a send's outcome, retrying with backoff while the database is away, past our lease too, until it is
        logged or the worker stops (False: not logged). Safe past the lease: every write is conditional on our claim
        (status 'sending' and the attempt we claimed), so after another replica re-claimed the row it records
        nothing and counts nothing. Meanwhile this receiver's lane claims no new work (the long chaos run saw 6
        re-sends of delivered rows whose logging had given up when the lease ran out)."""
        delay = _RECORD_FIRST_DELAY_SECONDS
        holding = False
        try:
            while True:
                try:
                    await record()
                except TransientError as exc:
                    if self._stopping:
                        # The receiver has it (or not) but the log could not say so: the lease expiry re-sends it.
                        log.error(  # noqa: TRY400 - the reason is in the message; a traceback adds nothing
                            "recording a delivery outcome failed", notification_id=notification_id, error=str(exc)
                        )
                        return False
                    if not holding and receiver is not None:
                        holding = True
                        self._unrecorded[receiver] += 1
                    log.warning(
                        "recording a delivery outcome failed, retrying",
                        notification_id=notification_id,
                        receiver=receiver,
                        error=str(exc),
                        retry_in=delay,
                    )
                    await _wait(self._stopped, delay)
                    delay = min(delay * 2, _RECORD_MAX_DELAY_SECONDS)
                    continue
                return True
        finally:
            if holding and receiver is not None:
                self._unrecorded[receiver] -= 1
                self._wakeups[receiver].set()

    async def _deliver_group(self, notifier: Notifier, claims: list[ClaimedNotification]) -> None:
        """One message for a group's due states; delivered, every row is logged in one transaction; failed, each
        row retries (or gives up) on its own, as if sent alone."""
        notification = build_group_notification(
            [c.incident for c in claims], [c.notification_id for c in claims], notifier.name, self._links
        )
        started = monotonic()
        failure = await self._send(notifier, notification, claims[0].receiver)
        accepted = self._accepted(claims, notification.notification_id) if failure is None else []
        self._metrics.send_seconds.labels(notifier.type).observe(monotonic() - started)
        receiver = claims[0].receiver
        if failure is not None:
            for claimed in claims:
                self._metrics.failures.labels(notifier.type, failure.reason.value).inc()
                failed = functools.partial(self._failed, notifier, claimed, failure)
                await self._record(receiver, claimed.notification_id, failed)
            return
        recorded: list[tuple[ClaimedNotification, Recorded]] = []

        async def mark() -> None:
            # One transaction, each row conditional on our claim: a retry after a failed commit starts over.
            recorded[:] = await self._store.mark_group_delivered(claims, notification.notification_id)

        if not await self._record(receiver, notification.notification_id, mark):
            return
        self._logged(accepted)
        self._metrics.attempts.labels(notifier.type, "delivered").inc()
        owned = [(claimed, result) for claimed, result in recorded if result.owned]
        for claimed, result in owned:
            self._metrics.notifications.labels(notifier.type, "delivered").inc()
            if result.latency_seconds is not None:
                self._metrics.pipeline_latency.observe(result.latency_seconds)
            self._observe_end_to_end(notifier.type, claimed.incident)
        log.info(
            "group notification delivered",
            title=notification.title,
            receiver=notifier.name,
            notifier=notifier.type,
            notification_id=notification.notification_id,
            incidents=[c.incident.incident_id for c, _ in owned],
            lost_claims=len(recorded) - len(owned) or None,
        )

    async def _send(self, notifier: Notifier, notification: Notification, receiver: str) -> StormwatchError | None:
        try:
            async with asyncio.timeout(self._policy.send_timeout_seconds):
                await notifier.send(notification)
        except TimeoutError:
            return DeliveryFailed("timeout", retriable=True, reason=Reason.TIMEOUT)
        except StormwatchError as exc:
            return exc
        except Exception as exc:  # a notifier bug must not kill the lane: count it, retry later
            log.exception("notifier raised an unexpected error", receiver=receiver)
            return DeliveryFailed(f"unexpected {type(exc).__name__}", retriable=True, reason=Reason.OTHER)
        return None

    async def _delivered(self, notifier: Notifier, claimed: ClaimedNotification, title: str) -> None:
        observed = claimed.incident.observed_at
        recorded = await self._store.mark_delivered(claimed, None if observed is None else parse_rfc3339(observed))
        if not recorded.owned:
            log.warning("delivered after losing the claim", notification_id=claimed.notification_id)
            return
        self._metrics.attempts.labels(notifier.type, "delivered").inc()
        self._metrics.notifications.labels(notifier.type, "delivered").inc()
        if recorded.latency_seconds is not None:
            self._metrics.pipeline_latency.observe(recorded.latency_seconds)
        if not claimed.step:
            self._observe_end_to_end(notifier.type, claimed.incident)
        log.info(
            "notification delivered",
            title=title,
            receiver=claimed.receiver,
            notifier=notifier.type,
            incident_id=claimed.incident.incident_id,
            version=claimed.incident.version,
            status=claimed.incident.status,
            attempt=claimed.attempt,
            latency_seconds=None if recorded.latency_seconds is None else round(recorded.latency_seconds, 3),
        )

    def _observe_end_to_end(self, notifier_type: str, incident: IncidentEvent) -> None:
        """Review created / observed -> delivered, on this host's clock (a skewed platform clock clamps to 0)."""
        delivered = datetime.now(UTC)
        for started, histogram in (
            (incident.review_created_at, self._metrics.review_created_to_delivered),
            (incident.observed_at, self._metrics.review_observed_to_delivered),
        ):
            if started is not None:
                seconds = (delivered - parse_rfc3339(started)).total_seconds()
                histogram.labels(notifier_type).observe(max(0.0, seconds))

    async def _failed(self, notifier: Notifier, claimed: ClaimedNotification, failure: StormwatchError) -> None:
        """Log a failed send (the caller counted the failure): retry later, or give up. May raise TransientError."""
        reason = failure.reason.value
        context = _log_context(claimed)
        if failure.retriable and claimed.attempt < self._policy.max_attempts:
            retry_after = failure.retry_after if isinstance(failure, DeliveryFailed) else None
            delay = backoff_delay(self._policy, claimed.attempt, retry_after)
            if not (await self._store.schedule_retry(claimed, delay, reason, str(failure))).owned:
                return
            self._metrics.attempts.labels(notifier.type, "retry").inc()
            if claimed.attempt == 1:
                self._metrics.notifications.labels(notifier.type, "retry").inc()
            log.warning("notification failed, will retry", reason=reason, error=str(failure), delay=delay, **context)
            return
        status: FinalStatus = "dead" if failure.retriable else "failed"
        if not (await self._store.mark_final(claimed, status, reason, str(failure))).owned:
            return
        self._metrics.attempts.labels(notifier.type, status).inc()
        self._metrics.notifications.labels(notifier.type, status).inc()
        log.error("notification given up", outcome=status, reason=reason, error=str(failure), **context)
        try:
            await self._deadletters.publish(
                reason=Reason.DELIVERY_EXHAUSTED.value if failure.retriable else reason,
                detail=f"{status} after {claimed.attempt} attempt(s): {failure}",
                source=SOURCE,
                original=orjson.dumps(
                    build_notification(claimed.incident, claimed.receiver, step=claimed.step).to_dict()
                ),
                context={**context, "notifier": notifier.type, "last_reason": reason},
            )
        except TransientError as exc:
            # The notification log already says 'dead'/'failed'; the dead-letter record is the extra copy.
            log.error("dead-lettering a notification failed", error=str(exc), **context)  # noqa: TRY400 - as above


def _sends(claimed: list[ClaimedNotification], whole_groups: bool) -> list[list[ClaimedNotification]]:
    """Claimed rows as sends: each group's own-state rows together (in claim order), everything else alone."""
    sends: list[list[ClaimedNotification]] = []
    groups: dict[str, list[ClaimedNotification]] = {}
    for item in claimed:
        if whole_groups and item.aggregatable:
            if item.group_key not in groups:
                groups[item.group_key] = []
                sends.append(groups[item.group_key])
            groups[item.group_key].append(item)
        else:
            sends.append([item])
    return sends


def _log_context(claimed: ClaimedNotification) -> dict[str, Any]:
    return {
        "notification_id": claimed.notification_id,
        "receiver": claimed.receiver,
        "incident_id": claimed.incident.incident_id,
        "version": claimed.incident.version,
        "attempt": claimed.attempt,
    }


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
