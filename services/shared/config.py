"""The YAML configuration file: merchants, sources, detection, receivers and routes, validated with named keys."""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import yaml

from services.shared.errors import ConfigError
from services.shared.schemas import load_schema
from services.shared.settings import Secret
from services.shared.timeutil import parse_rfc3339

SENSITIVITY_PRESETS = ("sensitive", "balanced", "strict")


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    timezone: str = "UTC"


@dataclass(frozen=True)
class SourceConfig:
    """One poll loop: a merchant's account or location on one platform."""

    id: str
    merchant_id: str
    platform: str
    base_url: str | None = None
    poll_interval_seconds: float = 60.0
    timezone: str = "UTC"
    backfill_hours: float = 168.0
    credentials: Mapping[str, Secret] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key_path(self) -> str:
        return f"sources[id={self.id}]"


@dataclass(frozen=True)
class DetectionConfig:
    preset: str = "balanced"
    bucket_seconds: int = 900
    baseline_half_life_buckets: float = 96.0
    min_negative: int = 5
    resolve_after_quiet_buckets: int = 4
    negative_threshold: float = 0.5
    # Added by the detector issue (all optional; the README's detection section documents them).
    seasonality: bool = True
    scope_spikes: bool = True
    rating_drop: bool = True
    viral_reach_threshold: float = 1000.0
    viral_reach_thresholds: Mapping[str, float] = field(default_factory=dict)
    response_deadline_hours: Mapping[str, float] = field(default_factory=dict)
    resolution_window_hours: Mapping[str, float] = field(default_factory=dict)
    resolution_warn_before_hours: float = 12.0


@dataclass(frozen=True)
class ReceiverConfig:
    """A named destination. `settings` holds the type-specific keys; the alerter's notifier factory checks them."""

    name: str
    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, Secret] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteConfig:
    """A node of the routing tree: first matching child wins unless it says `continue`."""

    receivers: tuple[str, ...] = ()
    match: Mapping[str, str] = field(default_factory=dict)
    continue_matching: bool = False
    routes: tuple[RouteConfig, ...] = ()
    # Added by the alerter issue (all optional, inherited by child routes unless they set them; durations in
    # seconds, written as numbers or "30s" / "15m" / "1h" in YAML). 0 means: no wait, no spacing, no repeat.
    group_by: tuple[str, ...] = ()
    group_wait_seconds: float = 0.0
    group_interval_seconds: float = 0.0
    repeat_interval_seconds: float = 0.0
    pending_for_seconds: float = 0.0
    escalation: str | None = None


@dataclass(frozen=True)
class InhibitRuleConfig:
    """An open incident matching `source_match` mutes incidents matching `target_match` with equal `equal` labels."""

    source_match: Mapping[str, str]
    target_match: Mapping[str, str]
    equal: tuple[str, ...] = ("merchant",)


@dataclass(frozen=True)
class DigestConfig:
    """A daily digest per merchant at `hour` in the merchant's time zone, to `receivers` (default: its routes')."""

    hour: int = 9
    receivers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryConfig:
    """The alerter's retry budget for one notification (`delivery:`; the alerter's DeliveryPolicy takes its defaults
    from here). Failed attempts back off from `initial_backoff_seconds`, doubling up to `max_backoff_seconds`; after
    `max_attempts` the notification is dead-lettered. The defaults try for about 14 minutes (2 s, 4 s, ... 256 s,
    300 s between 10 attempts), long enough to ride out a receiver's restart or a short outage."""

    max_attempts: int = 10
    initial_backoff_seconds: float = 2.0
    max_backoff_seconds: float = 300.0
    # The delivery worker's own bound on one send, on top of each notifier's timeout.
    send_timeout_seconds: float = 30.0
    # A claimed ('sending') row whose sender vanished becomes due again after this long; must exceed a send.
    lease_seconds: float = 90.0
    max_in_flight_per_receiver: int = 4


@dataclass(frozen=True)
class EscalationTarget:
    """Whom an escalation level notifies: a receiver, a person (all their contact receivers) or a schedule (the
    person on call when the level fires)."""

    kind: Literal["receiver", "person", "schedule"]
    name: str


