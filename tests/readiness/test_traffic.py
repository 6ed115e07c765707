"""Tests of served-key telemetry loaded for many domains at once."""

from datetime import timedelta

from sqlalchemy.orm import Session

from service.readiness.compute import compute_readiness, compute_readiness_of_domains
from service.readiness.traffic import load_served_traffic
from service.registry.models import Domain
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
    make_version,
)


def arrange_two_domains(db: Session) -> tuple[Domain, Domain]:
    """api serves CURRENT over 7 quiet days; cdn serves OTHER over 2 quiet days."""
    api = make_domain(db, "api.example.com")
    add_pin(api, CURRENT, role="current")
    add_pin(api, BACKUP, role="backup")
    cdn = make_domain(db, "cdn.example.com", removal_quiet_days=2)
    add_pin(cdn, OTHER, role="retired")
    app = make_app(db, api)
    release = make_release(db, app, "4.2.0")
    add_checks(db, api, app, 100)
    add_checks(db, cdn, app, 50)
    add_checks(db, cdn, app, 70, hour=NOW - timedelta(days=3))
    add_served(db, api, CURRENT, 40)
    add_served(db, cdn, OTHER, 5)
    add_served(db, cdn, CURRENT, 9)
    add_failure(db, api, release, [CURRENT, OTHER], occurrences=3)
    db.commit()
    return api, cdn


def test_each_domain_gets_its_own_period_and_pins(db: Session) -> None:
    api, cdn = arrange_two_domains(db)

    traffic = load_served_traffic(db, [(api, [CURRENT]), (cdn, [OTHER])], NOW)

    assert traffic[api.id].checks == 100
    assert traffic[api.id].served == {CURRENT: 40}
    assert traffic[api.id].failures == {CURRENT: 3}
    assert traffic[cdn.id].checks == 50
    assert traffic[cdn.id].served == {OTHER: 5}
    assert traffic[cdn.id].failures == {}
    assert set(traffic[cdn.id].last_served_at) == {OTHER}


def test_batch_equals_one_domain_at_a_time(db: Session) -> None:
    api, cdn = arrange_two_domains(db)
    app = make_app(db, cdn, bundle_id="com.example.shop")
    make_version(db, app, cdn, "1.0", [OTHER], 12)
    db.commit()

    batch = compute_readiness_of_domains(db, [api, cdn], NOW)
    single = [compute_readiness(db, api, NOW), compute_readiness(db, cdn, NOW)]

    assert [report.model_dump() for report in batch] == [
        report.model_dump() for report in single
    ]
    assert batch[1].active_installs == {"android:com.example.shop": 12}


def test_no_domains_loads_nothing(db: Session) -> None:
    assert load_served_traffic(db, [], NOW) == {}
