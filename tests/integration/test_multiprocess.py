"""``pinwatch serve --workers 2`` with a shared PROMETHEUS_MULTIPROC_DIR.

Each scrape reaches one worker. The counters it returns must be the sum over
every worker of this run, including a worker that died, and the database
gauges must appear once, from the worker that serves the scrape.

The tests share one server and keep a tally of the requests sent to it, so
each of them can expect exact counts in any order.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from service import cli
from service.simulate.api import PinwatchApi
from tests.integration.servers import admin_token, pinwatch_server, server_environment

DOMAIN = "api.example.com"
BUNDLE_ID = "com.example.bank"
APP = f"android:{BUNDLE_ID}"
CHECKS_PER_EVENT = 3
# The ingest rate limit lets each worker take a burst of 200 requests per key,
# so the rounds stay far below that.
ROUND_REQUESTS = 20
MAX_ROUNDS = 5
SENDERS = 8
SCRAPES = 6
STALE_COUNT = 1000
# Longer than PINWATCH_METRICS_CACHE_SECONDS, so every worker reads the
# database again for its gauges.
GAUGE_REFRESH_SECONDS = 1.2
ACCEPTED_CHECKS = {"source": "native", "type": "pin_check", "outcome": "accepted"}

# A worker of an earlier run that counted STALE_COUNT accepted checks.
STALE_COUNTER_SCRIPT = f"""
from prometheus_client import Counter

events = Counter("pinwatch_events", "Events.", ["source", "type", "outcome"])
events.labels("native", "pin_check", "accepted").inc({STALE_COUNT})
"""


@dataclass
class Workers:
    url: str
    key: str
    metrics_dir: Path
    stale_files: list[Path]
    sent: int = 0

    def send_checks(self, requests: int) -> None:
        send_checks(self.url, self.key, requests)
        self.sent += requests

    def send_until_both_count(self) -> None:
        """Send rounds of checks until two workers have counted some."""
        for _ in range(MAX_ROUNDS):
            self.send_checks(ROUND_REQUESTS)
            if len(counter_pids(self.metrics_dir)) >= 2:
                return
        pytest.fail(f"only one worker served the {self.sent} requests")


def write_stale_counter(directory: Path) -> list[Path]:
    directory.mkdir()
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    command = [sys.executable, "-c", STALE_COUNTER_SCRIPT]
    subprocess.run(command, env=env, check=True, timeout=60)
    return sorted(directory.iterdir())


def counter_pids(directory: Path) -> set[int]:
    """Return the pids of the workers that counted, from their counter files."""
    return {int(path.stem.split("_")[1]) for path in directory.glob("counter_*.db")}


def check_batch() -> dict[str, Any]:
    """Return a batch of one pin check from a new install."""
    return {
        "app": {"bundle_id": BUNDLE_ID, "platform": "android", "version": "4.2.0"},
        "install_id": str(uuid.uuid4()),
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "pin_check",
                "hostname": DOMAIN,
                "count": CHECKS_PER_EVENT,
            }
        ],
    }


def send_checks(url: str, key: str, requests: int) -> None:
    """Post batches side by side, each on a new connection, so both workers get some."""

    def post(_index: int) -> None:
        response = httpx.post(
            f"{url}/v1/events",
            json=check_batch(),
            headers={"X-Pinwatch-Key": key},
            timeout=10.0,
        )
        assert response.status_code == 202, response.text

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        list(pool.map(post, range(requests)))


def scrape(url: str) -> str:
    response = httpx.get(f"{url}/metrics", timeout=10.0)
    response.raise_for_status()
    return response.text


def sample_values(text: str, name: str, **labels: str) -> list[float]:
    """Return the values of the ``name`` samples whose labels include ``labels``."""
    return [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]


def repeated_series(text: str) -> list[str]:
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    repeated = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series = (sample.name, tuple(sorted(sample.labels.items())))
            if series in seen:
                repeated.append(f"{sample.name}{sample.labels}")
            seen.add(series)
    return repeated


def repeated_families(text: str) -> list[str]:
    names = [family.name for family in text_string_to_metric_families(text)]
    return sorted({name for name in names if names.count(name) > 1})


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """Serve with two workers, after an earlier run left a counter file behind."""
    tmp_path = tmp_path_factory.mktemp("workers")
    metrics_dir = tmp_path / "metrics"
    stale_files = write_stale_counter(metrics_dir)
    extra = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with (
        server_environment(tmp_path, **extra) as env,
        pinwatch_server(env, tmp_path, workers=2) as url,
        httpx.Client(base_url=url, timeout=10.0) as http,
    ):
        api = PinwatchApi(http, admin_token())
        api.put_domain(DOMAIN, "mobile-platform", {})
        api.ensure_app("android", BUNDLE_ID, "Bank")
        key = api.create_ingest_key(APP)
        yield Workers(url, key, metrics_dir, stale_files)


@pytest.mark.slow
def test_serve_removes_counter_files_of_earlier_run(workers: Workers) -> None:
    stale = workers.stale_files

    remaining = [path for path in stale if path.exists()]

    assert len(stale) == 1
    assert stale[0].name.startswith("counter_")
    assert remaining == []


@pytest.mark.slow
def test_counters_add_up_over_workers(workers: Workers) -> None:
    workers.send_until_both_count()
    time.sleep(GAUGE_REFRESH_SECONDS)
    sent = workers.sent

    scrapes = [scrape(workers.url) for _ in range(SCRAPES)]

    for text in scrapes:
        assert sample_values(text, "pinwatch_events_total", **ACCEPTED_CHECKS) == [sent]
        checks = sample_values(text, "pinwatch_pin_checks_total", domain=DOMAIN)
        assert checks == [sent * CHECKS_PER_EVENT]
        assert sample_values(text, "pinwatch_active_installs", app=APP) == [sent]
        assert sample_values(text, "pinwatch_domain_info", domain=DOMAIN) == [1]
        assert repeated_series(text) == []
        assert repeated_families(text) == []


@pytest.mark.slow
def test_only_counter_files_are_written(workers: Workers) -> None:
    workers.send_until_both_count()
    scrape(workers.url)

    names = sorted(path.name for path in workers.metrics_dir.iterdir())

    assert len(names) >= 2
    assert [name for name in names if not name.startswith("counter_")] == []


@pytest.mark.slow
def test_counts_of_dead_worker_are_kept(workers: Workers) -> None:
    workers.send_until_both_count()
    dead = min(counter_pids(workers.metrics_dir))

    os.kill(dead, signal.SIGKILL)
    workers.send_checks(ROUND_REQUESTS)
    text = scrape(workers.url)

    accepted = sample_values(text, "pinwatch_events_total", **ACCEPTED_CHECKS)
    assert accepted == [workers.sent]
    assert dead in counter_pids(workers.metrics_dir)


def test_serve_rejects_workers_without_multiprocess_dir(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(uvicorn, "run", pytest.fail)

    status = cli.main(["serve", "--workers", "2"])

    assert status == 2
    assert "PROMETHEUS_MULTIPROC_DIR" in capsys.readouterr().err
