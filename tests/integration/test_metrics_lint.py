"""``promtool check metrics`` on a live scrape of ``pinwatch serve``.

A short simulation with a rotation, plus a release with a pinset expiry, gives
every metric family samples first, so that promtool checks each of them.
"""

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.simulate.cli import open_simulation_client
from service.simulate.fleet import FleetSettings
from service.simulate.runner import Simulation, SimulationConfig
from tests.deploy.files import EXPORTED_METRICS
from tests.integration.servers import admin_token, pinwatch_server, server_environment

pytestmark = pytest.mark.slow

DOMAIN = "lint.example.com"
SENDERS = 4
SCRAPE_SECONDS = 15.0


def run_simulation(url: str, token: str) -> Simulation:
    """Run two simulated days, rotating the backend on the second."""
    config = SimulationConfig(
        hostname=DOMAIN,
        seed="lint",
        days=2,
        rotate_at_day=2,
        register=True,
        policy={"min_installs": 5},
        workers=SENDERS,
    )
    with open_simulation_client(url, SENDERS) as http:
        simulation = Simulation(http, token, config, FleetSettings(installs_per_app=20))
        simulation.run()
    return simulation


def declare_expiring_release(url: str, token: str, simulation: Simulation) -> None:
    """Declare a release whose pinset expires, the only source of that gauge."""
    app = simulation.fleet.apps[0].ref
    body = {
        "pins": {DOMAIN: [simulation.scenario.current_pin]},
        "pinset_expires": "2031-06-30",
    }
    response = httpx.put(
        f"{url}/v1/apps/{app}/releases/9.0.0",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )
    response.raise_for_status()


def sample_names(text: str) -> set[str]:
    return {
        sample.name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape_every_family(url: str) -> str:
    """Scrape until every exported metric has a sample, or return the last scrape.

    Gauges are cached for a second in each worker, so the first scrapes after
    the traffic may lack the newest rows.
    """
    deadline = time.monotonic() + SCRAPE_SECONDS
    while True:
        text = httpx.get(f"{url}/metrics", timeout=10.0).text
        if sample_names(text) >= EXPORTED_METRICS or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


@pytest.mark.parametrize("workers", [1, 2], ids=["one_process", "two_workers"])
def test_live_scrape_passes_promtool(
    promtool: str, tmp_path: Path, workers: int
) -> None:
    extra = {}
    if workers > 1:
        extra["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    with (
        server_environment(tmp_path, **extra) as env,
        pinwatch_server(env, tmp_path, workers) as url,
    ):
        token = admin_token()
        simulation = run_simulation(url, token)
        declare_expiring_release(url, token, simulation)
        text = scrape_every_family(url)

    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    names = sample_names(text)
    assert sorted(EXPORTED_METRICS - names) == []
    assert sorted(names - EXPORTED_METRICS) == []
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""
