"""The delivery journal file on its own: what survives a process, a torn last line, one alerter per file, and
compaction that keeps exactly the entries not yet logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.alerter import journal as journal_module
from services.alerter.journal import Accepted, DeliveryJournal, journal_path
from services.shared.errors import ConfigError
from services.shared.settings import Settings


def _entry(n: int, attempt: int = 1) -> Accepted:
    return Accepted(f"n-{n}", attempt, f"n-{n}", "2026-11-24T03:00:00Z" if n % 2 else None)


def test_accepted_entries_not_logged_survive_the_process(tmp_path: Path) -> None:
    """Entries accepted but never marked recorded are what the next process finds, in order and field for field;
    entries marked recorded are not (after the rewrite a replay or compaction does)."""
    path = tmp_path / "state" / "alerter.journal"
    first = DeliveryJournal(path)
    first.accepted([_entry(1), _entry(2)])
    first.accepted([_entry(3, attempt=4)])
    first.close()  # no `recorded`: the process died with all three unlogged

    second = DeliveryJournal(path)
    assert second.left_over() == [_entry(1), _entry(2), _entry(3, attempt=4)]
    second.replayed()
    second.close()
    third = DeliveryJournal(path)
    assert third.left_over() == []
    third.close()


def test_a_line_torn_by_a_kill_is_skipped_and_counted(tmp_path: Path) -> None:
    """A kill in the middle of a write can leave a partial last line (and a bad disk or a hand edit any garbage):
    those lines are skipped and counted, never handed to the replay (a timestamp PostgreSQL refuses would stop the
    alerter at every start), and the whole ones still replay."""
    path = tmp_path / "alerter.journal"
    damaged = [
        b'{"n": "n-2", "a": 1, "s": "n-2", "o"',  # torn mid-write
        b"[1, 2]",
        b'{"n": "n-3", "a": "one", "s": "n-3", "o": null}',
        b'{"n": "n-4", "a": 1, "s": "n-4", "o": "yesterday"}',  # would fail the replay's timestamptz
        b'{"n": "n-5", "a": 1, "s": "n-5", "o": 17}',
    ]
    path.write_bytes(_entry(1).line() + b"\n".join(damaged) + b"\n\n")
    journal = DeliveryJournal(path)
    assert journal.left_over() == [_entry(1)]
    assert journal.torn_lines == len(damaged)
    journal.close()


def test_a_second_alerter_cannot_share_the_journal(tmp_path: Path) -> None:
    """Two processes on one journal would replay each other's entries: the second is refused with an error that
    names the variable, and may open it once the first has closed it."""
    path = tmp_path / "alerter.journal"
    first = DeliveryJournal(path)
    with pytest.raises(ConfigError, match="STORMWATCH_ALERTER_JOURNAL"):
        DeliveryJournal(path)
    first.close()
    DeliveryJournal(path).close()


def test_compaction_keeps_only_the_unlogged_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under steady traffic the file is rewritten once enough was appended, holding just the entries still
    waiting for the log, so it stays small while nothing accepted-but-unlogged is ever dropped."""
    monkeypatch.setattr(journal_module, "COMPACT_AFTER_BYTES", 500)
    path = tmp_path / "alerter.journal"
    journal = DeliveryJournal(path)
    waiting = _entry(0)
    journal.accepted([waiting])
    for n in range(1, 40):
        journal.accepted([_entry(n)])
        journal.recorded([_entry(n)])
    assert path.stat().st_size < 500
    # Killed now, the file may still name entries logged since the last rewrite (harmless to replay), and must
    # name the waiting one; a clean stop leaves just that one.
    on_disk, torn = journal_module._read(path)
    assert waiting in on_disk
    assert torn == 0
    journal.close()
    reopened = DeliveryJournal(path)
    assert reopened.left_over() == [waiting]
    reopened.close()


def test_the_journal_path_comes_from_the_environment() -> None:
    """STORMWATCH_ALERTER_JOURNAL names the file; unset (or blank) there is none."""
    assert Settings.from_env({}).alerter_journal is None
    assert Settings.from_env({"STORMWATCH_ALERTER_JOURNAL": "  "}).alerter_journal is None
    configured = Settings.from_env({"STORMWATCH_ALERTER_JOURNAL": "/var/lib/stormwatch/a.journal"})
    assert configured.alerter_journal == Path("/var/lib/stormwatch/a.journal")


def test_hostname_in_the_path_gives_each_replica_its_own_journal() -> None:
    """Replicas sharing a volume name their journals `{hostname}`: each gets its own file (the lock would refuse
    a shared one); a path without the placeholder is taken as it is."""
    configured = Path("/var/lib/stormwatch/alerter-{hostname}.journal")
    assert journal_path(configured, "alerter-1") == Path("/var/lib/stormwatch/alerter-alerter-1.journal")
    assert journal_path(configured, "alerter-1") != journal_path(configured, "alerter-2")
    assert "{hostname}" not in str(journal_path(configured))
    assert journal_path(Path("/data/a.journal"), "x") == Path("/data/a.journal")
