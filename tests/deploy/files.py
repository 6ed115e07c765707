"""Paths of the deployment files and helpers to read and check them."""

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yaml"
RULE_TESTS = DEPLOY / "prometheus" / "tests"
RUNBOOKS = REPO / "docs" / "runbooks"

# Every series the service exports, as scraped. Counters carry their _total
# suffix. pinwatch_domain_info{domain, team} = 1 gives the owner team of each
# registered domain.
EXPORTED_METRICS = frozenset(
    {
        "pinwatch_events_total",
        "pinwatch_pin_failures_total",
        "pinwatch_pin_checks_total",
        "pinwatch_active_installs",
        "pinwatch_pin_adoption_ratio",
        "pinwatch_rotation_ready",
        "pinwatch_adoption_threshold_ratio",
        "pinwatch_pin_served_ratio",
        "pinwatch_pin_removable",
        "pinwatch_backup_pins",
        "pinwatch_pin_info",
        "pinwatch_pin_not_after_timestamp_seconds",
        "pinwatch_pinset_expiry_timestamp_seconds",
        "pinwatch_last_event_timestamp_seconds",
        "pinwatch_collect_duration_seconds",
        "pinwatch_collect_last_success_timestamp_seconds",
        "pinwatch_domain_info",
    }
)

# A container must listen on its own network interface, not only on loopback.
SERVE_COMMAND = ["pinwatch", "serve", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104

PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "offset", "bool", "inf", "nan", "group_left", "group_right"}
)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def run(args: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_yaml(RULES)["groups"]
    return groups


def alerting_rules() -> list[dict[str, Any]]:
    return [
        rule for group in rule_groups() for rule in group["rules"] if "alert" in rule
    ]


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for group in rule_groups()
        for rule in group["rules"]
        if "record" in rule
    }


def metric_names(expr: str) -> set[str]:
    """Return the metric names that a PromQL expression selects.

    Strings, label matchers, ranges and grouping label lists are removed first,
    so that what remains are metric names, function and aggregation names
    (followed by a parenthesis), keywords and numbers.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    grouping = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    text = re.sub(grouping, " ", text)
    identifiers = re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {match.group(1) for match in identifiers} - PROMQL_KEYWORDS