@dataclass(frozen=True)
class EscalationLevelConfig:
    delay_seconds: float
    # The receiver targets (the level's `receivers:` plus receivers named in `targets:`).
    receivers: tuple[str, ...]
    # Every target in order; receivers-only levels have one receiver target per receiver.
    targets: tuple[EscalationTarget, ...] = ()


@dataclass(frozen=True)
class PersonConfig:
    """A responder and the receivers that reach them (a Slack DM webhook, an e-mail receiver, a PagerDuty key)."""

    name: str
    receivers: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleLayerConfig:
    """`participants` take turns of `rotation_seconds`, handing off at `handoff` ("HH:MM", the schedule's time zone)
    from `start` (a date): a participant's turn starts at the handoff time of the day it begins."""

    participants: tuple[str, ...]
    rotation_seconds: float
    handoff: str = "09:00"
    start: str = "2026-01-05"


@dataclass(frozen=True)
class ScheduleOverrideConfig:
    """`person` is on call instead of the layers from `start` to `end` (RFC 3339)."""

    person: str
    start: str
    end: str


@dataclass(frozen=True)
class ScheduleConfig:
    """An on-call rotation; of its layers, the last one with someone on call wins (PagerDuty's layering)."""

    name: str
    time_zone: str
    layers: tuple[ScheduleLayerConfig, ...]
    overrides: tuple[ScheduleOverrideConfig, ...] = ()


@dataclass(frozen=True)
class EscalationPolicyConfig:
    """Levels notified in turn while nobody acknowledges; `repeat` loops over them again that many times."""

    name: str
    levels: tuple[EscalationLevelConfig, ...]
    repeat: int = 0
    ack_timeout_seconds: float = 0.0


