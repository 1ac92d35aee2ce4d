"""Group aggregation in Alertmanager's style: a timeline with an injected clock over a simulated notification log
(group_wait for the first message, group_interval for changes, late states joining the waiting message), the
group message's rendering, and how delivery splits claimed rows into sends."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.alerter.delivery import _sends
from services.alerter.pipeline import IntakeContext, OpenIncident, Silence
from services.alerter.render import build_group_notification, group_notification_id
from services.alerter.stages import full_pipeline
from services.alerter.store import ClaimedNotification
from services.shared.config import parse_config
from services.shared.events import Evidence, IncidentEvent

SPIKE = IncidentEvent(
    incident_id="0" * 32,
    version=1,
    status="open",
    kind="negative_spike",
    severity="high",
    merchant_id="acme",
    platform="trustpilot",
    category="logistics",
    title="Spike",
    summary="s",
    started_at="2026-03-01T09:00:00Z",
    detected_at="2026-03-01T09:30:00Z",
    evidence=Evidence(observed=10, expected=2, window_seconds=900, rate_per_hour=40),
)


class SimulatedLog:
    """The facts the grouping stage reads, from rows (group, receiver, due second) at the clock's second `at`."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float]] = []
        self.at = 0.0

    async def now(self) -> datetime:
        return datetime(2026, 3, 1, 10, tzinfo=UTC) + timedelta(seconds=self.at)

    async def active_silences(self) -> Sequence[Silence]:
        return ()

    async def open_incidents(self, merchant_id: str, exclude: str) -> Sequence[OpenIncident]:
        return ()

    async def count_due_between(self, receiver: str, start: datetime, end: datetime) -> int:
        return 0

    async def group_age(self, group_key: str, receiver: str) -> float | None:
        past = [due for key, name, due in self.rows if (key, name) == (group_key, receiver) and due <= self.at]
        return None if not past else self.at - max(past)

    async def group_pending_in(self, group_key: str, receiver: str) -> float | None:
        later = [due for key, name, due in self.rows if (key, name) == (group_key, receiver) and due > self.at]
        return None if not later else min(later) - self.at

    async def paged_before(self, incident_id: str, receiver: str) -> bool:
        return True


async def test_timeline_group_wait_then_group_interval_ticks_with_late_states_joining() -> None:
    """group_wait 30 s, group_interval 5 min. A at t=0 and B at t=10 go out together at 30 s; C at 60 s and D
    at 100 s together at 330 s (one interval after the first message); E at 400 s at 630 s; F for another
    merchant at 100 s starts its own group (130 s). Messages = distinct (group, due) pairs."""
    config = parse_config(
        {
            "merchants": [{"id": "acme"}, {"id": "globex"}],
            "receivers": [{"name": "chat", "type": "log"}],
            "route": {"receivers": ["chat"], "group_by": ["merchant"], "group_wait": "30s", "group_interval": "5m"},
        },
        env={},
    )
    pipeline = full_pipeline(config)
    log = SimulatedLog()
    arrivals = [(0, "A", "acme"), (10, "B", "acme"), (60, "C", "acme"), (100, "D", "acme"), (100, "F", "globex")]
    arrivals.append((400, "E", "acme"))
    due_of: dict[str, float] = {}
    for at, name, merchant in arrivals:
        log.at = float(at)
        incident = dataclasses.replace(SPIKE, incident_id=name.lower() * 32, merchant_id=merchant)
        (planned,) = await pipeline.plan(IntakeContext(incident, "triggered", None, log))
        due_of[name] = at + planned.delay_seconds
        log.rows.append((planned.group_key, planned.receiver, due_of[name]))
    assert due_of == {"A": 30.0, "B": 30.0, "C": 330.0, "D": 330.0, "F": 130.0, "E": 630.0}
    messages = sorted({(key, due) for key, _, due in log.rows}, key=lambda m: m[1])
    assert [(key.rsplit("=", 1)[1], due) for key, due in messages] == [
        ("acme", 30.0),
        ("globex", 130.0),
        ("acme", 330.0),
        ("acme", 630.0),
    ]


def _claim(n: int, group_key: str, step: str = "") -> ClaimedNotification:
    incident = dataclasses.replace(SPIKE, incident_id=f"{n:032x}", title=f"Spike {n}")
    return ClaimedNotification(f"{n:032x}", "chat", incident, 1, step, group_key)


def test_delivery_sends_each_groups_rows_together_and_the_rest_alone() -> None:
    """Own-state rows of a group_by group form one send; per-incident keys, escalation steps and receivers that do
    not aggregate (PagerDuty...) are sent one by one."""
    rows = [
        _claim(1, "route|merchant=acme"),
        _claim(2, f"route|incident={2:032x}"),
        _claim(3, "route|merchant=acme"),
        _claim(4, "route|merchant=acme", step="escalation:p:0:0"),
        _claim(5, "route|merchant=globex"),
    ]
    assert [[c.notification_id[-1] for c in send] for send in _sends(rows, True)] == [["1", "3"], ["2"], ["4"], ["5"]]
    assert [len(send) for send in _sends(rows, False)] == [1, 1, 1, 1, 1]


def test_group_message_lists_every_state_with_its_text_and_links() -> None:
    """The group message's title says how many incidents; its text indexes them, then gives each one's own
    text and links; its id depends only on the rows it carries (a re-send keeps its idempotency key)."""
    claims = [_claim(1, "g"), _claim(2, "g")]
    ids = [c.notification_id for c in claims]
    message = build_group_notification(
        [c.incident for c in claims],
        ids,
        "chat",
        lambda i: {"console": f"https://x/console#/incidents/{i.incident_id}"},
    )
    assert message.title.startswith("[2 incidents] acme: [OPEN] HIGH negative_spike: Spike 1")
    assert message.text.splitlines()[:3] == [
        "2 incidents in this group:",
        "1. [OPEN] HIGH negative_spike: Spike 1",
        "2. [OPEN] HIGH negative_spike: Spike 2",
    ]
    assert f"Console: https://x/console#/incidents/{2:032x}" in message.text
    assert message.notification_id == group_notification_id(list(reversed(ids)))
    body = message.to_dict()
    assert [i["incident_id"] for i in body["incidents"]] == [c.incident.incident_id for c in claims]
