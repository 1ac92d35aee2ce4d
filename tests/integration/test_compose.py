"""docker-compose.yml is valid for Debian's docker-compose and wires the production deployment as designed."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
STORMWATCH_SERVICES = ("pollers", "detector", "alerter")
EXPECTED_SERVICES = {
    "kafka",
    "kafka-init",
    "postgres",
    "prometheus",
    "alertmanager",
    "grafana",
    "simulator",
    *STORMWATCH_SERVICES,
}
# Secrets the alerter alone receives; every other secret is named by the config file, which every service parses.
ALERTER_ONLY = {"STORMWATCH_API_TOKEN"}


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "docker-compose is not installed: `apt-get install -y docker-compose` (or `make system-deps`). "
            "These tests validate docker-compose.yml with it and must not be skipped."
        )
    return path


def run_compose(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`docker-compose -f docker-compose.yml ARGS` with only PATH and `env` set and an empty env file, so neither the
    caller's shell nor a developer's .env changes the result."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("", encoding="utf-8")
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), **(env or {})}
    return subprocess.run(
        [docker_compose(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def compose_config(tmp_path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    result = run_compose(tmp_path, "config", env=env)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The resolved compose file with every variable at its default."""
    return compose_config(tmp_path_factory.mktemp("compose"))


def env_references(node: Any) -> set[str]:
    """The NAMEs of every `{env: NAME}` secret reference anywhere in a decoded config document."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_references(item) for item in node))
    return set()


def services(config: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = config["services"]
    return result


def test_compose_config_validates_with_defaults_only(tmp_path: Path) -> None:
    """`docker-compose config` exits 0 with an empty environment and warns about no unset variable: every
    interpolation has a default, so a fresh checkout validates and starts without an .env file."""
    result = run_compose(tmp_path, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "is not set" not in result.stderr, result.stderr


def test_compose_defines_the_whole_deployment(config: dict[str, Any]) -> None:
    """Kafka, its topic initialiser, PostgreSQL, Prometheus, Alertmanager, Grafana, the three services and the
    simulator are defined, and the stateful ones keep their data in named volumes."""
    assert set(services(config)) == EXPECTED_SERVICES
    volumes = {"kafka-data", "postgres-data", "prometheus-data", "alertmanager-data", "grafana-data", "alerter-data"}
    assert volumes <= set(config["volumes"])


def test_every_long_running_service_has_a_healthcheck(config: dict[str, Any]) -> None:
    """Every service except the one-shot kafka-init declares a health check, and the Stormwatch services' checks ask
    their own /healthz on the port they serve with the image's Python (slim images have no curl)."""
    for name, service in services(config).items():
        if name == "kafka-init":
            assert "healthcheck" not in service
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in STORMWATCH_SERVICES:
        test = services(config)[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        assert "http://127.0.0.1:8080/healthz" in test[3], name
    assert "http://127.0.0.1:8090/healthz" in services(config)["simulator"]["healthcheck"]["test"][3]
    assert "pg_isready" in services(config)["postgres"]["healthcheck"]["test"][1]
    assert "kafka-broker-api-versions.sh" in services(config)["kafka"]["healthcheck"]["test"][1]
    assert "http://127.0.0.1:9093/-/healthy" in services(config)["alertmanager"]["healthcheck"]["test"]


def test_services_start_after_topics_exist_and_database_is_healthy(config: dict[str, Any]) -> None:
    """The three services wait for kafka-init to complete successfully and for PostgreSQL to be healthy; kafka-init
    waits for a healthy broker; Grafana waits for Prometheus."""
    for name in STORMWATCH_SERVICES:
        assert services(config)[name]["depends_on"] == {
            "kafka-init": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
        }, name
    assert services(config)["kafka-init"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert services(config)["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}


def test_stormwatch_services_run_from_one_image_with_limits_and_restarts(config: dict[str, Any]) -> None:
    """pollers, detector, alerter and simulator are built from the repository's Dockerfile into one image, run its
    subcommand, restart unless stopped, and have CPU and memory limits; every long-running service is limited."""
    for name in (*STORMWATCH_SERVICES, "simulator"):
        service = services(config)[name]
        assert service["build"] == {"context": str(ROOT), "dockerfile": "Dockerfile"}, name
        assert service["image"] == "stormwatch:latest", name
        assert service["command"][0] == name, name
        assert service["restart"] == "unless-stopped", name
        assert service["read_only"] is True, name
    for name, service in services(config).items():
        if name == "kafka-init":
            continue
        limits = service["deploy"]["resources"]["limits"]
        assert limits["memory"] and limits["cpus"], name


def test_stormwatch_services_get_connections_and_production_settings(config: dict[str, Any]) -> None:
    """Each service reaches Kafka at kafka:9092 and PostgreSQL at postgres:5432, listens on 0.0.0.0:8080, logs JSON,
    uses idempotent producers, and reads the mounted deploy/stormwatch/config.yaml."""
    for name in STORMWATCH_SERVICES:
        service = services(config)[name]
        env = service["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert re.fullmatch(r"postgresql://stormwatch:[^@]+@postgres:5432/stormwatch", env["DATABASE_URL"])
        assert env["STORMWATCH_HTTP_HOST"] == "0.0.0.0"
        assert str(env["STORMWATCH_HTTP_PORT"]) == "8080"
        assert env["STORMWATCH_LOG_FORMAT"] == "json"
        assert str(env["STORMWATCH_KAFKA_IDEMPOTENCE"]) == "true"
        assert env["STORMWATCH_CONFIG"] == "/etc/stormwatch/config.yaml"
        assert f"{ROOT / 'deploy' / 'stormwatch'}:/etc/stormwatch:ro" in service["volumes"], name
    alerter = services(config)["alerter"]
    assert "alerter-data:/var/lib/stormwatch:rw" in alerter["volumes"]


def test_every_secret_the_config_file_references_reaches_every_service(config: dict[str, Any]) -> None:
    """Every service resolves every `{env: NAME}` of config.yaml at start, so each NAME is in each service's
    environment (a missing one would stop the service with a configuration error)."""
    document = yaml.safe_load((ROOT / "deploy" / "stormwatch" / "config.yaml").read_text(encoding="utf-8"))
    names = env_references(document)
    assert names == {"TRUSTPILOT_API_KEY", "TRUSTPILOT_API_SECRET", "STORMWATCH_WEBHOOK_SECRET"}
    for name in STORMWATCH_SERVICES:
        assert names <= set(services(config)[name]["environment"]), name


def test_secrets_are_interpolated_from_the_environment(tmp_path: Path) -> None:
    """Secrets set in the environment replace the insecure defaults; the API token goes to the alerter only."""
    secrets = {
        "STORMWATCH_API_TOKEN": "tok-from-env",
        "STORMWATCH_LINK_SECRET": "link-from-env",
        "STORMWATCH_WEBHOOK_SECRET": "hook-from-env",
        "TRUSTPILOT_API_KEY": "key-from-env",
        "TRUSTPILOT_API_SECRET": "secret-from-env",
        "POSTGRES_PASSWORD": "pg-from-env",
        "GRAFANA_ADMIN_PASSWORD": "grafana-from-env",
    }
    resolved = services(compose_config(tmp_path, env=secrets))
    for name in STORMWATCH_SERVICES:
        env = resolved[name]["environment"]
        for key, value in secrets.items():
            if key in ALERTER_ONLY and name != "alerter":
                assert key not in env, f"{key} leaks into {name}"
            elif key.startswith(("STORMWATCH_", "TRUSTPILOT_")):
                assert env[key] == value, (name, key)
        assert env["DATABASE_URL"] == "postgresql://stormwatch:pg-from-env@postgres:5432/stormwatch"
    assert resolved["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-from-env"
    assert resolved["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "grafana-from-env"


def test_kafka_runs_kraft_without_auto_topic_creation(config: dict[str, Any]) -> None:
    """The broker is a single KRaft node (broker and controller) advertising kafka:9092, with automatic topic
    creation off and its log in the kafka-data volume."""
    kafka = services(config)["kafka"]
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert env["KAFKA_LISTENERS"] == "PLAINTEXT://:9092,CONTROLLER://:9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false"
    assert "kafka-data:/var/lib/kafka/data:rw" in kafka["volumes"]
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_kafka_init_creates_the_three_topics_idempotently(config: dict[str, Any]) -> None:
    """kafka-init runs once with the broker image's kafka-topics.sh and creates reviews and incidents with the
    configured partitions (4) and the dead-letter topic with 1, each --if-not-exists."""
    init = services(config)["kafka-init"]
    assert init["image"] == services(config)["kafka"]["image"]
    assert init["restart"] == "no"
    env = init["environment"]
    assert env["TOPIC_REVIEWS"] == "stormwatch.reviews.v1"
    assert env["TOPIC_INCIDENTS"] == "stormwatch.incidents.v1"
    assert env["TOPIC_DEADLETTER"] == "stormwatch.deadletter.v1"
    assert str(env["PARTITIONS"]) == "4"
    script = "\n".join(init["command"])
    assert "/opt/kafka/bin/kafka-topics.sh" in script
    assert "--if-not-exists" in script
    # `config` output escapes `$` as `$$`; in the container these are the environment variables above.
    assert 'create "$$TOPIC_REVIEWS" "$$PARTITIONS"' in script
    assert 'create "$$TOPIC_INCIDENTS" "$$PARTITIONS"' in script
    assert 'create "$$TOPIC_DEADLETTER" 1' in script


def test_simulator_runs_only_under_its_profile(tmp_path: Path, config: dict[str, Any]) -> None:
    """The simulator belongs to the compose profile "simulator" (`--profile simulator` or COMPOSE_PROFILES) and
    listens on 0.0.0.0:8090; no other service has a profile, so `docker-compose up` starts the rest."""
    for name, service in services(config).items():
        assert service.get("profiles", []) == (["simulator"] if name == "simulator" else []), name
    command = services(config)["simulator"]["command"]
    assert command[:5] == ["simulator", "--host", "0.0.0.0", "--port", "8090"]
    profiles = run_compose(tmp_path, "config", "--profiles")
    assert profiles.returncode == 0, profiles.stderr
    assert profiles.stdout.split() == ["simulator"]


def test_published_ports_bind_to_loopback_by_default(config: dict[str, Any]) -> None:
    """Host ports (pollers 8081, alerter API 8083, simulator 8090, Prometheus 9090, Alertmanager 9093, Grafana 3000)
    bind to 127.0.0.1
    unless STORMWATCH_BIND_ADDRESS says otherwise; the detector publishes none, so it can be scaled."""
    expected = {
        "pollers": "127.0.0.1:8081:8080/tcp",
        "alerter": "127.0.0.1:8083:8080/tcp",
        "simulator": "127.0.0.1:8090:8090/tcp",
        "prometheus": "127.0.0.1:9090:9090/tcp",
        "alertmanager": "127.0.0.1:9093:9093/tcp",
        "grafana": "127.0.0.1:3000:3000/tcp",
    }
    for name, service in services(config).items():
        assert service.get("ports", []) == ([expected[name]] if name in expected else []), name


def test_monitoring_mounts_the_deploy_configuration(config: dict[str, Any]) -> None:
    """Prometheus reads deploy/prometheus (config and rules) and Grafana its provisioning and dashboards."""
    prometheus = services(config)["prometheus"]
    assert f"{ROOT / 'deploy' / 'prometheus'}:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    grafana = services(config)["grafana"]
    assert f"{ROOT / 'deploy' / 'grafana' / 'provisioning'}:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"{ROOT / 'deploy' / 'grafana' / 'dashboards'}:/etc/grafana/dashboards/stormwatch:ro" in grafana["volumes"]


def test_env_example_documents_every_variable_with_its_default(tmp_path: Path) -> None:
    """.env.example assigns every variable docker-compose.yml interpolates, and its values are exactly the defaults:
    the resolved configuration with .env.example equals the one with no environment at all."""
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text(encoding="utf-8")))
    documented = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    assert referenced - documented == set()
    assert documented - referenced == {"COMPOSE_PROFILES"}

    with_example = subprocess.run(
        [docker_compose(), "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert with_example.returncode == 0, with_example.stderr
    assert yaml.safe_load(with_example.stdout) == compose_config(tmp_path)


def test_demo_defaults_are_the_credentials_the_simulator_accepts(config: dict[str, Any]) -> None:
    """Out of the box the pollers log in to the simulator's demo Trustpilot: the default TRUSTPILOT_API_KEY and
    TRUSTPILOT_API_SECRET are the pair the demo scenario derives for demo-shop, whose business unit the config polls."""
    from services.simulator.scenario import demo_scenario
    from services.simulator.trustpilot import credentials_for

    scenario = demo_scenario(speed=1.0)
    key, secret = credentials_for(scenario, "demo-shop")
    for name in STORMWATCH_SERVICES:
        env = services(config)[name]["environment"]
        assert (env["TRUSTPILOT_API_KEY"], env["TRUSTPILOT_API_SECRET"]) == (key, secret), name
    assert scenario.merchant("demo-shop").trustpilot.business_unit_id == "bu-demo-shop"


def test_alertmanager_runs_the_deploy_configuration_and_keeps_its_state(config: dict[str, Any]) -> None:
    """Alertmanager reads deploy/alertmanager/alertmanager.yml, keeps silences and its notification log in the
    alertmanager-data volume, runs as a single instance (no gossip port), restarts unless stopped and is limited."""
    alertmanager = services(config)["alertmanager"]
    assert alertmanager["image"].startswith("prom/alertmanager:")
    assert f"{ROOT / 'deploy' / 'alertmanager'}:/etc/alertmanager:ro" in alertmanager["volumes"]
    assert "alertmanager-data:/alertmanager:rw" in alertmanager["volumes"]
    command = alertmanager["command"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in command
    assert "--storage.path=/alertmanager" in command
    assert "--cluster.listen-address=" in command
    assert alertmanager["restart"] == "unless-stopped"
    assert alertmanager["healthcheck"]["test"][:2] == ["CMD", "wget"]


def test_prometheus_and_the_alerter_both_deliver_to_the_compose_alertmanager(config: dict[str, Any]) -> None:
    """Prometheus sends its rules' alerts to alertmanager:9093, and the Stormwatch config the services mount has an
    `alertmanager` receiver at http://alertmanager:9093 on the root route, so merchant incidents arrive there too;
    both names resolve because Alertmanager is a service of this compose file."""
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    (manager,) = prometheus["alerting"]["alertmanagers"]
    assert manager["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    stormwatch = yaml.safe_load((ROOT / "deploy" / "stormwatch" / "config.yaml").read_text(encoding="utf-8"))
    receivers = {receiver["name"]: receiver for receiver in stormwatch["receivers"]}
    assert receivers["alertmanager"]["type"] == "alertmanager"
    assert receivers["alertmanager"]["url"] == "http://alertmanager:9093"
    assert "alertmanager" in stormwatch["route"]["receivers"]
    assert "alertmanager" in services(config)


def test_alerter_replicas_can_share_a_host_port_range(tmp_path: Path) -> None:
    """`STORMWATCH_ALERTER_PORT=8083-8086` publishes a host port range, which is what `--scale alerter=N` needs (one
    fixed host port would let only one replica start); the README's scaling section relies on it."""
    resolved = services(compose_config(tmp_path, env={"STORMWATCH_ALERTER_PORT": "8083-8086"}))
    assert resolved["alerter"]["ports"] == ["127.0.0.1:8083-8086:8080/tcp"]
    assert "ports" not in resolved["detector"]