@dataclass(frozen=True)
class Config:
    merchants: tuple[Merchant, ...]
    sources: tuple[SourceConfig, ...] = ()
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    receivers: tuple[ReceiverConfig, ...] = ()
    route: RouteConfig = field(default_factory=RouteConfig)
    # Added by the alerter issue.
    inhibit_rules: tuple[InhibitRuleConfig, ...] = ()
    escalation_policies: Mapping[str, EscalationPolicyConfig] = field(default_factory=dict)
    digest: DigestConfig | None = None
    people: Mapping[str, PersonConfig] = field(default_factory=dict)
    schedules: Mapping[str, ScheduleConfig] = field(default_factory=dict)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)

    def merchant(self, merchant_id: str) -> Merchant:
        for merchant in self.merchants:
            if merchant.id == merchant_id:
                return merchant
        raise KeyError(merchant_id)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a YAML config file; every error names the file and the bad key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_config(document, env)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(document: Any, env: Mapping[str, str] | None = None) -> Config:
    """Validate a decoded config document against schemas/config.v1.json and cross-check its references."""
    environment = os.environ if env is None else env
    validator = jsonschema.Draft7Validator(load_schema("config.v1"))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = _key_path(first.absolute_path)
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(f"{where}: {first.message}{more}")

    merchants = tuple(
        Merchant(
            id=m["id"],
            name=m.get("name", m["id"]),
            timezone=_timezone(m.get("timezone", "UTC"), f"merchants[{i}].timezone"),
        )
        for i, m in enumerate(document["merchants"])
    )
    _unique([m.id for m in merchants], "merchants", "id")
    merchant_ids = {m.id for m in merchants}

    sources = []
    for i, raw in enumerate(document.get("sources", [])):
        where = f"sources[{i}]"
        if raw["merchant"] not in merchant_ids:
            raise ConfigError(f"{where}.merchant: unknown merchant {raw['merchant']!r}")
        sources.append(
            SourceConfig(
                id=raw["id"],
                merchant_id=raw["merchant"],
                platform=raw["platform"],
                base_url=raw.get("base_url"),
                poll_interval_seconds=float(raw.get("poll_interval_seconds", 60.0)),
                timezone=_timezone(raw.get("timezone", "UTC"), f"{where}.timezone"),
                backfill_hours=float(raw.get("backfill_hours", 168.0)),
                credentials={
                    name: _secret(value, f"{where}.credentials.{name}", environment)
                    for name, value in raw.get("credentials", {}).items()
                },
                options=dict(raw.get("options", {})),
            )
        )
    _unique([s.id for s in sources], "sources", "id")

    detection_raw = document.get("detection", {})
    detection = DetectionConfig(**detection_raw)

    receivers = []
    for i, raw in enumerate(document.get("receivers", [])):
        where = f"receivers[{i}]"
        settings = {k: v for k, v in raw.items() if k not in {"name", "type"} and not k.endswith("_secret")}
        secrets = {k: _secret(v, f"{where}.{k}", environment) for k, v in raw.items() if k.endswith("_secret")}
        receivers.append(ReceiverConfig(name=raw["name"], type=raw["type"], settings=settings, secrets=secrets))
    _unique([r.name for r in receivers], "receivers", "name")
    receiver_names = {r.name for r in receivers}

    people = _people(document.get("people", []), receiver_names)
    schedules = _schedules(document.get("schedules", []), people)
    for i, person in enumerate(document.get("people", [])):
        if person["name"] in receiver_names:
            raise ConfigError(f"people[{i}].name: {person['name']!r} is also a receiver (escalation targets are names)")
    for i, schedule in enumerate(document.get("schedules", [])):
        if schedule["name"] in receiver_names or schedule["name"] in people:
            raise ConfigError(f"schedules[{i}].name: {schedule['name']!r} is also a receiver or a person")
    targets = {
        **dict.fromkeys(receiver_names, "receiver"),
        **dict.fromkeys(people, "person"),
        **dict.fromkeys(schedules, "schedule"),
    }
    policies = _escalation_policies(document.get("escalation_policies", []), receiver_names, targets)
    route = _route(document.get("route", {"receivers": sorted(receiver_names)}), "route", receiver_names)
    _check_escalations(route, "route", policies)
    return Config(
        merchants=merchants,
        sources=tuple(sources),
        detection=detection,
        receivers=tuple(receivers),
        route=route,
        inhibit_rules=tuple(
            InhibitRuleConfig(
                source_match=dict(rule["source_match"]),
                target_match=dict(rule["target_match"]),
                equal=tuple(rule.get("equal", ["merchant"])),
            )
            for rule in document.get("inhibit_rules", [])
        ),
        escalation_policies=policies,
        digest=_digest(document.get("digest"), receiver_names),
        people=people,
        schedules=schedules,
        delivery=_delivery(document.get("delivery", {})),
    )


