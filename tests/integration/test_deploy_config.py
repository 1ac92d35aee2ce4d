"""The configuration under deploy/ is valid: Stormwatch's config file, Prometheus config and alert rules (with their
unit tests), Grafana provisioning and the dashboard, whose queries use only metrics the services export."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.alerter.oncall import on_call
from services.shared.config import EscalationTarget, parse_config
from services.shared.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
STORMWATCH_CONFIG = DEPLOY / "stormwatch" / "config.yaml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "rules" / "stormwatch.rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "tests" / "stormwatch.rules.test.yml"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "stormwatch.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "overview.json"

# The metrics the services export (README "Metrics"). Dashboards and rules may use these and nothing else.
KNOWN_METRICS = frozenset(
    {
        "stormwatch_reviews_published_total",
        "stormwatch_reviews_processed_total",
        "stormwatch_incidents_total",
        "stormwatch_notifications_total",
        "stormwatch_pipeline_latency_seconds",
        "stormwatch_deadletters_total",
        "stormwatch_polls_total",
        "stormwatch_poll_errors_total",
        "stormwatch_source_last_success_timestamp_seconds",
        "stormwatch_consumer_lag",
        "stormwatch_poll_duration_seconds",
        "stormwatch_rate_limit_waits_total",
        "stormwatch_detector_batch_seconds",
        "stormwatch_detector_duplicates_total",
        "stormwatch_notification_failures_total",
        "stormwatch_notification_send_seconds",
        "stormwatch_notifications_suppressed_total",
        "stormwatch_time_to_acknowledge_seconds",
        "stormwatch_time_to_resolve_seconds",
        "stormwatch_review_created_to_delivered_seconds",
        "stormwatch_review_observed_to_delivered_seconds",
        "stormwatch_detector_state_bytes",
        "stormwatch_detector_tracked_keys",
        "stormwatch_open_incidents",
        "stormwatch_time_to_first_reply_seconds",
    }
)
HISTOGRAMS = frozenset(
    {
        "stormwatch_pipeline_latency_seconds",
        "stormwatch_poll_duration_seconds",
        "stormwatch_detector_batch_seconds",
        "stormwatch_notification_send_seconds",
        "stormwatch_time_to_acknowledge_seconds",
        "stormwatch_time_to_resolve_seconds",
        "stormwatch_review_created_to_delivered_seconds",
        "stormwatch_review_observed_to_delivered_seconds",
        "stormwatch_time_to_first_reply_seconds",
    }
)
# Prometheus's own per-target series, which only the alert rules use (to notice a dead or missing service).
SCRAPE_METRICS = frozenset({"up"})

CONFIG_ENV = {
    "TRUSTPILOT_API_KEY": "test-key",
    "TRUSTPILOT_API_SECRET": "test-secret",
    "STORMWATCH_WEBHOOK_SECRET": "test-hook-secret",
}
# Grafana's variables, replaced by representative values so promtool can parse the queries.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$platform": ".*"}

PROMQL_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf"}
)


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed: `apt-get install -y prometheus` (or `make system-deps`). "
            "These tests check the Prometheus configuration with it and must not be skipped."
        )
    return path


def run_promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (histogram series folded to their family name).

    Strings, label matchers, ranges and grouping clauses are removed first; what is left that is not a function,
    an aggregation or a keyword is a metric name.
    """
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name in PROMQL_KEYWORDS:
            continue
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name.removesuffix(suffix) in HISTOGRAMS:
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def load_dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every query target of every panel."""
    return [
        (panel["title"], target["expr"]) for panel in dashboard_panels(dashboard) for target in panel.get("targets", [])
    ]


def with_grafana_variables_replaced(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_metric_name_extraction_ignores_functions_labels_and_keywords() -> None:
    """The helper the metric checks rely on finds exactly the selected metrics in a representative expression."""
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(stormwatch_pipeline_latency_seconds_bucket{job="x"}[5m])))'
        ' / on (group) sum without (instance) (up{job=~"a|b"} offset 5m) and bogus_metric > bool 1e3'
    )
    assert metric_names(expr) == {"stormwatch_pipeline_latency_seconds", "up", "bogus_metric"}


def test_compose_stormwatch_config_parses() -> None:
    """deploy/stormwatch/config.yaml is a valid config file: the demo merchant in Europe/Amsterdam, its Trustpilot
    source polling the simulator, a signed webhook, a file receiver and the compose Alertmanager, all on the root
    route."""
    config = parse_config(yaml.safe_load(STORMWATCH_CONFIG.read_text(encoding="utf-8")), CONFIG_ENV)
    (merchant,) = config.merchants
    assert (merchant.id, merchant.timezone) == ("demo-shop", "Europe/Amsterdam")
    (source,) = config.sources
    assert (source.id, source.merchant_id, source.platform) == ("demo-shop/trustpilot", "demo-shop", "trustpilot")
    assert source.base_url == "http://simulator:8090"
    assert (source.poll_interval_seconds, source.backfill_hours) == (10.0, 48.0)
    assert source.credentials["api_key"].reveal() == "test-key"
    assert source.credentials["api_secret"].reveal() == "test-secret"
    assert source.options == {"business_unit_id": "bu-demo-shop"}
    webhook, audit, alertmanager, *pagers = config.receivers
    assert [(r.name, r.type) for r in pagers] == [(f"{p}-pager", "webhook") for p in ("ana", "ben", "carla")]
    assert (webhook.name, webhook.type) == ("ops-webhook", "webhook")
    assert webhook.settings["url"].startswith("http://")
    assert webhook.secrets["signing_secret"].reveal() == "test-hook-secret"
    assert (audit.name, audit.type, audit.settings["path"]) == (
        "audit-file",
        "file",
        "/var/lib/stormwatch/notifications.jsonl",
    )
    assert (alertmanager.name, alertmanager.type, alertmanager.settings["url"]) == (
        "alertmanager",
        "alertmanager",
        "http://alertmanager:9093",
    )
    assert config.route.receivers == ("ops-webhook", "audit-file", "alertmanager")


def test_compose_stormwatch_config_shows_people_schedules_escalation_and_grouping() -> None:
    """The compose config is a realistic on-call example: three people, a weekly primary schedule in Amsterdam time
    with an override, an escalation policy (the schedule at once, the lead after 15 min, one repeat, a 30 min ack
    timeout) that critical and high incidents run, grouping per merchant and kind, and a pending info route."""
    config = parse_config(yaml.safe_load(STORMWATCH_CONFIG.read_text(encoding="utf-8")), CONFIG_ENV)
    assert {name: person.receivers for name, person in config.people.items()} == {
        "ana": ("ana-pager",),
        "ben": ("ben-pager",),
        "carla": ("carla-pager",),
    }
    primary = config.schedules["primary"]
    monday = datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert on_call(primary, monday).person == "ana"
    assert on_call(primary, monday + timedelta(days=7)).person == "ben"
    assert on_call(primary, monday + timedelta(days=14)).person == "ana"
    assert on_call(primary, datetime(2026, 12, 24, 12, tzinfo=ZoneInfo("Europe/Amsterdam"))).person == "ben"
    storm = config.escalation_policies["storm"]
    assert [(level.delay_seconds, level.targets) for level in storm.levels] == [
        (0.0, (EscalationTarget("schedule", "primary"),)),
        (900.0, (EscalationTarget("person", "carla"),)),
    ]
    assert (storm.repeat, storm.ack_timeout_seconds) == (1, 1800.0)
    root = config.route
    assert (root.group_by, root.group_wait_seconds, root.group_interval_seconds) == (("merchant", "kind"), 30.0, 300.0)
    by_severity = {child.match["severity"]: child for child in root.routes}
    assert by_severity["critical"].escalation == by_severity["high"].escalation == "storm"
    assert by_severity["info"].pending_for_seconds == 600.0


@pytest.mark.parametrize("missing", sorted(CONFIG_ENV))
def test_compose_stormwatch_config_keeps_secrets_out_of_the_file(missing: str) -> None:
    """Every secret of the compose config file is an environment reference: without the variable, parsing fails and
    names it."""
    env = {name: value for name, value in CONFIG_ENV.items() if name != missing}
    with pytest.raises(ConfigError, match=missing):
        parse_config(yaml.safe_load(STORMWATCH_CONFIG.read_text(encoding="utf-8")), env)


def test_prometheus_config_is_valid() -> None:
    """`promtool check config` accepts prometheus.yml and finds the rule file it names relative to itself."""
    result = run_promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    """Prometheus has a job per Stormwatch service, discovering every replica of the compose service by DNS on the
    port it serves /metrics on (8080; the simulator 8090)."""
    document = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in document["scrape_configs"]}
    for service, port in {"pollers": 8080, "detector": 8080, "alerter": 8080, "simulator": 8090}.items():
        (discovery,) = jobs[f"stormwatch-{service}"]["dns_sd_configs"]
        assert discovery == {"names": [service], "type": "A", "port": port, "refresh_interval": "30s"}
    assert document["rule_files"] == ["rules/*.yml"]


def test_alert_rules_are_valid() -> None:
    """`promtool check rules` accepts the rule file."""
    result = run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    """`promtool test rules` passes: each alert fires when (and only when) its synthetic series say it should."""
    result = run_promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_alert_rules_cover_the_pipeline_health_signals() -> None:
    """There are alerts for a stalled source (no success for 900 s), rising dead letters, notifications ending dead
    or failed, notifications needing retries, and growing consumer lag; each has a severity, a summary and a
    description, and every alert has a unit test."""
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert {
        "StormwatchSourceStalled",
        "StormwatchDeadLettersRising",
        "StormwatchNotificationsFailing",
        "StormwatchNotificationsRetrying",
        "StormwatchConsumerLagGrowing",
    } <= set(rules)
    assert rules["StormwatchSourceStalled"]["expr"] == (
        "time() - stormwatch_source_last_success_timestamp_seconds > 900"
    )
    assert 'outcome=~"dead|failed"' in rules["StormwatchNotificationsFailing"]["expr"]
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert set(rules) <= tested


def test_alert_rules_use_only_exported_metrics() -> None:
    """Every alert expression selects only metrics the services export (or Prometheus's `up`)."""
    for rule in alert_rules():
        assert metric_names(rule["expr"]) <= KNOWN_METRICS | SCRAPE_METRICS, rule["alert"]


def test_grafana_datasource_is_the_compose_prometheus() -> None:
    """Grafana provisions the compose Prometheus as its default data source under the uid the dashboard uses."""
    (datasource,) = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["isDefault"] is True
    dashboard = load_dashboard()
    for panel in dashboard_panels(dashboard):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}, panel["title"]


