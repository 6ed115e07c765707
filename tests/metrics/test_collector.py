from datetime import date

from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from service.metrics.collector import DatabaseCollector
from service.metrics.labels import VersionLabels
from tests.readiness.factories import (
    BACKUP,
    CURRENT,
    add_checks,
    add_pin,
    add_pinset,
    add_served,
    make_app,
    make_domain,
    make_release,
    make_version,
)


def collect(db: Session, max_versions: int = 15) -> CollectorRegistry:
    db.commit()
    sessions = sessionmaker(db.get_bind())
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(sessions, VersionLabels(max_versions), 0))
    return registry


def arrange_rotation(db: Session) -> None:
    domain = make_domain(db, min_installs=10, removal_min_checks=100)
    domain.owner_team = "mobile-platform"
    add_pin(domain, CURRENT, role="current", label="leaf 2026")
    add_pin(domain, BACKUP, role="backup", label="spare key")
    app = make_app(db, domain)
    make_version(db, app, domain, "1.0.0", [CURRENT], installs=4)
    make_version(db, app, domain, "2.0.0", [CURRENT, BACKUP], installs=16)
    add_checks(db, domain, app, 1000)
    add_served(db, domain, CURRENT, 1000)


def test_collector_exports_readiness_gauges(db: Session) -> None:
    arrange_rotation(db)

    registry = collect(db)

    host = {"domain": "api.example.com"}
    app = {"app": "android:com.example.bank"}
    assert registry.get_sample_value("pinwatch_active_installs", host | app) == 20
    adoption = registry.get_sample_value(
        "pinwatch_pin_adoption_ratio",
        host | app | {"spki_sha256": BACKUP, "role": "backup"},
    )
    assert adoption == 0.8
    ready = host | {"spki_sha256": BACKUP}
    assert registry.get_sample_value("pinwatch_rotation_ready", ready) == 0
    served = host | {"spki_sha256": CURRENT}
    assert registry.get_sample_value("pinwatch_pin_served_ratio", served) == 1.0
    assert registry.get_sample_value("pinwatch_pin_removable", served) == 0
    assert registry.get_sample_value("pinwatch_adoption_threshold_ratio", host) == 0.95


def test_collector_exports_registry_gauges(db: Session) -> None:
    arrange_rotation(db)

    registry = collect(db)

    host = {"domain": "api.example.com"}
    assert registry.get_sample_value("pinwatch_backup_pins", host) == 1
    info = host | {"spki_sha256": BACKUP, "role": "backup", "label": "spare key"}
    assert registry.get_sample_value("pinwatch_pin_info", info) == 1
    team = host | {"team": "mobile-platform"}
    assert registry.get_sample_value("pinwatch_domain_info", team) == 1
    last_success = "pinwatch_collect_last_success_timestamp_seconds"
    assert (registry.get_sample_value(last_success) or 0) > 0


def test_pinset_expiry_folds_rare_versions(db: Session) -> None:
    domain = make_domain(db)
    app = make_app(db, domain)
    for index, version in enumerate(["1.0.0", "2.0.0", "3.0.0"]):
        release = make_release(db, app, version)
        expires = date(2027, 1 + index, 1)
        add_pinset(db, release, domain, [CURRENT], expires=expires)

    registry = collect(db, max_versions=1)

    name = "pinwatch_pinset_expiry_timestamp_seconds"
    labels = {"domain": "api.example.com", "app": "android:com.example.bank"}
    kept = registry.get_sample_value(name, labels | {"app_version": "1.0.0"})
    folded = registry.get_sample_value(name, labels | {"app_version": "other"})
    assert kept == 1798761600.0
    assert folded == 1801440000.0
