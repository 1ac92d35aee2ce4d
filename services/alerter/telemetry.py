"""The alerter's Prometheus metrics, built once on the injected registry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.shared import metrics

# One send to a receiver: most answer within a second, a slow one is cut off by its timeout.
# Responder times: minutes to days (2 h is the reply target that recovers most negative reviews).
RESPONSE_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0, 259200.0)
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Review to notification: seconds when a platform pushes, up to hours when it publishes late or a poll interval is long.
END_TO_END_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)


# Merchant ids become a label value only when the configuration names at most this many merchants: a handful of
# merchants (one company's brands, the demo) is a small bound; a multi-tenant deployment gets one series for all.
MERCHANT_LABEL_LIMIT = 20
ALL_MERCHANTS = "_all"  # the merchant label's only value when the configuration names more merchants than that
OTHER = "_other"  # a merchant or responder outside the configuration (the label never takes an unbounded value)


@dataclass(frozen=True)
class LabelValues:
    """Bounded label values for merchants and responders, from the configuration.

    `merchant(id)` is the id when the configuration names at most `limit` merchants (and this is one of them),
    `_all` when it names more; `responder(by)` is a configured person's id, `link` (a signed link), the inbound
    source (`pagerduty`, `opsgenie`) or `detector`, else `_other` (free text from the API never becomes a label)."""

    merchants: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    limit: int = MERCHANT_LABEL_LIMIT
    labelled: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labelled", len(self.merchants) <= self.limit)

    @classmethod
    def of(cls, merchants: Iterable[str], people: Iterable[str] = (), limit: int = MERCHANT_LABEL_LIMIT) -> LabelValues:
        return cls(frozenset(merchants), frozenset(people), limit)

    def merchant(self, merchant_id: str) -> str:
        if not self.labelled:
            return ALL_MERCHANTS
        return merchant_id if merchant_id in self.merchants else OTHER

    def responder(self, by: str | None) -> str:
        if not by:
            return OTHER
        if by in self.people or by in ("link", "detector"):
            return by
        source = by.split(":", 1)[0]
        return source if source in ("pagerduty", "opsgenie") and ":" in by else OTHER


@dataclass(frozen=True)
class AlerterMetrics:
    states_received: Counter
    notifications: Counter
    attempts: Counter
    failures: Counter
    send_seconds: Histogram
    pipeline_latency: Histogram
    review_created_to_delivered: Histogram
    review_observed_to_delivered: Histogram
    time_to_acknowledge: Histogram
    time_to_resolve: Histogram
    suppressed: Counter
    deferred: Counter
    journal_replayed: Counter
    time_to_first_reply: Histogram
    open_incidents: Gauge
    labels: LabelValues

    @classmethod
    def create(cls, registry: CollectorRegistry, labels: LabelValues | None = None) -> AlerterMetrics:
        return cls(
            labels=labels or LabelValues(),
            states_received=metrics.counter(
                registry,
                "stormwatch_incident_states_received_total",
                "Incident states the alerter took in (duplicates included), by kind and status.",
                ["kind", "status"],
            ),
            notifications=metrics.counter(
                registry,
                "stormwatch_notifications_total",
                "Unique notifications by outcome: delivered, retry (needed at least one retry), dead (retry "
                "budget spent), failed (refused by the receiver). `notifier` is the receiver type.",
                ["notifier", "outcome"],
            ),
            attempts=metrics.counter(
                registry,
                "stormwatch_notification_attempts_total",
                "Individual send attempts, retries included, by receiver type and outcome.",
                ["notifier", "outcome"],
            ),
            failures=metrics.counter(
                registry,
                "stormwatch_notification_failures_total",
                "Failed send attempts by receiver type and reason.",
                ["notifier", "reason"],
            ),
            send_seconds=metrics.histogram(
                registry,
                "stormwatch_notification_send_seconds",
                "Duration of one send attempt, by receiver type.",
                ["notifier"],
                buckets=SEND_BUCKETS,
            ),
            pipeline_latency=metrics.histogram(
                registry,
                "stormwatch_pipeline_latency_seconds",
                "Seconds from a poller observing the newest review behind an incident state to its notification "
                "being delivered.",
                buckets=metrics.LATENCY_BUCKETS,
            ),
            review_created_to_delivered=metrics.histogram(
                registry,
                "stormwatch_review_created_to_delivered_seconds",
                "Seconds from the review behind an incident state being created on its platform to the state's "
                "first-line notification being delivered, by receiver type (escalation and repeat steps excluded).",
                ["notifier"],
                buckets=END_TO_END_BUCKETS,
            ),
            review_observed_to_delivered=metrics.histogram(
                registry,
                "stormwatch_review_observed_to_delivered_seconds",
                "Seconds from a poller observing the review behind an incident state to the state's first-line "
                "notification being delivered, by receiver type (escalation and repeat steps excluded).",
                ["notifier"],
                buckets=END_TO_END_BUCKETS,
            ),
            time_to_acknowledge=metrics.histogram(
                registry,
                "stormwatch_time_to_acknowledge_seconds",
                "Seconds from detection to a responder's acknowledgement, by incident kind, platform, merchant "
                "(a configured id when few merchants are configured, else _all) and responder (a configured person, "
                "link, pagerduty, opsgenie or _other).",
                ["kind", "platform", "merchant", "responder"],
                buckets=RESPONSE_BUCKETS,
            ),
            time_to_resolve=metrics.histogram(
                registry,
                "stormwatch_time_to_resolve_seconds",
                "Seconds from detection to a responder's resolve, by incident kind, platform, merchant and responder "
                "(as for stormwatch_time_to_acknowledge_seconds; detector when the detector resolved it first).",
                ["kind", "platform", "merchant", "responder"],
                buckets=RESPONSE_BUCKETS,
            ),
            suppressed=metrics.counter(
                registry,
                "stormwatch_notifications_suppressed_total",
                "Planned notifications never sent, by reason (inhibited, silenced, resolved_while_pending); "
                "rate caps defer instead (stormwatch_notifications_deferred_total).",
                ["reason"],
            ),
            deferred=metrics.counter(
                registry,
                "stormwatch_notifications_deferred_total",
                "Planned notifications moved later but still sent, by reason (rate_capped: over a receiver's "
                "max_per_hour, sent in the next hour with room).",
                ["reason"],
            ),
            journal_replayed=metrics.counter(
                registry,
                "stormwatch_alerter_journal_replayed_total",
                "Deliveries a receiver accepted before the alerter stopped, logged at its next start from the "
                "delivery journal (STORMWATCH_ALERTER_JOURNAL) instead of sent again.",
            ),
            time_to_first_reply=metrics.histogram(
                registry,
                "stormwatch_time_to_first_reply_seconds",
                "Seconds from a negative review to the merchant's first public reply, for reviews behind "
                "sla_breach incidents (from the detector's deadline tracking), by platform and merchant (a configured "
                "id when few merchants are configured, else _all).",
                ["platform", "merchant"],
                buckets=RESPONSE_BUCKETS,
            ),
            open_incidents=metrics.gauge(
                registry,
                "stormwatch_open_incidents",
                "Incidents open now (neither the detector nor a responder resolved them), by kind, severity, "
                "platform, merchant (a configured id when few merchants are configured, else _all) and response "
                "state (triggered, acknowledged). Every alerter replica reports the whole database: use max.",
                ["kind", "severity", "platform", "merchant", "state"],
            ),
        )