def test_grafana_loads_dashboards_from_the_mounted_folder() -> None:
    """The dashboard provider reads the folder docker-compose.yml mounts deploy/grafana/dashboards into."""
    (provider,) = yaml.safe_load(DASHBOARD_PROVIDERS.read_text(encoding="utf-8"))["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards/stormwatch"
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "./deploy/grafana/dashboards:/etc/grafana/dashboards/stormwatch:ro" in compose


def test_dashboard_has_the_overview_panels() -> None:
    """The overview dashboard is valid JSON with a stable uid and shows review volume by platform and polarity,
    negative share, incidents by kind and status, open incidents per merchant and platform (one series per
    merchant and platform however many alerter replicas report), notifications by outcome, p50/p99 pipeline
    latency, dead letters and consumer lag."""
    dashboard = load_dashboard()
    assert dashboard["uid"] == "stormwatch-overview"
    exprs = dashboard_exprs(dashboard)
    by_title: dict[str, list[str]] = {}
    for title, expr in exprs:
        by_title.setdefault(title, []).append(expr)
    required = {
        "Review volume by platform and polarity": "sum by (platform, polarity)",
        "Negative share by platform": 'polarity="negative"',
        "Incidents by kind and status": "sum by (kind, status)",
        "Open incidents by merchant and platform": "sum by (merchant, platform) (max without (instance) "
        "(stormwatch_open_incidents",
        "Notifications by outcome": "sum by (notifier, outcome)",
        "Dead letters by source and reason": "stormwatch_deadletters_total",
        "Consumer lag": "stormwatch_consumer_lag",
    }
    for title, fragment in required.items():
        assert any(fragment in expr for expr in by_title[title]), title
    latency = by_title["Pipeline latency (incident observed to delivered)"]
    assert any(expr.startswith("histogram_quantile(0.5,") for expr in latency)
    assert any(expr.startswith("histogram_quantile(0.99,") for expr in latency)
    assert all("stormwatch_pipeline_latency_seconds_bucket" in expr and "(le)" in expr for expr in latency)
    ids = [panel["id"] for panel in dashboard_panels(dashboard)]
    assert len(ids) == len(set(ids))


def test_dashboard_queries_use_only_exported_metrics() -> None:
    """Every panel query (and the platform variable) selects only metrics from the list the services export."""
    dashboard = load_dashboard()
    exprs = dashboard_exprs(dashboard)
    assert exprs
    for title, expr in exprs:
        unknown = metric_names(expr) - KNOWN_METRICS
        assert not unknown, f"panel {title!r} uses unknown metrics {sorted(unknown)}"
    for variable in dashboard["templating"]["list"]:
        (metric,) = re.findall(r"label_values\((\w+),", variable["query"]["query"])
        assert metric in KNOWN_METRICS


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every panel query parses as PromQL: promtool checks them as recording rules, with Grafana's variables
    replaced by representative values."""
    rules = [
        {"record": f"dashboard:query_{index}", "expr": with_grafana_variables_replaced(expr)}
        for index, (_title, expr) in enumerate(dashboard_exprs(load_dashboard()))
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_show_end_to_end_latency_state_size_and_severity() -> None:
    """The pipeline dashboard charts both end-to-end latencies (review created / observed to delivered, p50 and p99
    per notifier), the detector's state size per partition and its tracked keys by kind; the on-call dashboard
    shows incidents opened by severity, the created-to-page latency and acknowledge / resolve times per responder
    and per merchant and platform."""
    dashboards = {
        name: json.loads((DEPLOY / "grafana" / "dashboards" / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("pipeline", "oncall")
    }
    exprs = {name: "\n".join(expr for _title, expr in dashboard_exprs(d)) for name, d in dashboards.items()}
    for metric in ("stormwatch_review_created_to_delivered_seconds", "stormwatch_review_observed_to_delivered_seconds"):
        for quantile in ("0.5", "0.99"):
            expected = f"histogram_quantile({quantile}, sum by (notifier, le) (rate({metric}_bucket"
            assert expected in exprs["pipeline"], (metric, quantile)
    assert "sum by (partition) (stormwatch_detector_state_bytes)" in exprs["pipeline"]
    assert "sum by (kind) (stormwatch_detector_tracked_keys)" in exprs["pipeline"]
    assert "sum by (severity) (rate(stormwatch_incidents_total" in exprs["oncall"]
    assert "stormwatch_review_created_to_delivered_seconds_bucket" in exprs["oncall"]
    for by in ("responder", "merchant, platform"):  # response times per responder, merchant and platform
        for metric in ("stormwatch_time_to_acknowledge_seconds", "stormwatch_time_to_resolve_seconds"):
            assert f"sum by ({by}) (increase({metric}_sum" in exprs["oncall"], (by, metric)
    for dashboard in dashboards.values():
        ids = [panel["id"] for panel in dashboard_panels(dashboard)]
        assert len(ids) == len(set(ids))
        for panel in dashboard_panels(dashboard):
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]


def test_the_catalogue_lists_exactly_the_registered_metrics() -> None:
    """docs/metrics.md lists every metric the services register (found in their source) with its type, and nothing
    else: a new metric without a catalogue entry fails here, and so does an entry for a metric no longer registered
    (renamed or removed) or documented with the wrong type."""
    pattern = re.compile(r'metrics\.(counter|gauge|histogram)\(\s*\w+,\s*"(stormwatch_[a-z_]+)"')
    registered = {
        name: kind
        for path in (ROOT / "services").rglob("*.py")
        for kind, name in pattern.findall(path.read_text(encoding="utf-8"))
    }
    catalogue = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    row = re.compile(r"^\| `(stormwatch_[a-z_]+)` \| (counter|gauge|histogram) \|", re.MULTILINE)
    documented = dict(row.findall(catalogue))
    assert len(registered) >= 30
    assert {name: documented.get(name) for name in registered} == registered, "registered but not catalogued"
    assert {name: registered.get(name) for name in documented} == documented, "catalogued but not registered"
