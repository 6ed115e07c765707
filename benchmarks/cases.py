"""The measured cases: each starts its own server, drives load, then stops it."""

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks.database import (
    IngestRegistry,
    ingest_registry,
    migrated_engine,
    postgres_database,
    seed_ingest,
)
from benchmarks.load import LoadPlan, LoadResult, RequestSource, run_load
from benchmarks.payloads import BareEvents, NativeEvents, Reports
from benchmarks.reports import report_bodies
from benchmarks.servers import Server, running_server

PINWATCH_APP = "service.main:app"
BARE_APP = "benchmarks.bare_app:app"


@dataclass(frozen=True)
class RunConfig:
    """Options shared by every case of one run."""

    duration_seconds: float
    warmup_seconds: float
    connections: int
    # The ingest writer batches concurrent requests, so single-event ingest is
    # also measured at this lower concurrency, beside the bare endpoint.
    low_connections: int
    # Readiness and /metrics are read by a few tools at a time, not by a fleet.
    query_connections: int
    processes: int
    workers: int
    log_dir: Path
    readiness_installs: int
    scrape_installs: int


@dataclass
class CaseResult:
    """The figures of one case. ``extra`` contains case-specific ones, in seconds."""

    key: str
    title: str
    load: LoadResult | None
    peak_rss_mib: float
    connections: int
    extra: dict[str, float] = field(default_factory=dict)
    note: str = ""
    # Active installs loaded for the readiness and scrape cases.
    installs: int = 0


def pinwatch_env(database_url: str, **settings: str) -> dict[str, str]:
    """Return the environment of a production server on ``database_url``."""
    env = {
        "PINWATCH_ENV": "production",
        "PINWATCH_SECRET": secrets.token_urlsafe(32),
        "PINWATCH_DATABASE_URL": database_url,
        # One key sends all the load, far above the per-key limit that
        # protects the database from a single flooding app.
        "PINWATCH_INGEST_RATE_PER_SECOND": "0",
    }
    env.update({f"PINWATCH_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def database(kind: str, config: RunConfig, name: str) -> Iterator[str]:
    """Yield the URL of an empty database of ``kind`` (sqlite or postgresql)."""
    if kind == "sqlite":
        path = config.log_dir / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    with postgres_database() as url:
        yield url


def drive(
    server: Server, source: RequestSource, config: RunConfig, connections: int
) -> LoadResult:
    plan = LoadPlan(
        port=server.port,
        source=source,
        connections=connections,
        processes=config.processes,
        warmup_seconds=config.warmup_seconds,
        duration_seconds=config.duration_seconds,
    )
    cpu_before = server.cpu_seconds()
    result = run_load(plan)
    server.check_running()
    return replace(result, server_cpu_seconds=server.cpu_seconds() - cpu_before)


def native_source(registry: IngestRegistry, events: int) -> NativeEvents:
    return NativeEvents(
        key=registry.keys["android"],
        run_tag=secrets.token_hex(4),
        hostnames=registry.hostnames,
        versions=registry.versions,
        known_pins=registry.known_pins,
        served_pins=registry.served_pins,
        events_per_request=events,
    )


def ceiling(config: RunConfig, low: bool = False) -> CaseResult:
    """Measure the bare FastAPI endpoint with the single-event bodies."""
    registry = ingest_registry({"android": "pwk_unused"})
    source = BareEvents(native_source(registry, 1))
    connections = config.low_connections if low else config.connections
    key = "bare_low" if low else "bare"
    with running_server(key, BARE_APP, {}, config.log_dir, config.workers) as server:
        load = drive(server, source, config, connections)
        title = f"bare endpoint, {connections} connections"
        return CaseResult(key, title, load, server.peak_rss_mib(), connections)


def native_ingest(
    config: RunConfig, kind: str, events: int, low: bool = False
) -> CaseResult:
    """Measure ``POST /v1/events`` with ``events`` pin_check events per request."""
    key = f"native_{events}_{kind}" + ("_low" if low else "")
    connections = config.low_connections if low else config.connections
    with database(kind, config, key) as url, migrated_engine(url) as engine:
        registry = seed_ingest(engine)
        env = pinwatch_env(url)
        with running_server(
            key, PINWATCH_APP, env, config.log_dir, config.workers, "/healthz"
        ) as server:
            load = drive(server, native_source(registry, events), config, connections)
            label = "batch" if events > 1 else "single-event"
            title = (
                f"{label} ingest, {events} per request, {_database_name(kind)}, "
                f"{connections} connections"
            )
            return CaseResult(key, title, load, server.peak_rss_mib(), connections)


def trustkit_reports(config: RunConfig, kind: str) -> CaseResult:
    """Measure ``POST /v1/reports`` with TrustKit iOS and Android reports."""
    key = f"reports_{kind}"
    with database(kind, config, key) as url, migrated_engine(url) as engine:
        registry = seed_ingest(engine)
        source = Reports(report_bodies(registry))
        env = pinwatch_env(url)
        with running_server(
            key, PINWATCH_APP, env, config.log_dir, config.workers, "/healthz"
        ) as server:
            load = drive(server, source, config, config.connections)
            title = f"TrustKit reports, {_database_name(kind)}"
            return CaseResult(
                key, title, load, server.peak_rss_mib(), config.connections
            )


def _database_name(kind: str) -> str:
    return "PostgreSQL" if kind == "postgresql" else "SQLite"


def elapsed(started: float) -> float:
    return time.perf_counter() - started
