from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from service.readiness.compute import compute_readiness
from service.readiness.schemas import RemovalReadiness
from service.registry.models import App, Domain, Release
from tests.readiness.factories import (
    BACKUP,
    CURRENT,
    NOW,
    OTHER,
    add_checks,
    add_failure,
    add_pin,
    add_served,
    make_app,
    make_domain,
    make_release,
)


@pytest.fixture
def domain(db: Session) -> Domain:
    domain = make_domain(db)
    add_pin(domain, OTHER, role="retired", label="2024 key")
    add_pin(domain, CURRENT, role="current", label="2025 key")
    add_pin(domain, BACKUP, role="backup", label="2026 key")
    return domain


@pytest.fixture
def app(db: Session, domain: Domain) -> App:
    return make_app(db, domain)


@pytest.fixture
def release(db: Session, app: App) -> Release:
    return make_release(db, app, "4.2.0")


def removal_of(db: Session, domain: Domain, pin: str) -> RemovalReadiness:
    report = compute_readiness(db, domain, NOW)
    matches = [item for item in report.remove if item.spki_sha256 == pin]
    assert len(matches) == 1
    return matches[0]


def test_removal_lists_every_pin_but_backups(db: Session, domain: Domain) -> None:
    report = compute_readiness(db, domain, NOW)

    assert [(item.spki_sha256, item.role) for item in report.remove] == [
        (OTHER, "retired"),
        (CURRENT, "current"),
    ]
    assert report.remove[0].label == "2024 key"


def test_unserved_pin_is_removable(db: Session, domain: Domain, app: App) -> None:
    add_checks(db, domain, app, 1000)
    add_served(db, domain, CURRENT, 1000)

    item = removal_of(db, domain, OTHER)

    assert item.removable is True
    assert item.served_share == 0.0
    assert item.checks == 1000
    assert "can leave the next release" in item.reasons[0]


def test_served_share_at_maximum_is_removable(
    db: Session, domain: Domain, app: App
) -> None:
    add_checks(db, domain, app, 1000)
    add_served(db, domain, OTHER, 1)

    item = removal_of(db, domain, OTHER)

    assert item.served_share == 0.001
    assert item.removable is True


def test_served_share_above_maximum_is_not_removable(
    db: Session, domain: Domain, app: App
) -> None:
    add_checks(db, domain, app, 1000)
    add_served(db, domain, OTHER, 2)

    item = removal_of(db, domain, OTHER)

    assert item.served_share == 0.002
    assert item.removable is False
    assert item.reasons == [
        "The key was served in 0.2 % of checks in the last 7 days, above the "
        "maximum of 0.1 %."
    ]


def test_checks_of_every_app_add_up(db: Session, domain: Domain, app: App) -> None:
    ios = make_app(db, domain, platform="ios")
    add_checks(db, domain, app, 600)
    add_checks(db, domain, ios, 400)

    item = removal_of(db, domain, OTHER)

    assert item.checks == 1000
    assert item.removable is True


def test_too_few_checks_is_insufficient_data(
    db: Session, domain: Domain, app: App
) -> None:
    add_checks(db, domain, app, 999)

    item = removal_of(db, domain, OTHER)

    assert item.removable is False
    assert item.reasons[0].startswith("Not removable: insufficient data, 999 checks")


def test_no_checks_gives_zero_share(db: Session, domain: Domain) -> None:
    item = removal_of(db, domain, OTHER)

    assert item.checks == 0
    assert item.served_share == 0.0
    assert item.removable is False


def test_checks_before_quiet_period_are_ignored(
    db: Session, domain: Domain, app: App
) -> None:
    before = NOW - timedelta(days=7, hours=1)
    add_checks(db, domain, app, 1000)
    add_checks(db, domain, app, 5000, hour=before)
    add_served(db, domain, OTHER, 5000, hour=before)

    item = removal_of(db, domain, OTHER)

    assert item.checks == 1000
    assert item.served_share == 0.0
    assert item.removable is True


def test_failure_showing_key_blocks_removal(
    db: Session, domain: Domain, app: App, release: Release
) -> None:
    add_checks(db, domain, app, 1000)
    add_failure(db, domain, release, [OTHER, CURRENT], occurrences=3)

    item = removal_of(db, domain, OTHER)

    assert item.removable is False
    assert item.reasons == [
        "3 pin failures in the last 7 days show the key in the served chain."
    ]


def test_interception_failure_does_not_block_removal(
    db: Session, domain: Domain, app: App, release: Release
) -> None:
    add_checks(db, domain, app, 1000)
    for classification in ("interception", "captive_portal", "clock_skew"):
        add_failure(db, domain, release, [OTHER], classification=classification)

    item = removal_of(db, domain, OTHER)

    assert item.removable is True


def test_failure_before_quiet_period_does_not_block(
    db: Session, domain: Domain, app: App, release: Release
) -> None:
    add_checks(db, domain, app, 1000)
    add_failure(db, domain, release, [OTHER], hour=NOW - timedelta(days=8))

    item = removal_of(db, domain, OTHER)

    assert item.removable is True


def test_failure_of_other_domain_does_not_block(
    db: Session, domain: Domain, app: App, release: Release
) -> None:
    other = make_domain(db, hostname="cdn.example.com")
    add_checks(db, domain, app, 1000)
    add_failure(db, other, release, [OTHER])

    item = removal_of(db, domain, OTHER)

    assert item.removable is True


def test_matched_pin_checks_count_toward_that_pin(
    db: Session, domain: Domain, app: App
) -> None:
    # A client that reports only its matched pin adds its checks to that pin.
    add_checks(db, domain, app, 2000)
    add_served(db, domain, CURRENT, 2000)

    current = removal_of(db, domain, CURRENT)
    retired = removal_of(db, domain, OTHER)

    assert current.served_share == 1.0
    assert current.removable is False
    assert retired.served_share == 0.0
    assert retired.removable is True


def test_last_served_at_spans_all_time(db: Session, domain: Domain, app: App) -> None:
    long_ago = NOW - timedelta(days=40)
    add_served(db, domain, OTHER, 5, hour=long_ago - timedelta(hours=1))
    add_served(db, domain, OTHER, 5, hour=long_ago, last_served_at=long_ago)

    item = removal_of(db, domain, OTHER)

    assert item.last_served_at == long_ago


def test_never_served_key_has_no_last_served_at(db: Session, domain: Domain) -> None:
    item = removal_of(db, domain, OTHER)

    assert item.last_served_at is None
