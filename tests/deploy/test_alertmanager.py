"""The example Alertmanager configuration: amtool checks it and its routes."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.deploy.files import DEPLOY, load_yaml, run

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"


def route(amtool: str, *labels: str) -> str:
    result = run(
        [amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_config_passes_amtool_check(amtool: str) -> None:
    result = run([amtool, "check-config", str(CONFIG)])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_unknown_receiver(amtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text("route:\n  receiver: missing\nreceivers:\n  - name: chat\n")

    result = run([amtool, "check-config", str(broken)])

    assert result.returncode != 0


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ("severity=critical", "team=mobile-security", "domain=api.example.com"),
            "pager",
        ),
        (
            ("severity=warning", "team=mobile-security", "domain=api.example.com"),
            "chat",
        ),
        (
            ("severity=info", "team=mobile-security", "alertname=OldPinRemovable"),
            "release-team",
        ),
        (("severity=warning", "team=pinwatch-operators"), "chat"),
        (("severity=critical", "team=payments"), "payments-pager"),
        (("severity=warning", "team=payments"), "payments-chat"),
        (("severity=info", "team=payments"), "release-team"),
        (("alertname=Unlabelled",), "chat"),
    ],
)
def test_routes_by_team_and_severity(
    amtool: str, labels: tuple[str, ...], receiver: str
) -> None:
    assert route(amtool, *labels) == receiver


def test_critical_inhibits_warning_of_same_alert_and_subject() -> None:
    rules = load_yaml(CONFIG)["inhibit_rules"]

    assert len(rules) == 1
    assert rules[0]["source_matchers"] == ['severity="critical"']
    assert rules[0]["target_matchers"] == ['severity="warning"']
    assert {"alertname", "domain"} <= set(rules[0]["equal"])


def test_receivers_point_only_at_placeholder_hosts() -> None:
    receivers = load_yaml(CONFIG)["receivers"]

    hosts = {
        urlsplit(webhook["url"]).hostname
        for receiver in receivers
        for webhook in receiver["webhook_configs"]
    }

    assert hosts
    for host in hosts:
        assert host.endswith(".example.invalid") or host in {"localhost", "127.0.0.1"}
