"""The Grafana dashboard and its provisioning."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.files import (
    DEPLOY,
    EXPORTED_METRICS,
    load_yaml,
    metric_names,
    recorded_names,
    run,
)

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "pinwatch.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# Grafana replaces these before a query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "2m",
    "$__interval": "1m",
    "$__range": "1d",
    "$domain": ".*",
    "$app": ".*",
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [
        target["expr"] for panel in panels(dashboard) for target in panel["targets"]
    ]


def as_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_dashboard_has_stable_uid_and_no_numeric_id(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "pinwatch-overview"
    assert "id" not in dashboard


def test_every_query_uses_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_datasource_variable_defaults_to_provisioned_uid(
    dashboard: dict[str, Any],
) -> None:
    provisioning = load_yaml(GRAFANA / "provisioning/datasources/prometheus.yaml")
    variables = {
        variable["name"]: variable for variable in dashboard["templating"]["list"]
    }

    (datasource,) = provisioning["datasources"]

    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] == datasource["uid"]


@pytest.mark.parametrize("name", ["domain", "app"])
def test_domain_and_app_variables_list_label_values(
    dashboard: dict[str, Any], name: str
) -> None:
    variables = {
        variable["name"]: variable for variable in dashboard["templating"]["list"]
    }

    query = variables[name]["query"]["query"]

    assert query.startswith("label_values(")
    assert query.endswith(f", {name})")
    assert variables[name]["datasource"] == DATASOURCE


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]

    assert len(ids) == len(set(ids))


def test_every_expression_parses(
    promtool: str, dashboard: dict[str, Any], tmp_path: Path
) -> None:
    rules = [
        {"record": f"dashboard_query_{index}", "expr": as_promql(expr)}
        for index, expr in enumerate(expressions(dashboard))
    ]
    rules_file = tmp_path / "dashboard.yaml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )

    result = run([promtool, "check", "rules", str(rules_file)])

    assert result.returncode == 0, result.stdout + result.stderr


def test_expressions_use_only_exported_or_recorded_metrics(
    dashboard: dict[str, Any],
) -> None:
    used = set().union(
        *(metric_names(as_promql(expr)) for expr in expressions(dashboard))
    )

    assert used - (EXPORTED_METRICS | recorded_names()) == set()


def test_dashboard_covers_rotation_failures_expiry_and_ingest(
    dashboard: dict[str, Any],
) -> None:
    used = set().union(
        *(metric_names(as_promql(expr)) for expr in expressions(dashboard))
    )

    assert {
        "pinwatch_pin_adoption_ratio",
        "pinwatch_adoption_threshold_ratio",
        "pinwatch_pin_failures_total",
        "pinwatch_pin_served_ratio",
        "pinwatch_pinset_expiry_timestamp_seconds",
        "pinwatch_pin_not_after_timestamp_seconds",
        "pinwatch_events_total",
        "pinwatch_collect_duration_seconds",
        "pinwatch_collect_last_success_timestamp_seconds",
    } <= used


def test_failure_panels_split_by_classification_and_version(
    dashboard: dict[str, Any],
) -> None:
    failure_queries = [
        expr for expr in expressions(dashboard) if "pinwatch_pin_failures_total" in expr
    ]

    assert any("by (classification)" in expr for expr in failure_queries)
    assert any("app_version" in expr for expr in failure_queries)


def test_adoption_panel_shows_the_threshold(dashboard: dict[str, Any]) -> None:
    (panel,) = [
        panel
        for panel in panels(dashboard)
        if any(
            "pinwatch_pin_adoption_ratio" in target["expr"]
            for target in panel["targets"]
        )
    ]

    exprs = " ".join(target["expr"] for target in panel["targets"])

    assert "pinwatch_adoption_threshold_ratio" in exprs
