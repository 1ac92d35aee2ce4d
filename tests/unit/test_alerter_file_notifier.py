"""The file notifier: one durable JSON line per notification, never the same notification id twice."""

from __future__ import annotations

from pathlib import Path

import orjson

from services.alerter.notifiers.file import FileNotifier
from services.alerter.render import build_notification
from services.shared.events import Evidence, IncidentEvent
from services.shared.timeutil import ManualClock


def _incident(version: int) -> IncidentEvent:
    return IncidentEvent(
        incident_id="c" * 32,
        version=version,
        status="open" if version == 1 else "update",
        kind="negative_spike",
        severity="warning",
        merchant_id="acme",
        title="Spike",
        summary="More one-star reviews than usual",
        started_at="2026-03-01T09:00:00Z",
        detected_at="2026-03-01T09:30:00Z",
        evidence=Evidence(observed=10, expected=2, window_seconds=900, rate_per_hour=40),
    )


def _ids(path: Path) -> list[str]:
    return [orjson.loads(line)["notification_id"] for line in path.read_bytes().splitlines() if line.strip()]


async def test_each_notification_is_one_line_with_the_full_incident(tmp_path: Path) -> None:
    """Every delivered notification appends one JSON line: its id, title, text, the incident and the write time."""
    path = tmp_path / "out" / "notifications.jsonl"
    notifier = FileNotifier("archive", path, clock=ManualClock())
    await notifier.start()
    first, second = build_notification(_incident(1), "archive"), build_notification(_incident(2), "archive")
    await notifier.send(first)
    await notifier.send(second)

    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["notification_id"] for line in lines] == [first.notification_id, second.notification_id]
    assert lines[0]["incident"] == _incident(1).to_dict()
    assert lines[0]["written_at"] == "2026-01-01T00:00:00Z"


async def test_an_id_already_written_is_skipped_even_after_a_restart(tmp_path: Path) -> None:
    """Sending the same notification again (a retry, or a re-send after a crash, by a new notifier reading the
    file at start) writes nothing and still counts as delivered."""
    path = tmp_path / "notifications.jsonl"
    notification = build_notification(_incident(1), "archive")
    before = FileNotifier("archive", path)
    await before.start()
    await before.send(notification)
    assert (await before.send(notification)).detail == "already written"

    after = FileNotifier("archive", path)
    await after.start()
    outcome = await after.send(notification)

    assert outcome.detail == "already written"
    assert _ids(path) == [notification.notification_id]


async def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next(tmp_path: Path) -> None:
    """A partial last line (a crash mid-write) is ignored at start, its notification written again, and the new
    line starts on a line of its own."""
    path = tmp_path / "notifications.jsonl"
    notification = build_notification(_incident(1), "archive")
    path.write_bytes(orjson.dumps(notification.to_dict())[:40])

    notifier = FileNotifier("archive", path)
    await notifier.start()
    await notifier.send(notification)

    raw_lines = path.read_bytes().splitlines()
    assert len(raw_lines) == 2
    assert orjson.loads(raw_lines[1])["notification_id"] == notification.notification_id