def _route(
    raw: Mapping[str, Any], where: str, receiver_names: set[str], parent: RouteConfig | None = None
) -> RouteConfig:
    for j, name in enumerate(raw.get("receivers", [])):
        if name not in receiver_names:
            raise ConfigError(f"{where}.receivers[{j}]: unknown receiver {name!r}")
    inherited = parent or RouteConfig()

    def seconds(key: str, default: float) -> float:
        return default if key not in raw else _duration(raw[key], f"{where}.{key}")

    node = RouteConfig(
        receivers=tuple(raw.get("receivers", [])),
        match=dict(raw.get("match", {})),
        continue_matching=bool(raw.get("continue", False)),
        group_by=tuple(raw.get("group_by", inherited.group_by)),
        group_wait_seconds=seconds("group_wait", inherited.group_wait_seconds),
        group_interval_seconds=seconds("group_interval", inherited.group_interval_seconds),
        repeat_interval_seconds=seconds("repeat_interval", inherited.repeat_interval_seconds),
        pending_for_seconds=seconds("pending_for", inherited.pending_for_seconds),
        escalation=raw.get("escalation", inherited.escalation),
    )
    children = tuple(
        _route(child, f"{where}.routes[{k}]", receiver_names, node) for k, child in enumerate(raw.get("routes", []))
    )
    return dataclasses.replace(node, routes=children)


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(value: Any, where: str) -> float:
    """Seconds from a number or a "30s" / "15m" / "1h" / "1d" string (the schema checked the shape)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    for unit in ("ms", "s", "m", "h", "d"):
        number = text.removesuffix(unit)
        if number != text:
            try:
                return float(number) * _DURATION_UNITS[unit]
            except ValueError:
                break
    raise ConfigError(f"{where}: expected a duration such as 30s, 15m or 1h")


def _escalation_policies(
    raw: list[Any], receiver_names: set[str], target_kinds: Mapping[str, str]
) -> dict[str, EscalationPolicyConfig]:
    policies: dict[str, EscalationPolicyConfig] = {}
    for i, policy in enumerate(raw):
        where = f"escalation_policies[{i}]"
        levels = []
        for j, level in enumerate(policy["levels"]):
            targets: list[EscalationTarget] = []
            for k, name in enumerate(level.get("receivers", [])):
                if name not in receiver_names:
                    raise ConfigError(f"{where}.levels[{j}].receivers[{k}]: unknown receiver {name!r}")
                targets.append(EscalationTarget("receiver", name))
            for k, name in enumerate(level.get("targets", [])):
                kind = target_kinds.get(name)
                if kind is None:
                    raise ConfigError(f"{where}.levels[{j}].targets[{k}]: no receiver, person or schedule {name!r}")
                targets.append(EscalationTarget(kind, name))  # type: ignore[arg-type]
            targets = list(dict.fromkeys(targets))
            levels.append(
                EscalationLevelConfig(
                    delay_seconds=_duration(level.get("delay", 0), f"{where}.levels[{j}].delay"),
                    receivers=tuple(t.name for t in targets if t.kind == "receiver"),
                    targets=tuple(targets),
                )
            )
        policies[policy["name"]] = EscalationPolicyConfig(
            name=policy["name"],
            levels=tuple(levels),
            repeat=int(policy.get("repeat", 0)),
            ack_timeout_seconds=_duration(policy.get("ack_timeout", 0), f"{where}.ack_timeout"),
        )
    _unique([p["name"] for p in raw], "escalation_policies", "name")
    return policies


def _people(raw: list[Any], receiver_names: set[str]) -> dict[str, PersonConfig]:
    people: dict[str, PersonConfig] = {}
    for i, person in enumerate(raw):
        for k, name in enumerate(person["receivers"]):
            if name not in receiver_names:
                raise ConfigError(f"people[{i}].receivers[{k}]: unknown receiver {name!r}")
        people[person["name"]] = PersonConfig(name=person["name"], receivers=tuple(person["receivers"]))
    _unique([p["name"] for p in raw], "people", "name")
    return people


def _schedules(raw: list[Any], people: Mapping[str, PersonConfig]) -> dict[str, ScheduleConfig]:
    schedules: dict[str, ScheduleConfig] = {}
    for i, schedule in enumerate(raw):
        where = f"schedules[{i}]"
        layers = []
        for j, layer in enumerate(schedule["layers"]):
            for k, name in enumerate(layer["participants"]):
                if name not in people:
                    raise ConfigError(f"{where}.layers[{j}].participants[{k}]: unknown person {name!r}")
            try:
                datetime.date.fromisoformat(layer.get("start", "2026-01-05"))
                datetime.time.fromisoformat(layer.get("handoff", "09:00"))
            except ValueError:
                raise ConfigError(f"{where}.layers[{j}]: start must be a date (YYYY-MM-DD), handoff HH:MM") from None
            rotation = _duration(layer["rotation"], f"{where}.layers[{j}].rotation")
            if rotation <= 0:
                raise ConfigError(f"{where}.layers[{j}].rotation: must be longer than 0s")
            layers.append(
                ScheduleLayerConfig(
                    participants=tuple(layer["participants"]),
                    rotation_seconds=rotation,
                    handoff=layer.get("handoff", "09:00"),
                    start=layer.get("start", "2026-01-05"),
                )
            )
        overrides = []
        for j, override in enumerate(schedule.get("overrides", [])):
            if override["person"] not in people:
                raise ConfigError(f"{where}.overrides[{j}].person: unknown person {override['person']!r}")
            try:
                start, end = parse_rfc3339(override["start"]), parse_rfc3339(override["end"])
            except ValueError:
                raise ConfigError(f"{where}.overrides[{j}]: start and end must be RFC 3339 timestamps") from None
            if end <= start:
                raise ConfigError(f"{where}.overrides[{j}].end: must be after start")
            overrides.append(ScheduleOverrideConfig(override["person"], override["start"], override["end"]))
        schedules[schedule["name"]] = ScheduleConfig(
            name=schedule["name"],
            time_zone=_timezone(schedule.get("time_zone", "UTC"), f"{where}.time_zone"),
            layers=tuple(layers),
            overrides=tuple(overrides),
        )
    _unique([s["name"] for s in raw], "schedules", "name")
    return schedules


def _digest(raw: Mapping[str, Any] | None, receiver_names: set[str]) -> DigestConfig | None:
    if raw is None:
        return None
    for j, name in enumerate(raw.get("receivers", [])):
        if name not in receiver_names:
            raise ConfigError(f"digest.receivers[{j}]: unknown receiver {name!r}")
    return DigestConfig(hour=int(raw.get("hour", 9)), receivers=tuple(raw.get("receivers", [])))


def _delivery(raw: Mapping[str, Any]) -> DeliveryConfig:
    """`delivery:` with durations as in routes; the schema checked the shapes, this checks how they fit together."""
    default = DeliveryConfig()

    def seconds(key: str, fallback: float) -> float:
        return fallback if key not in raw else _duration(raw[key], f"delivery.{key}")

    delivery = DeliveryConfig(
        max_attempts=int(raw.get("max_attempts", default.max_attempts)),
        initial_backoff_seconds=seconds("initial_backoff", default.initial_backoff_seconds),
        max_backoff_seconds=seconds("max_backoff", default.max_backoff_seconds),
        send_timeout_seconds=seconds("send_timeout", default.send_timeout_seconds),
        lease_seconds=seconds("lease", default.lease_seconds),
        max_in_flight_per_receiver=int(raw.get("max_in_flight_per_receiver", default.max_in_flight_per_receiver)),
    )
    if delivery.initial_backoff_seconds <= 0:
        raise ConfigError("delivery.initial_backoff: must be longer than 0s")
    if delivery.max_backoff_seconds < delivery.initial_backoff_seconds:
        raise ConfigError(
            f"delivery.max_backoff: {delivery.max_backoff_seconds:g}s is shorter than initial_backoff "
            f"({delivery.initial_backoff_seconds:g}s)"
        )
    if delivery.send_timeout_seconds <= 0:
        raise ConfigError("delivery.send_timeout: must be longer than 0s")
    if delivery.lease_seconds <= delivery.send_timeout_seconds:
        # Otherwise a slow but live send could be claimed again by another replica and sent twice.
        raise ConfigError(
            f"delivery.lease: {delivery.lease_seconds:g}s must be longer than send_timeout "
            f"({delivery.send_timeout_seconds:g}s), or a slow send could be claimed again and sent twice"
        )
    return delivery


def _check_escalations(node: RouteConfig, where: str, policies: Mapping[str, EscalationPolicyConfig]) -> None:
    if node.escalation is not None and node.escalation not in policies:
        raise ConfigError(f"{where}.escalation: unknown escalation policy {node.escalation!r}")
    for k, child in enumerate(node.routes):
        _check_escalations(child, f"{where}.routes[{k}]", policies)


def _secret(value: Any, where: str, env: Mapping[str, str]) -> Secret:
    if isinstance(value, str):
        return Secret(value)
    # Receivers' `*_secret` keys are not shaped by the schema: check here, or `{}` would raise KeyError (fuzzing).
    if not isinstance(value, Mapping) or not isinstance(value.get("env"), str):
        raise ConfigError(f"{where}: expected a string or {{env: NAME}}")
    name = value["env"]
    found = env.get(name)
    if not found:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return Secret(found)


def _timezone(name: str, where: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: unknown time zone {name!r}") from None
    return name


def _unique(values: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ConfigError(f"{section}[{i}].{key}: duplicate {key} {value!r}")
        seen.add(value)


def _key_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
