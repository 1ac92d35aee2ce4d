"""The delivery journal: a receiver's acceptance, written to a local file before the notification log records it.

Why: the log write (PostgreSQL) follows the receiver's 200. A process killed between the two leaves the row
'sending'; once its lease runs out it is sent again. While the database is away that window lasts as long as the
outage, and the long chaos runs hit it about once per 15 alerter kills. Appending the acceptance to this file takes
a single `write` right after the 200: the kernel keeps it across a killed process (SIGKILL, OOM, crash), and the
next start records it in the log before it claims any work. What remains is the send itself: a receiver that
accepted a request the alerter never saw answered. No sender can close that; the Idempotency-Key covers it.

A host losing power can lose the last writes (no fsync per delivery: a pager sends bursts, and a lost entry only
means the old re-send). One process per file: an exclusive lock on `<path>.lock` refuses a second alerter.

Format: one JSON object per line, `{"n": notification id, "a": claimed attempt, "s": sent as, "o": observed_at}`.
A line torn by a kill mid-write is skipped (its row is re-sent after the lease, as without a journal).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from services.shared.errors import ConfigError
from services.shared.logging import get_logger
from services.shared.timeutil import parse_rfc3339

log = get_logger("stormwatch.alerter.journal")

# Rewrite the file with only the unrecorded entries once this much was appended since the last rewrite.
COMPACT_AFTER_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Accepted:
    """A send a receiver accepted: the claim it was made under and what the log is to say about it."""

    notification_id: str
    attempt: int
    sent_as: str
    observed_at: str | None

    @property
    def key(self) -> tuple[str, int]:
        return (self.notification_id, self.attempt)

    def line(self) -> bytes:
        fields = {"n": self.notification_id, "a": self.attempt, "s": self.sent_as, "o": self.observed_at}
        return orjson.dumps(fields) + b"\n"


class DeliveryJournal:
    """Append-only file of accepted sends not yet known to be in the log. Not thread-safe: one event loop uses it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise ConfigError(
                f"STORMWATCH_ALERTER_JOURNAL={path}: another alerter holds this journal; give each replica its own"
            ) from None
        self._left_over, self.torn_lines = _read(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._outstanding: dict[tuple[str, int], Accepted] = {}
        self._appended = 0

    @property
    def path(self) -> Path:
        return self._path

    def left_over(self) -> list[Accepted]:
        """What a previous process accepted and may not have logged: to record before claiming anything."""
        return list(self._left_over)

    def accepted(self, entries: Iterable[Accepted]) -> None:
        """Note sends a receiver just accepted; one write, before anything else can run on the loop."""
        batch = list(entries)
        data = b"".join(entry.line() for entry in batch)
        # O_APPEND: one write lands whole at the end (a kill mid-write can only tear the last line).
        written = os.write(self._fd, data)
        if written != len(data):  # a full disk: the rest would be a torn line; the lease re-send still covers it
            log.error("delivery journal write was short", path=str(self._path), written=written, wanted=len(data))
        self._appended += written
        for entry in batch:
            self._outstanding[entry.key] = entry

    def recorded(self, entries: Iterable[Accepted]) -> None:
        """The log now says so (or lost the claim to another replica): the entries are no longer needed."""
        for entry in entries:
            self._outstanding.pop(entry.key, None)
        if self._appended >= COMPACT_AFTER_BYTES:
            self._rewrite(self._outstanding.values())

    def replayed(self) -> None:
        """The previous process's entries are in the log now: drop them from the file."""
        self._left_over = []
        self.torn_lines = 0
        self._rewrite(self._outstanding.values())

    def close(self) -> None:
        """A clean stop leaves only what still waits for the log (a killed process leaves more: replaying an
        entry the log already has changes nothing)."""
        self._rewrite(self._outstanding.values())
        os.close(self._fd)
        os.close(self._lock_fd)

    def _rewrite(self, keep: Iterable[Accepted]) -> None:
        """Replace the file atomically by one holding `keep` (a kill mid-way leaves the old file whole)."""
        temporary = self._path.with_name(self._path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"".join(entry.line() for entry in keep))
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(self._path)
        os.close(self._fd)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._appended = 0


def journal_path(configured: Path, hostname: str | None = None) -> Path:
    """STORMWATCH_ALERTER_JOURNAL with `{hostname}` replaced: each replica on a shared volume gets its own file, and
    a restarted container (same hostname) finds its journal again."""
    return Path(str(configured).replace("{hostname}", hostname or socket.gethostname()))


def _read(path: Path) -> tuple[list[Accepted], int]:
    """The entries a file holds, and how many lines were torn or unreadable (skipped, counted)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    entries: list[Accepted] = []
    torn = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        entry = _parse(line)
        if entry is None:
            torn += 1
        else:
            entries.append(entry)
    return entries, torn


def _parse(line: bytes) -> Accepted | None:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(item, dict):
        return None
    observed = item.get("o")
    try:
        if observed is not None:
            parse_rfc3339(observed)  # replayed into a timestamptz: a bad one would stop the replay at every start
        return Accepted(str(item["n"]), int(item["a"]), str(item["s"]), observed)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
