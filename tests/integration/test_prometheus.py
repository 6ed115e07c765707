"""Pinwatch scraped by a real Prometheus that evaluates the alerting rules.

Prometheus loads a copy of deploy/prometheus/rules.yaml generated from that
file when the test runs. The copy keeps every expression, label and annotation
and changes two things. Each group is evaluated every second, and each
``for:`` is cut to SHORT_FOR, because the real durations (2 minutes to 1 hour)
would keep the alerts pending far longer than the test may run. The rate
windows stay as they are, because with one scrape a second a 5-minute rate
rises within seconds.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.simulate.cli import open_simulation_client
from service.simulate.fleet import FleetSettings
from service.simulate.runner import DaySummary, Simulation, SimulationConfig
from service.simulate.setup import OWNER_TEAM
from tests.deploy.files import RULES
from tests.integration.servers import (
    admin_token,
    free_port,
    pinwatch_server,
    running,
    server_environment,
)

pytestmark = pytest.mark.slow

INTERVAL_SECONDS = 1
INTERVAL = f"{INTERVAL_SECONDS}s"
SHORT_FOR = "2s"
ALERT_SECONDS = 30.0
POLL_SECONDS = 0.5
MAX_DAYS = 10
# A small fleet that upgrades fast reaches the threshold in a few simulated
# days, so the domain policy requires 15 active installs per app. No install
# has automatic updates off, so with any seed every install ends up on a build
# that trusts the backup key.
FLEET = FleetSettings(installs_per_app=40, upgrade_rate=0.65, frozen_share=0.0)
MIN_INSTALLS = 15
SENDERS = 4
SEED = "prometheus"


def write_test_rules(path: Path) -> None:
    """Write the rules with a 1 s evaluation interval and every ``for:`` shortened."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["interval"] = INTERVAL
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = SHORT_FOR
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")


def write_config(path: Path, target: str, rules: Path) -> None:
    config = {
        "global": {
            "scrape_interval": INTERVAL,
            "scrape_timeout": INTERVAL,
            "evaluation_interval": INTERVAL,
        },
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": "pinwatch", "static_configs": [{"targets": [target]}]}
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5.0
    )
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def wait_for_series(prometheus: str, expr: str) -> None:
    """Poll until ``expr`` returns a series, and fail after ALERT_SECONDS."""
    deadline = time.monotonic() + ALERT_SECONDS
    while time.monotonic() < deadline:
        if query(prometheus, expr):
            return
        time.sleep(POLL_SECONDS)
    pytest.fail(f"Prometheus returned no series for {expr} within {ALERT_SECONDS} s")


def wait_for_scrape_after(prometheus: str, moment: float) -> None:
    """Poll until Prometheus has scraped Pinwatch after ``moment`` (Unix time)."""
    wait_for_series(prometheus, f'timestamp(up{{job="pinwatch"}}) > {moment:.3f}')


def alerts(prometheus: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5.0)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["data"]["alerts"]
    return found


def find_alert(prometheus: str, name: str, domain: str) -> dict[str, Any] | None:
    for alert in alerts(prometheus):
        labels = alert["labels"]
        if labels["alertname"] == name and labels.get("domain") == domain:
            return alert
    return None


def describe_alerts(prometheus: str) -> str:
    states = [
        f"{a['labels']['alertname']}{{domain={a['labels'].get('domain')}}} {a['state']}"
        for a in alerts(prometheus)
    ]
    return ", ".join(states) or "none"


def wait_for_firing(prometheus: str, name: str, domain: str) -> dict[str, Any]:
    """Poll until the alert fires for the domain, and fail after ALERT_SECONDS."""
    deadline = time.monotonic() + ALERT_SECONDS
    while time.monotonic() < deadline:
        alert = find_alert(prometheus, name, domain)
        if alert is not None and alert["state"] == "firing":
            return alert
        time.sleep(POLL_SECONDS)
    pytest.fail(
        f"{name} did not fire for {domain} within {ALERT_SECONDS} s; "
        f"alerts: {describe_alerts(prometheus)}"
    )


@dataclass(frozen=True)
class Stack:
    """A Pinwatch server, an admin token for it, and the Prometheus scraping it."""

    pinwatch: str
    token: str
    prometheus: str


@contextmanager
def running_prometheus(binary: str, target: str, folder: Path) -> Iterator[str]:
    """Run Prometheus scraping ``target`` every second, and yield its URL."""
    rules = folder / "rules.yaml"
    config = folder / "prometheus.yml"
    write_test_rules(rules)
    write_config(config, target, rules)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with running(
        command, dict(os.environ), folder / "prometheus.log", f"{url}/-/ready"
    ):
        wait_for_series(url, 'up{job="pinwatch"} == 1')
        yield url


