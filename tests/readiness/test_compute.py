from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.ingest.models import Install
from service.pins.pins import PLACEHOLDER
from service.readiness.compute import compute_preflight, compute_readiness
from service.readiness.schemas import AppAcceptance, RotateReadiness
from service.registry.models import Domain
from tests.readiness.factories import (
    BACKUP,
    CURRENT,
    NOW,
    OTHER,
    TODAY,
    add_installs,
    add_pin,
    add_pinset,
    make_app,
    make_domain,
    make_release,
    make_version,
)


def setup_domain(db: Session, **policy: float) -> Domain:
    domain = make_domain(db, **policy)
    add_pin(domain, CURRENT, role="current", label="2025 key")
    add_pin(domain, BACKUP, role="backup", label="2026 key")
    return domain


def rotate_item(db: Session, domain: Domain) -> RotateReadiness:
    report = compute_readiness(db, domain, NOW)
    assert len(report.rotate) == 1
    return report.rotate[0]


def only_app(item: RotateReadiness) -> AppAcceptance:
    assert len(item.apps) == 1
    return item.apps[0]


def test_adoption_exactly_at_threshold_is_ready(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 95)
    make_version(db, app, domain, "4.1.0", [CURRENT], 5)

    item = rotate_item(db, domain)

    assert item.ready is True
    assert item.adoption == 0.95
    assert only_app(item).ready is True
    assert only_app(item).accepting == 95


def test_one_install_below_threshold_is_not_ready(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 94)
    make_version(db, app, domain, "4.1.0", [CURRENT], 6)

    item = rotate_item(db, domain)

    assert item.ready is False
    assert item.adoption == 0.94
    assert item.reasons == [
        "android:com.example.bank: adoption 94.0 % is below the 95.0 % threshold; "
        "4.1.0 (6 installs) lacks the pin."
    ]


def test_too_few_installs_is_insufficient_data(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 99)

    item = rotate_item(db, domain)

    assert only_app(item).adoption == 1.0
    assert only_app(item).ready is False
    assert item.ready is False
    assert "insufficient data" in item.reasons[0]
    assert "99 active installs" in item.reasons[0]


def test_zero_min_installs_needs_one_install(db: Session) -> None:
    domain = setup_domain(db, min_installs=0)
    make_app(db, domain)

    item = rotate_item(db, domain)

    assert item.ready is False
    assert "insufficient data" in item.reasons[0]


