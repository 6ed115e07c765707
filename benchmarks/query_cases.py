"""Read cases on large fleets in PostgreSQL: readiness and the /metrics scrape."""

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from benchmarks.cases import PINWATCH_APP, CaseResult, RunConfig, drive, pinwatch_env
from benchmarks.database import migrated_engine, postgres_database
from benchmarks.fleets import FleetShape, load_fleet
from benchmarks.payloads import Get
from benchmarks.servers import Server, running_server
from service.core.db import utcnow
from service.readiness.compute import compute_readiness
from service.registry.lookup import get_domain

READINESS_SHAPE = {"domains": 1, "apps": 2, "versions_per_app": 25}
SCRAPE_SHAPE = {"domains": 50, "apps": 4, "versions_per_app": 15}
RECOMPUTATIONS = 5


def _timings(action: Callable[[], object], repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return timings


def recompute_readiness(engine: Engine, hostname: str, repeats: int) -> list[float]:
    """Time full readiness computations in this process, on a fresh session each."""

    def compute() -> None:
        with Session(engine) as session:
            compute_readiness(session, get_domain(session, hostname), utcnow())

    return _timings(compute, repeats)


def recompute_gauges(server: Server, repeats: int) -> list[float]:
    """Scrape a server that caches no gauges; return its own collection times.

    The times are ``pinwatch_collect_duration_seconds`` as the server reports
    them, so they exclude the exposition and the HTTP round trip.
    """
    durations = []
    for _ in range(repeats):
        response = httpx.get(server.url + "/metrics", timeout=120.0)
        response.raise_for_status()
        durations.append(_gauge(response.text, "pinwatch_collect_duration_seconds"))
    return durations


def _gauge(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise ValueError(f"the scrape has no {name} sample")


def _first_request(server: Server, target: str, token: str) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.perf_counter()
    response = httpx.get(server.url + target, headers=headers, timeout=120.0)
    response.raise_for_status()
    return time.perf_counter() - started


def _snapshot_age(server: Server, target: str, token: str) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(server.url + target, headers=headers, timeout=120.0)
    computed_at = datetime.fromisoformat(response.json()["computed_at"])
    return (datetime.now(UTC) - computed_at).total_seconds()


def readiness(config: RunConfig, snapshot: bool = True) -> CaseResult:
    """Measure ``GET /v1/domains/{h}/readiness`` on ``readiness_installs`` installs."""
    shape = FleetShape(
        **READINESS_SHAPE, installs=config.readiness_installs, backup_from_version=15
    )
    key = "readiness" if snapshot else "readiness_no_snapshot"
    with postgres_database() as url, migrated_engine(url) as engine:
        started = time.perf_counter()
        fleet = load_fleet(engine, url, shape)
        extra = {"load_seconds": time.perf_counter() - started}
        hostname = fleet.hostnames[0]
        recomputations = recompute_readiness(engine, hostname, RECOMPUTATIONS)
        extra["recompute_median_seconds"] = statistics.median(recomputations)
        extra["recompute_max_seconds"] = max(recomputations)

        settings = {} if snapshot else {"readiness_cache_seconds": "0"}
        env = pinwatch_env(url, **settings)
        target = f"/v1/domains/{hostname}/readiness"
        with running_server(
            key, PINWATCH_APP, env, config.log_dir, config.workers, "/healthz"
        ) as server:
            extra["first_request_seconds"] = _first_request(server, target, fleet.token)
            source = Get(target, fleet.token)
            load = drive(server, source, config, config.query_connections)
            extra["snapshot_age_seconds"] = _snapshot_age(server, target, fleet.token)
            label = "from snapshots" if snapshot else "no snapshot"
            title = f"readiness, {fleet.installs:,} installs, {label}, PostgreSQL"
            return CaseResult(
                key,
                title,
                load,
                server.peak_rss_mib(),
                config.query_connections,
                extra,
                note=f"{fleet.installs:,} active installs, {fleet.versions} versions",
                installs=fleet.installs,
            )


def scrape(config: RunConfig) -> CaseResult:
    """Measure ``GET /metrics`` with 50 domains, 4 apps and 15 versions each.

    One server keeps the default gauge cache and takes the load. A second one
    caches nothing, so each of its scrapes times a full collection.
    """
    shape = FleetShape(
        **SCRAPE_SHAPE, installs=config.scrape_installs, backup_from_version=10
    )
    with postgres_database() as url, migrated_engine(url) as engine:
        started = time.perf_counter()
        fleet = load_fleet(engine, url, shape)
        extra = {"load_seconds": time.perf_counter() - started}

        uncached = pinwatch_env(url, metrics_cache_seconds="0")
        with running_server(
            "scrape_uncached", PINWATCH_APP, uncached, config.log_dir, config.workers
        ) as server:
            recomputations = recompute_gauges(server, RECOMPUTATIONS)
        extra["recompute_median_seconds"] = statistics.median(recomputations)
        extra["recompute_max_seconds"] = max(recomputations)

        env = pinwatch_env(url)
        with running_server(
            "scrape", PINWATCH_APP, env, config.log_dir, config.workers, "/healthz"
        ) as server:
            extra["first_request_seconds"] = _first_request(server, "/metrics", "")
            load = drive(server, Get("/metrics"), config, config.query_connections)
            title = (
                f"/metrics scrape, {len(fleet.hostnames)} domains, "
                f"{fleet.installs:,} installs, PostgreSQL"
            )
            return CaseResult(
                "scrape",
                title,
                load,
                server.peak_rss_mib(),
                config.query_connections,
                extra,
                note=f"{shape.apps} apps with {shape.versions_per_app} versions each",
                installs=fleet.installs,
            )
