"""File notifier: appends one JSON line per notification to a file, durably, and never writes an id twice."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from services.alerter.notifiers.base import DeliveryFailed, DeliveryOutcome, Notification, Notifier
from services.shared.errors import Reason
from services.shared.logging import get_logger
from services.shared.timeutil import Clock, WallClock, format_rfc3339

log = get_logger("stormwatch.alerter.file")


class FileNotifier(Notifier):
    """Dedup by notification id: the ids already in the file are read at start, so a re-send after a crash
    between write and log is skipped. Writes are serialised and fsynced before `send` returns."""

    type = "file"

    def __init__(self, name: str, path: Path, *, clock: Clock | None = None) -> None:
        super().__init__(name)
        self.path = path
        self._clock = clock or WallClock()
        self._written: set[str] = set()
        self._lock = asyncio.Lock()
        self._started = False

    async def start(self) -> None:
        if not self._started:
            self._written = await asyncio.to_thread(_read_ids, self.path)
            self._started = True

    async def send(self, notification: Notification) -> DeliveryOutcome:
        if not self._started:
            raise RuntimeError("FileNotifier.send before start()")
        async with self._lock:
            if notification.notification_id in self._written:
                return DeliveryOutcome("already written")
            record = notification.to_dict()
            record["written_at"] = format_rfc3339(self._clock.now())
            line = orjson.dumps(record) + b"\n"
            try:
                await asyncio.to_thread(_append, self.path, line)
            except OSError as exc:
                # A full disk or a vanished folder may come back; the retry budget bounds the wait.
                raise DeliveryFailed(
                    f"cannot write file: {exc.strerror or type(exc).__name__}",
                    retriable=True,
                    reason=Reason.OTHER,
                ) from None
            self._written.add(notification.notification_id)
        return DeliveryOutcome("written")


def _read_ids(path: Path) -> set[str]:
    ids: set[str] = set()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ids
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            # A line cut short by a crash mid-write: that notification was never confirmed, so it is sent again.
            log.warning("unreadable line in notification file", path=str(path), line=number)
            continue
        if isinstance(record, dict) and isinstance(record.get("notification_id"), str):
            ids.add(record["notification_id"])
    return ids


def _append(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        # After a crash mid-write the last line may lack its newline; start ours on a line of its own.
        if handle.tell() > 0 and not _ends_with_newline(path):
            handle.write(b"\n")
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
