from service.simulate.fleet import (
    AppPlan,
    Fleet,
    FleetSettings,
    Version,
    build_fleet,
    default_apps,
)


def make_fleet(seed: str = "7", **overrides: float) -> Fleet:
    settings = FleetSettings(installs_per_app=200, **overrides)  # type: ignore[arg-type]
    return build_fleet(default_apps("com.example.bank", backup_day=2), settings, seed)


def shares_by_day(fleet: Fleet, days: int) -> list[float]:
    ios = fleet.apps[0]
    shares = []
    for day in range(1, days + 1):
        fleet.start_day(day)
        shares.append(fleet.backup_share(ios))
    return shares


def test_fleet_has_installs_per_app() -> None:
    fleet = make_fleet()

    platforms = [install.app.platform for install in fleet.installs]

    assert platforms.count("ios") == 200
    assert platforms.count("android") == 200


def test_fleet_starts_on_versions_without_backup() -> None:
    fleet = make_fleet()

    versions = {install.version.name for install in fleet.installs}

    assert versions == {"5.3.0", "5.4.1", "4.1.0", "4.2.3"}


def test_rollout_raises_backup_adoption_over_days() -> None:
    fleet = make_fleet()

    shares = shares_by_day(fleet, 8)

    assert shares[0] == 0.0
    assert shares == sorted(shares)
    assert 0.3 < shares[1] < 0.8
    assert shares[-1] > 0.95


def test_rollout_moves_installs_to_newest_version() -> None:
    fleet = make_fleet()

    shares_by_day(fleet, 10)

    ios_versions = [i.version.name for i in fleet.installs if i.app.platform == "ios"]
    assert ios_versions.count("5.5.1") > 150


def test_frozen_installs_never_upgrade() -> None:
    fleet = make_fleet(frozen_share=1.0)

    shares = shares_by_day(fleet, 6)

    assert shares == [0.0] * 6


def test_same_seed_builds_same_fleet() -> None:
    first, second = make_fleet("42"), make_fleet("42")

    shares_by_day(first, 5)
    shares_by_day(second, 5)

    assert [i.install_id for i in first.installs] == [
        i.install_id for i in second.installs
    ]
    assert [i.version for i in first.installs] == [i.version for i in second.installs]
    assert [i.library for i in first.installs] == [i.library for i in second.installs]


def test_other_seed_builds_other_fleet() -> None:
    first, second = make_fleet("1"), make_fleet("2")

    first_ids = {install.install_id for install in first.installs}
    second_ids = {install.install_id for install in second.installs}

    assert first_ids.isdisjoint(second_ids)


def test_install_ids_are_unique() -> None:
    fleet = make_fleet()

    ids = [install.install_id for install in fleet.installs]
    ios_ids = [i.install_id for i in fleet.installs if i.app.platform == "ios"]

    assert len(set(ids)) == len(ids)
    assert all(install_id == install_id.upper() for install_id in ios_ids)


def test_active_installs_are_a_stable_share() -> None:
    fleet = make_fleet(daily_active_rate=0.5)

    first = fleet.active_on(3)
    again = fleet.active_on(3)

    assert [i.install_id for i in first] == [i.install_id for i in again]
    assert 120 < len(first) < 280


def test_trustkit_share_splits_libraries() -> None:
    fleet = make_fleet(trustkit_share=0.25)

    trustkit = sum(1 for install in fleet.installs if install.library == "trustkit")

    assert 60 < trustkit < 140


def test_newest_on_ignores_unreleased_versions() -> None:
    app = AppPlan(
        "ios",
        "com.example.bank",
        (Version("1.0", 0, False), Version("1.1", 3, True), Version("1.2", 5, True)),
    )

    assert app.newest_on(2).name == "1.0"
    assert app.newest_on(3).name == "1.1"
    assert app.newest_on(9).name == "1.2"
