"""Kubernetes manifests, validated offline with kubernetes-validate."""

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import DEPLOY, RULES, SERVE_COMMAND, load_yaml, run

KUBERNETES = DEPLOY / "kubernetes"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
POD_MANIFESTS = ["deployment.yaml", "migration-job.yaml", "prune-cronjob.yaml"]


def pod_template(name: str) -> dict[str, Any]:
    """Return the pod template of a Deployment, Job or CronJob manifest."""
    manifest = load_yaml(KUBERNETES / name)
    if manifest["kind"] == "CronJob":
        manifest = manifest["spec"]["jobTemplate"]
    template: dict[str, Any] = manifest["spec"]["template"]
    return template


def pod_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = pod_template(name)["spec"]
    return spec


def secret_environment(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        variable["name"]: (
            variable["valueFrom"]["secretKeyRef"]["name"],
            variable["valueFrom"]["secretKeyRef"]["key"],
        )
        for variable in container["env"]
        if "valueFrom" in variable
    }


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_manifest_passes_strict_validation(
    kubernetes_validate: str, manifest: Path
) -> None:
    result = run([kubernetes_validate, "--strict", str(manifest)])

    assert result.returncode == 0, result.stdout + result.stderr


def test_strict_validation_rejects_unknown_field(
    kubernetes_validate: str, tmp_path: Path
) -> None:
    bad = tmp_path / "service.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        "spec:\n  ports:\n    - port: 80\n      targetPorts: http\n"
    )

    result = run([kubernetes_validate, "--strict", str(bad)])

    assert result.returncode != 0


def test_rules_configmap_holds_the_rules_file() -> None:
    configmap = load_yaml(KUBERNETES / "prometheus-rules-configmap.yaml")

    assert configmap["data"] == {
        "pinwatch-rules.yaml": RULES.read_text(encoding="utf-8")
    }


def test_sync_script_finds_configmap_current() -> None:
    script = KUBERNETES / "sync_rules_configmap.py"

    result = run([sys.executable, str(script), "--check"])

    assert result.returncode == 0, result.stdout


def test_deployment_probes_health_and_readiness() -> None:
    (container,) = pod_spec("deployment.yaml")["containers"]

    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"] == SERVE_COMMAND


@pytest.mark.parametrize("name", POD_MANIFESTS)
def test_pods_run_as_non_root_with_limits(name: str) -> None:
    spec = pod_spec(name)
    (container,) = spec["containers"]

    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]) == {"requests", "limits"}


@pytest.mark.parametrize("name", POD_MANIFESTS)
def test_secret_values_come_from_the_pinwatch_secret(name: str) -> None:
    (container,) = pod_spec(name)["containers"]
    secret = load_yaml(KUBERNETES / "secret.example.yaml")

    environment = secret_environment(container)

    assert environment == {
        "PINWATCH_SECRET": ("pinwatch", "secret"),
        "PINWATCH_DATABASE_URL": ("pinwatch", "database-url"),
    }
    assert set(secret["stringData"]) == {"secret", "database-url"}


def test_migration_job_runs_migrate_with_the_server_image() -> None:
    (job,) = pod_spec("migration-job.yaml")["containers"]
    (server,) = pod_spec("deployment.yaml")["containers"]

    assert job["args"] == ["pinwatch", "migrate"]
    assert job["image"] == server["image"]
    assert pod_spec("migration-job.yaml")["restartPolicy"] == "Never"


def test_prune_cronjob_runs_prune_daily() -> None:
    cronjob = load_yaml(KUBERNETES / "prune-cronjob.yaml")
    spec = pod_spec("prune-cronjob.yaml")
    (job,) = spec["containers"]
    (server,) = pod_spec("deployment.yaml")["containers"]

    minute, hour, day, month, weekday = cronjob["spec"]["schedule"].split()

    assert job["args"] == ["pinwatch", "prune"]
    assert job["image"] == server["image"]
    assert spec["restartPolicy"] == "Never"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert minute.isdigit()
    assert hour.isdigit()
    assert (day, month, weekday) == ("*", "*", "*")


def test_service_selects_no_job_pods() -> None:
    selector = load_yaml(KUBERNETES / "service.yaml")["spec"]["selector"]

    for name in ["migration-job.yaml", "prune-cronjob.yaml"]:
        labels = pod_template(name)["metadata"]["labels"]
        assert not selector.items() <= labels.items(), name


def test_service_targets_the_deployment_pods() -> None:
    service = load_yaml(KUBERNETES / "service.yaml")
    deployment = load_yaml(KUBERNETES / "deployment.yaml")

    labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert service["spec"]["selector"] == labels
    assert service["spec"]["ports"][0]["targetPort"] == "http"
