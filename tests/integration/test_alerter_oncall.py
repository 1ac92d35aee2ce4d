"""On the real PostgreSQL: rate caps defer to the next hour with room (never lost), escalation rows record the
person a schedule targeted, and the on-call API answers who is on call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from services.alerter.oncall import on_call
from services.alerter.stages import full_pipeline
from services.alerter.store import NotificationStore
from services.shared.config import Config, parse_config
from services.shared.settings import Settings
from tests.integration.test_alerter_support import make_incident, running_alerter

AUTH = {"Authorization": "Bearer test-token"}
PEOPLE = [{"name": "ana", "receivers": ["ana-dm"]}, {"name": "bo", "receivers": ["bo-dm"]}]
PRIMARY = {
    "name": "primary",
    "time_zone": "UTC",
    "layers": [{"participants": ["ana", "bo"], "rotation": "1d", "handoff": "00:00", "start": "2026-01-01"}],
}


def _config(**extra: Any) -> Config:
    document: dict[str, Any] = {
        "merchants": [{"id": "acme"}],
        "receivers": [
            {"name": "chat", "type": "log", "max_per_hour": 2},
            {"name": "ana-dm", "type": "log"},
            {"name": "bo-dm", "type": "log"},
        ],
        "people": PEOPLE,
        "schedules": [PRIMARY],
        "route": {"receivers": ["chat"]},
        **extra,
    }
    return parse_config(document, env={})


async def test_rate_cap_defers_to_the_next_hour_with_room_and_counts_what_the_log_holds(
    db_pool: asyncpg.Pool,
) -> None:
    """chat allows 2 per hour. Five incidents, recorded in three separate transactions: two are due now, two in
    the next clock hour, one in the hour after; all five stay pending (none suppressed) and say 'rate_capped'.
    The caps count the log's due times (a later transaction sees what an earlier one deferred)."""
    store = NotificationStore(db_pool)
    pipeline = full_pipeline(_config())
    incidents = [make_incident(f"cap-{n}", 1, "open") for n in range(5)]
    results = []
    for batch in (incidents[:3], incidents[3:4], incidents[4:]):
        results.extend(await store.record_states(batch, pipeline))
    assert [r.deferred for r in results] == [(), (), ("rate_capped",), ("rate_capped",), ("rate_capped",)]
    rows = await db_pool.fetch(
        """SELECT status, deferred, due_at, next_attempt_at FROM notifications WHERE receiver = 'chat'
           ORDER BY due_at, created_at"""
    )
    assert [r["status"] for r in rows] == ["pending"] * 5
    hour = rows[0]["due_at"].replace(minute=0, second=0, microsecond=0)
    windows = [(r["due_at"] - hour) // timedelta(hours=1) for r in rows]
    assert windows == [0, 0, 1, 1, 2]
    assert all(r["due_at"] == r["next_attempt_at"] for r in rows)
    assert [r["deferred"] for r in rows] == [None, None, "rate_capped", "rate_capped", "rate_capped"]


async def test_escalation_rows_record_the_person_the_schedule_put_on_call(db_pool: asyncpg.Pool) -> None:
    """A level targeting the schedule writes a row for the on-call person's receiver whose `target` names the
    schedule and the person; a person target names the person."""
    policy = {"name": "p", "levels": [{"targets": ["primary"]}, {"delay": "10m", "targets": ["ana"]}]}
    config = _config(escalation_policies=[policy], route={"receivers": ["chat"], "escalation": "p"})
    store = NotificationStore(db_pool)
    incident = make_incident("oncall", 1, "open")
    await store.record_states([incident], full_pipeline(config))
    expected = on_call(config.schedules["primary"], datetime.now(UTC)).person
    rows = await db_pool.fetch(
        "SELECT receiver, step, target FROM notifications WHERE incident_id = $1 AND step <> '' ORDER BY step",
        incident.incident_id,
    )
    assert [(r["receiver"], r["target"]) for r in rows] == [
        (f"{expected}-dm", f"schedule:primary -> person:{expected}"),
        ("ana-dm", "person:ana"),
    ]
    plain = await db_pool.fetchval(
        "SELECT target FROM notifications WHERE incident_id = $1 AND step = ''", incident.incident_id
    )
    assert plain == ""


async def test_oncall_api_says_who_is_on_call_at_a_time(test_settings: Settings, registry: CollectorRegistry) -> None:
    """GET /api/v1/schedules/primary/oncall?at=... names the person, their receivers and the layer; an unknown
    schedule is 404, a bad or unanswerable `at` 400, no token 401."""
    config = _config(schedules=[PRIMARY, {**PRIMARY, "name": "kiritimati", "time_zone": "Pacific/Kiritimati"}])
    async with running_alerter(test_settings, config, registry) as running, aiohttp.ClientSession() as client:
        url = f"{running.http.url}/api/v1/schedules/primary/oncall"
        async with client.get(url, params={"at": "2026-01-02T12:00:00Z"}, headers=AUTH) as answer:
            assert answer.status == 200
            body = await answer.json()
        assert body == {
            "schedule": "primary",
            "at": "2026-01-02T12:00:00Z",
            "person": "bo",
            "source": "layer 1",
            "receivers": ["bo-dm"],
        }
        async with client.get(url, params={"at": "2025-12-31T12:00:00Z"}, headers=AUTH) as answer:
            assert (await answer.json())["person"] is None
        async with client.get(url, headers=AUTH) as answer:
            assert answer.status == 200 and (await answer.json())["person"] in {"ana", "bo"}
        async with client.get(url, params={"at": "yesterday"}, headers=AUTH) as answer:
            assert answer.status == 400
        # UTC+14 local time of the last second of year 9999 does not exist: a 400, not a 500.
        far = f"{running.http.url}/api/v1/schedules/kiritimati/oncall"
        async with client.get(far, params={"at": "9999-12-31T23:59:59Z"}, headers=AUTH) as answer:
            assert answer.status == 400
        async with client.get(f"{running.http.url}/api/v1/schedules/nope/oncall", headers=AUTH) as answer:
            assert answer.status == 404
        async with client.get(url) as answer:
            assert answer.status == 401
