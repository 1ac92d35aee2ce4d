"""Connection settings and secrets from environment variables, in one frozen object per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.shared.errors import ConfigError


class Secret:
    """A secret value that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Topics:
    reviews: str = "stormwatch.reviews.v1"
    incidents: str = "stormwatch.incidents.v1"
    deadletter: str = "stormwatch.deadletter.v1"


@dataclass(frozen=True)
class Settings:
    """Everything a service reads from its environment. `None` connections mean: start an embedded one (local run)."""

    kafka_bootstrap_servers: str | None = None
    database_url: Secret | None = None
    database_schema: str = "stormwatch"
    api_token: Secret | None = None
    link_secret: Secret | None = None
    # Base URL of notification links (ack/resolve, console); None: the alerter's own HTTP URL.
    public_url: str | None = None
    config_path: Path | None = None
    topics: Topics = field(default_factory=Topics)
    topic_partitions: int = 4
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    log_format: str = "auto"
    log_level: str = "info"
    consumer_session_timeout_ms: int = 10_000
    fetch_max_wait_ms: int = 50
    # Most events the detector takes in one batch (one transaction per partition): large batches amortise the
    # transaction and the checkpoint under load; under light load batches stay small, so latency does not grow.
    detector_max_batch: int = 10_000
    consumer_group_prefix: str = "stormwatch"
    kafka_idempotence: bool = False
    # The alerter's delivery journal (a local file; one per alerter process): None keeps none, and a kill between
    # a receiver's answer and the database write re-sends that notification after its lease (services/alerter/
    # journal.py).
    alerter_journal: Path | None = None

    def consumer_group(self, service: str) -> str:
        """The consumer group of a service, e.g. `stormwatch-detector`: replicas of a service share it."""
        return f"{self.consumer_group_prefix}-{service}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = source.get(name, "").strip()
            return value or None

        def integer(name: str, default: int) -> int:
            value = text(name)
            if value is None:
                return default
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"environment variable {name}={value!r} is not an integer") from None

        def secret(name: str) -> Secret | None:
            value = text(name)
            return None if value is None else Secret(value)

        config = text("STORMWATCH_CONFIG")
        journal = text("STORMWATCH_ALERTER_JOURNAL")
        log_format = text("STORMWATCH_LOG_FORMAT") or "auto"
        if log_format not in {"auto", "json", "console"}:
            raise ConfigError(f"STORMWATCH_LOG_FORMAT={log_format!r}: expected auto, json or console")
        detector_max_batch = integer("STORMWATCH_DETECTOR_MAX_BATCH", 10_000)
        if detector_max_batch < 1:
            raise ConfigError(f"STORMWATCH_DETECTOR_MAX_BATCH={detector_max_batch}: expected at least 1")
        return cls(
            kafka_bootstrap_servers=text("KAFKA_BOOTSTRAP_SERVERS"),
            database_url=secret("DATABASE_URL"),
            database_schema=text("STORMWATCH_DB_SCHEMA") or "stormwatch",
            api_token=secret("STORMWATCH_API_TOKEN"),
            link_secret=secret("STORMWATCH_LINK_SECRET"),
            public_url=_public_url(text("STORMWATCH_PUBLIC_URL")),
            config_path=None if config is None else Path(config),
            topics=Topics(
                reviews=text("STORMWATCH_TOPIC_REVIEWS") or Topics.reviews,
                incidents=text("STORMWATCH_TOPIC_INCIDENTS") or Topics.incidents,
                deadletter=text("STORMWATCH_TOPIC_DEADLETTER") or Topics.deadletter,
            ),
            topic_partitions=integer("STORMWATCH_TOPIC_PARTITIONS", 4),
            http_host=text("STORMWATCH_HTTP_HOST") or "127.0.0.1",
            http_port=integer("STORMWATCH_HTTP_PORT", 8080),
            log_format=log_format,
            log_level=(text("STORMWATCH_LOG_LEVEL") or "info").lower(),
            consumer_session_timeout_ms=integer("STORMWATCH_CONSUMER_SESSION_TIMEOUT_MS", 10_000),
            fetch_max_wait_ms=integer("STORMWATCH_FETCH_MAX_WAIT_MS", 50),
            detector_max_batch=detector_max_batch,
            consumer_group_prefix=text("STORMWATCH_CONSUMER_GROUP_PREFIX") or "stormwatch",
            kafka_idempotence=(text("STORMWATCH_KAFKA_IDEMPOTENCE") or "false").lower() in {"1", "true", "yes"},
            alerter_journal=None if journal is None else Path(journal),
        )

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise ConfigError("KAFKA_BOOTSTRAP_SERVERS is not set (only `stormwatch run` starts a broker of its own)")
        return self.kafka_bootstrap_servers

    def require_database(self) -> Secret:
        if self.database_url is None:
            raise ConfigError("DATABASE_URL is not set (only `stormwatch run` starts a database of its own)")
        return self.database_url


def _public_url(value: str | None) -> str | None:
    """STORMWATCH_PUBLIC_URL must be an absolute http(s) URL: a typo would put broken links in every page."""
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ConfigError(f"STORMWATCH_PUBLIC_URL={value!r}: expected an http:// or https:// URL")
    return value.rstrip("/")
