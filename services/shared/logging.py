"""structlog set-up: JSON lines (orjson) to stdout in production, readable colour output on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(log_format: str = "auto", level: str = "info") -> None:
    """Configure structlog once per process. `auto` picks console output on a TTY and JSON otherwise."""
    use_console = log_format == "console" or (log_format == "auto" and sys.stdout.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    # No file is bound here: the loggers find sys.stdout when they are made, so a redirected or replaced stdout
    # (a test's capture, a daemon's reopened stream) is honoured instead of writing to a closed one.
    if use_console:
        # repr_native_str: otherwise a field without spaces (say a review's `\x1b]0;title\x07`) reaches the
        # terminal raw, escape sequences and all (found by the log-injection property test).
        processors = [*shared, structlog.dev.ConsoleRenderer(repr_native_str=True)]
        factory: Any = structlog.PrintLoggerFactory()
    else:
        processors = [*shared, structlog.processors.JSONRenderer(serializer=orjson.dumps)]
        factory = structlog.BytesLoggerFactory()
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    # aiokafka and asyncpg log through the standard library: keep their warnings, drop their chatter.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
