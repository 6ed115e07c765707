"""Prometheus rules: promtool checks them and runs their unit tests."""

from pathlib import Path

import pytest

from tests.deploy.files import (
    DEPLOY,
    EXPORTED_METRICS,
    RULE_TESTS,
    RULES,
    RUNBOOKS,
    alerting_rules,
    load_yaml,
    metric_names,
    recorded_names,
    rule_groups,
    run,
)

ALERTS = {
    "PinFailuresAfterRotation",
    "PinFailureSpike",
    "UnpinnedKeyServed",
    "InterceptionSurge",
    "CheckInDeficit",
    "BackupPinAdoptionReached",
    "OldPinRemovable",
    "NoBackupPin",
    "PinsetExpiringSoon",
    "CertificateExpiringSoon",
    "PinwatchCollectStale",
    "PinwatchIngestRejections",
}
SERVICE_ALERTS = {"PinwatchCollectStale", "PinwatchIngestRejections"}
TEAM_JOIN = "* on (domain) group_left (team) domain:pinwatch_domain_info:max"


def test_rules_pass_promtool_check(promtool: str) -> None:
    result = run([promtool, "check", "rules", str(RULES)])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    "test_file", sorted(RULE_TESTS.glob("*.yaml")), ids=lambda path: path.stem
)
def test_rule_unit_tests_pass(promtool: str, test_file: Path) -> None:
    result = run([promtool, "test", "rules", test_file.name], cwd=RULE_TESTS)

    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_broken_rule(promtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum by (x (y)\n"
    )

    result = run([promtool, "check", "rules", str(broken)])

    assert result.returncode != 0


def test_prometheus_config_passes_promtool_check(promtool: str) -> None:
    config = DEPLOY / "prometheus" / "prometheus.yml"

    result = run([promtool, "check", "config", str(config)])

    assert result.returncode == 0, result.stdout + result.stderr
    assert load_yaml(config)["rule_files"] == [RULES.name]


def test_rules_define_every_alert() -> None:
    names = {rule["alert"] for rule in alerting_rules()}

    assert names == ALERTS


def test_every_alert_has_a_unit_test_file() -> None:
    test_files = {path.stem for path in RULE_TESTS.glob("*.yaml")}

    assert test_files == ALERTS


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_unit_tests_cover_quiet_pending_and_firing(alert: str) -> None:
    text = (RULE_TESTS / f"{alert}.yaml").read_text(encoding="utf-8")

    assert "exp_alerts: []" in text
    assert 'alertstate="pending"' in text
    assert "exp_labels:" in text or 'alertstate="firing"' in text


def test_unit_tests_evaluate_recording_rules_first() -> None:
    group_names = [group["name"] for group in rule_groups()]

    for path in RULE_TESTS.glob("*.yaml"):
        assert load_yaml(path)["group_eval_order"] == group_names, path.name


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_alert_carries_severity_team_and_annotations(rule: dict[str, object]) -> None:
    labels = rule["labels"]
    annotations = rule["annotations"]
    assert isinstance(labels, dict)
    assert isinstance(annotations, dict)

    assert labels["severity"] in {"critical", "warning", "info"}
    assert set(annotations) == {"summary", "description", "runbook_url"}
    assert annotations["runbook_url"].endswith(f"/docs/runbooks/{rule['alert']}.md")
    if rule["alert"] in SERVICE_ALERTS:
        assert labels["team"] == "pinwatch-operators"
    else:
        assert "team" not in labels
        assert str(rule["expr"]).rstrip().endswith(TEAM_JOIN)


def test_runbook_urls_share_one_base_and_pages_exist() -> None:
    urls = [rule["annotations"]["runbook_url"] for rule in alerting_rules()]

    bases = {url.rpartition("/")[0] for url in urls}

    assert len(bases) == 1
    for url in urls:
        assert (RUNBOOKS / url.rpartition("/")[2]).is_file(), url


def test_rules_use_only_exported_or_recorded_metrics() -> None:
    known = EXPORTED_METRICS | recorded_names()
    used: set[str] = set()

    for group in rule_groups():
        for rule in group["rules"]:
            used |= metric_names(rule["expr"])

    assert used - known == set()
    assert "pinwatch_domain_info" in used


def test_recording_rule_names_follow_level_metric_operation() -> None:
    for name in recorded_names():
        level, metric, operation = name.split(":")

        assert level
        assert metric.startswith("pinwatch_")
        assert operation