@pytest.fixture(scope="module")
def stack(
    prometheus_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Start one server and one Prometheus, shared by tests of distinct domains."""
    folder = tmp_path_factory.mktemp("alerting")
    with (
        server_environment(folder) as env,
        pinwatch_server(env, folder) as pinwatch,
        running_prometheus(
            prometheus_binary, pinwatch.removeprefix("http://"), folder
        ) as prometheus,
    ):
        yield Stack(pinwatch, admin_token(), prometheus)


def new_simulation(
    http: httpx.Client,
    token: str,
    hostname: str,
    bundle_id: str,
    rotate_at_day: int | None = None,
) -> Simulation:
    config = SimulationConfig(
        hostname=hostname,
        seed=SEED,
        rotate_at_day=rotate_at_day,
        register=True,
        bundle_id=bundle_id,
        policy={"min_installs": MIN_INSTALLS},
        workers=SENDERS,
    )
    return Simulation(http, token, config, FLEET)


def alert_after_evaluation(prometheus: str, domain: str) -> dict[str, Any] | None:
    """Return BackupPinAdoptionReached once the rules have seen the domain not ready.

    The alert group runs apart from the recording rules, so this waits two
    more evaluation intervals after the recorded series appears.
    """
    record = "domain_spki:pinwatch_rotation_ready:max"
    wait_for_series(prometheus, f'{record}{{domain="{domain}"}} == 0')
    time.sleep(2 * INTERVAL_SECONDS)
    return find_alert(prometheus, "BackupPinAdoptionReached", domain)


def roll_out_until_ready(simulation: Simulation, first_day: int) -> int:
    """Run days until the backup pin is ready, and return that day."""
    for day in range(first_day, MAX_DAYS + 1):
        if simulation.run_day(day, rotated=False).ready:
            return day
    pytest.fail(f"the backup pin was not ready after {MAX_DAYS} simulated days")


def rotate_until_pending(
    simulation: Simulation, prometheus: str, domain: str
) -> list[DaySummary]:
    """Run rotated days until PinFailuresAfterRotation is at least pending.

    rate() counts only the increase between two scrapes of a series, so the
    failures must go on after the first scrape of the rotation casualties.
    """
    summaries = []
    for day in range(simulation.config.rotate_at_day or 1, MAX_DAYS + 1):
        summaries.append(simulation.run_day(day, rotated=True))
        # A day takes less than a scrape interval, so without this wait the
        # failures of several days could reach Prometheus in one sample.
        wait_for_scrape_after(prometheus, time.time())
        if find_alert(prometheus, "PinFailuresAfterRotation", domain) is not None:
            break
    return summaries


def test_backup_adoption_alert_fires_once_ready(stack: Stack) -> None:
    domain = "ready.example.com"
    prometheus = stack.prometheus
    with open_simulation_client(stack.pinwatch, SENDERS) as http:
        simulation = new_simulation(http, stack.token, domain, "com.example.bank")
        simulation.prepare()
        first = simulation.run_day(1, rotated=False)
        early = alert_after_evaluation(prometheus, domain)
        roll_out_until_ready(simulation, first_day=2)

    alert = wait_for_firing(prometheus, "BackupPinAdoptionReached", domain)

    assert first.ready is False
    assert early is None
    assert alert["labels"]["spki_sha256"] == simulation.scenario.backup_pin
    assert alert["labels"]["severity"] == "info"
    assert alert["labels"]["team"] == OWNER_TEAM
    runbook = alert["annotations"]["runbook_url"]
    assert runbook.endswith("/BackupPinAdoptionReached.md")


def test_rotation_before_adoption_fires_alert(stack: Stack) -> None:
    domain = "early.example.com"
    prometheus = stack.prometheus
    with open_simulation_client(stack.pinwatch, SENDERS) as http:
        simulation = new_simulation(
            http, stack.token, domain, "com.example.wallet", rotate_at_day=2
        )
        simulation.prepare()
        simulation.run_day(1, rotated=False)
        rotated = rotate_until_pending(simulation, prometheus, domain)

    alert = wait_for_firing(prometheus, "PinFailuresAfterRotation", domain)

    assert rotated[0].ready is False
    assert rotated[0].delivery.cut_off_installs > 0
    assert alert["labels"]["classification"] == "rotation_casualty"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["team"] == OWNER_TEAM
    assert float(alert["value"]) > 0
