"""deploy/compose.yaml, checked offline against the Compose Specification schema."""

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import DEPLOY, SERVE_COMMAND, load_yaml, run

COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose: dict[str, Any] = load_yaml(COMPOSE)
    return compose["services"]


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts.append((source, target))
    return mounts


def test_compose_file_matches_compose_spec(check_jsonschema: str) -> None:
    result = run(
        [check_jsonschema, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_rejects_unknown_depends_on_condition(
    check_jsonschema: str, tmp_path: Path
) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text(
        "services:\n"
        "  a:\n    image: busybox\n"
        "  b:\n    image: busybox\n    depends_on:\n"
        "      a:\n        condition: when_ready\n"
    )

    result = run(
        [check_jsonschema, "--builtin-schema", "vendor.compose-spec", str(bad)]
    )

    assert result.returncode != 0


def test_stack_has_every_service(services: dict[str, Any]) -> None:
    expected = {
        "postgres",
        "migrate",
        "pinwatch",
        "prometheus",
        "alertmanager",
        "grafana",
    }

    assert set(services) == expected


def test_pinwatch_starts_after_migration_succeeds(services: dict[str, Any]) -> None:
    depends_on = services["pinwatch"]["depends_on"]

    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"


def test_migration_runs_once_after_postgres_is_healthy(
    services: dict[str, Any],
) -> None:
    migrate = services["migrate"]

    assert migrate["command"] == ["pinwatch", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_pinwatch_serves_one_process_per_container(services: dict[str, Any]) -> None:
    command = services["pinwatch"]["command"]

    assert command == SERVE_COMMAND


def test_migrate_and_pinwatch_share_image_and_environment(
    services: dict[str, Any],
) -> None:
    migrate, pinwatch = services["migrate"], services["pinwatch"]

    assert migrate["image"] == pinwatch["image"]
    assert migrate["environment"] == pinwatch["environment"]
    assert pinwatch["environment"]["PINWATCH_DATABASE_URL"].startswith(
        "postgresql://pinwatch:"
    )
    assert pinwatch["environment"]["PINWATCH_SECRET"].startswith("${PINWATCH_SECRET:?")


def test_services_with_dependents_have_healthchecks(services: dict[str, Any]) -> None:
    for name in ("postgres", "pinwatch", "prometheus", "alertmanager"):
        assert "healthcheck" in services[name], name

    assert "/healthz" in " ".join(services["pinwatch"]["healthcheck"]["test"])


def test_bind_mounted_files_exist(services: dict[str, Any]) -> None:
    mounts = [mount for service in services.values() for mount in bind_mounts(service)]

    assert len(mounts) == 6
    for source, _target in mounts:
        assert (DEPLOY / source).exists(), source


def test_grafana_provisioning_points_at_mounted_dashboards(
    services: dict[str, Any],
) -> None:
    provider = load_yaml(DEPLOY / "grafana/provisioning/dashboards/pinwatch.yaml")
    mounts = dict(bind_mounts(services["grafana"]))

    path = provider["providers"][0]["options"]["path"]

    assert mounts["./grafana/dashboards"] == path


def test_prometheus_loads_the_mounted_rules(services: dict[str, Any]) -> None:
    mounts = dict(bind_mounts(services["prometheus"]))

    assert mounts["./prometheus/rules.yaml"] == "/etc/prometheus/rules.yaml"
    assert mounts["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"


def test_published_ports_bind_to_loopback(services: dict[str, Any]) -> None:
    ports = [port for service in services.values() for port in service.get("ports", [])]

    assert ports
    for port in ports:
        assert port.startswith("127.0.0.1:"), port
