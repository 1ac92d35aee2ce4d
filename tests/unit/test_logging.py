"""Logging: JSON lines to whatever stdout is now, never to a stream that was replaced and closed."""

from __future__ import annotations

import io
import sys

import orjson
import pytest

from services.shared.logging import configure_logging, get_logger
from services.shared.settings import Secret


def test_logs_follow_the_current_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """After stdout is swapped (and the old stream closed), log lines go to the new stdout as JSON."""
    configure_logging("json", "info")
    first = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdout", first)
    get_logger("t").info("first")
    first.flush()
    assert orjson.loads(first.buffer.getvalue())["event"] == "first"
    first.close()
    second = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdout", second)
    get_logger("t").info("second", token=Secret("hunter2"))
    second.flush()
    line = second.buffer.getvalue()
    assert orjson.loads(line)["event"] == "second"
    assert b"hunter2" not in line