def test_upgraded_install_counts_once(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    old = make_version(db, app, domain, "4.1.0", [CURRENT], 1)
    new = make_release(db, app, "4.2.0")
    add_pinset(db, new, domain, [CURRENT, BACKUP])
    db.execute(update(Install).values(release_id=new.id))

    item = rotate_item(db, domain)

    assert old.id != new.id
    assert only_app(item).active_installs == 1
    assert [version.version for version in only_app(item).versions] == ["4.2.0"]
    assert item.ready is True


def test_expired_pinset_accepts_but_is_unenforced(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 90)
    release = make_release(db, app, "3.0.0")
    add_pinset(db, release, domain, [CURRENT], expires=TODAY - timedelta(days=1))
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.accepting == 100
    assert acceptance.covered_by_pin == 90
    assert acceptance.unenforced == 10
    assert acceptance.ready is True
    assert acceptance.versions[1].status == "unenforced"


def test_unenforced_installs_are_reported_unprotected(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 90)
    release = make_release(db, app, "3.0.0")
    add_pinset(db, release, domain, [CURRENT], expires=TODAY - timedelta(days=1))
    add_installs(db, app, release, 10)

    item = rotate_item(db, domain)

    assert item.reasons[0].startswith("Every app that uses api.example.com")
    assert "10 installs (10.0 %) accept only" in item.reasons[1]
    assert "unprotected" in item.reasons[1]


def test_release_expiry_covers_pinset_without_one(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    release = make_release(db, app, "3.0.0", pinset_expires=TODAY - timedelta(days=1))
    add_pinset(db, release, domain, [CURRENT])
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.unenforced == 10


def test_pinset_expiring_today_is_still_enforced(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    release = make_release(db, app, "3.0.0")
    add_pinset(db, release, domain, [CURRENT], expires=TODAY)
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.unenforced == 0
    assert acceptance.blocking_versions[0].status == "lacks_pin"


def test_enforcement_off_accepts_but_is_unenforced(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    release = make_release(db, app, "3.0.0")
    add_pinset(db, release, domain, [CURRENT], enforced=False)
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.accepting == 10
    assert acceptance.covered_by_pin == 0
    assert acceptance.unenforced == 10


def test_pin_in_unenforced_pinset_counts_as_covered(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    release = make_release(db, app, "3.0.0")
    add_pinset(db, release, domain, [CURRENT, BACKUP], enforced=False)
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.covered_by_pin == 10
    assert acceptance.unenforced == 0


def test_placeholder_backup_pin_matches_no_build(db: Session) -> None:
    domain = make_domain(db, min_installs=1)
    add_pin(domain, PLACEHOLDER, role="backup")
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, PLACEHOLDER], 10)

    item = rotate_item(db, domain)

    assert only_app(item).covered_by_pin == 0
    assert item.ready is False
    assert "placeholder" in item.reasons[0]


def test_duplicate_pins_count_installs_once(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [BACKUP, BACKUP, CURRENT], 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.covered_by_pin == 10
    assert acceptance.accepting == 10


def test_one_unready_app_blocks_domain(db: Session) -> None:
    domain = setup_domain(db)
    android = make_app(db, domain)
    ios = make_app(db, domain, platform="ios")
    make_version(db, android, domain, "4.2.0", [CURRENT, BACKUP], 100)
    make_version(db, ios, domain, "7.0", [CURRENT, BACKUP], 80)
    make_version(db, ios, domain, "6.9", [CURRENT], 20)

    item = rotate_item(db, domain)

    assert [app.app for app in item.apps] == [
        "android:com.example.bank",
        "ios:com.example.bank",
    ]
    assert item.apps[0].ready is True
    assert item.apps[1].ready is False
    assert item.ready is False
    assert item.adoption == 0.8
    assert len(item.reasons) == 1
    assert item.reasons[0].startswith("ios:com.example.bank: adoption 80.0 %")


def test_blocking_versions_sorted_largest_first(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 100)
    make_version(db, app, domain, "4.0.0", [CURRENT], 20)
    make_version(db, app, domain, "4.1.0", [CURRENT], 80)

    acceptance = only_app(rotate_item(db, domain))

    blocking = [(v.version, v.installs, v.share) for v in acceptance.blocking_versions]
    assert blocking == [("4.1.0", 80, 0.4), ("4.0.0", 20, 0.1)]


def test_reasons_name_three_versions_at_most(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    for number in range(5):
        make_version(db, app, domain, f"4.{number}.0", [CURRENT], 10 + number)

    item = rotate_item(db, domain)

    assert "4.4.0 (14 installs) lacks the pin" in item.reasons[0]
    assert "4.1.0" not in item.reasons[0]
    assert item.reasons[0].endswith("and 2 more versions reject it.")


def test_unknown_pinset_blocks_with_reason(db: Session) -> None:
    domain = setup_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 100)
    release = make_release(db, app, "4.3.0")
    add_installs(db, app, release, 10)

    item = rotate_item(db, domain)

    assert only_app(item).blocking_versions[0].status == "unknown_pinset"
    assert item.ready is False
    assert (
        "4.3.0 (10 installs) has no known pinset for api.example.com"
        in (item.reasons[0])
    )
    assert "until its release is declared" in item.reasons[0]


def test_pinset_of_other_domain_is_unknown(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    other = make_domain(db, hostname="cdn.example.com")
    app = make_app(db, domain)
    release = make_release(db, app, "4.2.0")
    add_pinset(db, release, other, [BACKUP])
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.accepting == 0
    assert acceptance.blocking_versions[0].status == "unknown_pinset"


def test_declared_pinset_wins_over_learned(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    dropped = make_release(db, app, "4.1.0")
    add_pinset(db, dropped, domain, [CURRENT, BACKUP], source="learned")
    add_pinset(db, dropped, domain, [CURRENT], source="declared")
    added = make_release(db, app, "4.2.0")
    add_pinset(db, added, domain, [CURRENT], source="learned")
    add_pinset(db, added, domain, [CURRENT, BACKUP], source="declared")
    add_installs(db, app, dropped, 3)
    add_installs(db, app, added, 7)

    acceptance = only_app(rotate_item(db, domain))

    statuses = {v.version: v.status for v in acceptance.versions}
    assert statuses == {"4.1.0": "lacks_pin", "4.2.0": "covered"}


def test_learned_pinset_counts_without_declared(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    release = make_release(db, app, "4.2.0")
    add_pinset(db, release, domain, [CURRENT, BACKUP], source="learned")
    add_installs(db, app, release, 10)

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.covered_by_pin == 10


def test_installs_outside_window_are_ignored(db: Session) -> None:
    domain = setup_domain(db, window_days=7)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 100)
    old = make_release(db, app, "4.1.0")
    add_pinset(db, old, domain, [CURRENT])
    add_installs(db, app, old, 50, last_seen_at=NOW - timedelta(days=7, seconds=1))
    add_installs(db, app, old, 1, last_seen_at=NOW - timedelta(days=7))

    acceptance = only_app(rotate_item(db, domain))

    assert acceptance.active_installs == 101
    assert acceptance.blocking_versions[0].installs == 1


def test_apps_not_using_domain_are_left_out(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 10)
    stranger = make_app(db, bundle_id="com.example.other")
    add_installs(db, stranger, make_release(db, stranger, "1.0"), 10)

    report = compute_readiness(db, domain, NOW)

    assert report.active_installs == {"android:com.example.bank": 10}
    assert [app.app for app in report.rotate[0].apps] == ["android:com.example.bank"]


def test_domain_without_apps_is_not_ready(db: Session) -> None:
    domain = setup_domain(db)

    item = rotate_item(db, domain)

    assert item.ready is False
    assert item.apps == []
    assert item.adoption == 0.0
    assert item.reasons[0].startswith("No app uses api.example.com yet")


def test_no_backup_pin_warns(db: Session) -> None:
    domain = make_domain(db)
    add_pin(domain, CURRENT, role="current")

    report = compute_readiness(db, domain, NOW)

    assert report.rotate == []
    assert len(report.warnings) == 1
    assert "no backup pin" in report.warnings[0]


def test_report_carries_policy_and_time(db: Session) -> None:
    domain = setup_domain(db, adoption_threshold=0.9, window_days=14)

    report = compute_readiness(db, domain, NOW)

    assert report.domain == "api.example.com"
    assert report.computed_at == NOW
    assert report.policy.adoption_threshold == 0.9
    assert report.policy.window_days == 14
    assert report.policy.min_installs == 100


def test_preflight_share_covers_every_app(db: Session) -> None:
    domain = setup_domain(db, min_installs=1)
    android = make_app(db, domain)
    ios = make_app(db, domain, platform="ios")
    make_version(db, android, domain, "4.2.0", [CURRENT, OTHER], 30)
    make_version(db, android, domain, "4.1.0", [CURRENT], 10)
    make_version(db, ios, domain, "7.0", [OTHER], 60)

    report = compute_preflight(db, domain, [OTHER], NOW)

    assert report.accepting_share == 0.9
    assert [app.accepting for app in report.apps] == [30, 60]
    assert report.pins == [OTHER]
    assert "4.1.0 (10 installs) lacks every candidate pin" in report.reasons[0]


def test_single_install_reason_is_singular(db: Session) -> None:
    domain = setup_domain(db, adoption_threshold=1.0)
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 99)
    make_version(db, app, domain, "4.1.0", [CURRENT], 1)

    item = rotate_item(db, domain)

    assert "4.1.0 (1 install) lacks the pin." in item.reasons[0]
