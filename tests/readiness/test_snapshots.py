"""Tests of the per-process readiness snapshots and their use by the endpoint."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.app import create_app
from service.ingest.registry_changes import registry_generation
from service.readiness.schemas import ReadinessPolicy, ReadinessReport
from service.readiness.snapshots import ReadinessSnapshots, snapshot_seconds
from service.registry.models import App, Release
from tests.conftest import make_settings
from tests.readiness.factories import (
    BACKUP,
    CURRENT,
    add_installs,
    add_pin,
    make_app,
    make_domain,
    make_version,
)

READINESS = "/v1/domains/api.example.com/readiness"
POLICY = ReadinessPolicy(
    adoption_threshold=0.95,
    window_days=7,
    min_installs=100,
    removal_max_share=0.001,
    removal_quiet_days=7,
    removal_min_checks=1000,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Computations:
    """A stand-in computation that counts its calls and numbers its reports."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> ReadinessReport:
        self.calls += 1
        return ReadinessReport(
            domain=f"report-{self.calls}.example.com",
            computed_at=datetime(2026, 5, 1, tzinfo=UTC),
            policy=POLICY,
            active_installs={},
            rotate=[],
            remove=[],
            warnings=[],
        )


def test_report_is_reused_while_fresh() -> None:
    clock = FakeClock()
    snapshots = ReadinessSnapshots(30.0, clock)
    compute = Computations()

    first = snapshots.report(1, compute)
    clock.now += 29.0
    second = snapshots.report(1, compute)

    assert compute.calls == 1
    assert second is first


def test_report_is_recomputed_once_stale() -> None:
    clock = FakeClock()
    snapshots = ReadinessSnapshots(30.0, clock)
    compute = Computations()

    snapshots.report(1, compute)
    clock.now += 30.0
    report = snapshots.report(1, compute)

    assert compute.calls == 2
    assert report.domain == "report-2.example.com"


def test_domains_have_separate_reports() -> None:
    snapshots = ReadinessSnapshots(30.0, FakeClock())
    compute = Computations()

    snapshots.report(1, compute)
    snapshots.report(2, compute)

    assert compute.calls == 2


def test_registry_change_drops_reports(db: Session) -> None:
    snapshots = ReadinessSnapshots(30.0, FakeClock())
    compute = Computations()
    snapshots.report(1, compute)
    before = registry_generation()

    make_domain(db, "other.example.com")
    db.commit()
    snapshots.report(1, compute)

    assert registry_generation() == before + 1
    assert compute.calls == 2


def test_stale_report_is_served_while_recomputed() -> None:
    clock = FakeClock()
    snapshots = ReadinessSnapshots(30.0, clock)
    snapshots.report(1, Computations())
    clock.now += 31.0
    started, release = threading.Event(), threading.Event()

    def slow() -> ReadinessReport:
        started.set()
        release.wait(5)
        return Computations()()

    refresher = threading.Thread(target=snapshots.report, args=(1, slow))
    refresher.start()
    started.wait(5)
    meanwhile = snapshots.report(1, Computations())
    release.set()
    refresher.join(5)

    assert meanwhile.domain == "report-1.example.com"


def test_failed_computation_is_not_kept() -> None:
    snapshots = ReadinessSnapshots(30.0, FakeClock())

    def failing() -> ReadinessReport:
        raise RuntimeError("database unavailable")

    with pytest.raises(RuntimeError):
        snapshots.report(1, failing)
    report = snapshots.report(1, Computations())

    assert report.domain == "report-1.example.com"


def test_snapshot_seconds_default_by_environment() -> None:
    production = make_settings("sqlite://", env="production")
    test = make_settings("sqlite://")
    chosen = make_settings("sqlite://", readiness_cache_seconds=5)

    assert snapshot_seconds(production) == 30.0
    assert snapshot_seconds(test) == 0.0
    assert snapshot_seconds(chosen) == 5.0


@pytest.fixture
def snapshot_client(migrated_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = make_settings(migrated_url, readiness_cache_seconds=30)
    with TestClient(create_app(settings, engine)) as client:
        yield client


def arrange(db: Session) -> tuple[App, Release]:
    """Register api.example.com and an app with 10 active installs."""
    domain = make_domain(db)
    add_pin(domain, CURRENT, role="current")
    add_pin(domain, BACKUP, role="backup")
    app = make_app(db, domain)
    release = make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 10)
    db.commit()
    return app, release


def test_endpoint_keeps_snapshot_despite_new_installs(
    snapshot_client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    app, release = arrange(db)
    first = snapshot_client.get(READINESS, headers=reader).json()
    add_installs(db, app, release, 5)
    db.commit()

    second = snapshot_client.get(READINESS, headers=reader).json()

    assert second["computed_at"] == first["computed_at"]
    assert second["active_installs"] == {"android:com.example.bank": 10}


def test_endpoint_recomputes_after_registry_change(
    snapshot_client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    app, release = arrange(db)
    snapshot_client.get(READINESS, headers=reader)
    add_installs(db, app, release, 5)
    make_domain(db, "cdn.example.com")
    db.commit()

    second = snapshot_client.get(READINESS, headers=reader).json()

    assert second["active_installs"] == {"android:com.example.bank": 15}
